#!/usr/bin/python3
"""Plots of a `hyper bench` folder (README, "Latency"), with Debian's python3-matplotlib:
for each variant, VARIANT/timeline.png (per-TR time stacked by stage, with the TR and the
budget as lines) and VARIANT/histogram.png (end-to-end latency), and latency.png with every
variant's end-to-end distribution side by side. `hyper bench` runs it; by hand:

  tools/plot_bench.py BENCH_OUT_DIR
"""
import csv
import json
import math
import os
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_tsv(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return rows


def num(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def main(out):
    bench = json.load(open(os.path.join(out, "bench.json")))
    folders = sorted(d for d in os.listdir(out) if os.path.isfile(os.path.join(out, d, "timings.tsv")))
    ends = []
    for folder, variant in zip(folders, bench["variants"]):
        rows = [r for r in read_tsv(os.path.join(out, folder, "timings.tsv")) if r["warmup"] == "0"]
        if not rows:
            continue
        idx = [int(r["index"]) for r in rows]
        stages = ["transport_ms"] + [k for k in rows[0] if k.endswith("_ms") and k not in (
            "transport_ms", "generate_ms", "present_ms", "sent_to_ready_ms", "sent_to_image_ms", "sent_to_present_ms")]
        # What the stages do not account for: waiting in the receiver's queue (before the
        # chain) and for the generator thread (newest latent wins).
        for r in rows:
            parts = sum(num(r[s]) for s in stages if not math.isnan(num(r[s])))
            r["queue_ms"] = max(0.0, num(r["sent_to_ready_ms"]) - parts)
            r["generator_wait_ms"] = max(0.0, num(r["sent_to_image_ms"]) - num(r["sent_to_ready_ms"]) - num(r["generate_ms"]))
        stages += ["queue_ms", "generator_wait_ms", "generate_ms", "present_ms"]
        fig, ax = plt.subplots(figsize=(10, 4.5))
        bottom = [0.0] * len(rows)
        for s in stages:
            vals = [num(r.get(s)) for r in rows]
            if all(math.isnan(v) for v in vals):
                continue
            vals = [0.0 if math.isnan(v) else v for v in vals]
            ax.bar(idx, vals, bottom=bottom, width=1.0, label=s[:-3])
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.axhline(variant["tr_s"] * 1000, color="k", ls="--", lw=1, label="TR")
        if variant["budget_ms"] > 0:
            ax.axhline(variant["budget_ms"], color="r", ls=":", lw=1, label="budget")
        top = max(bottom) * 1.15 if max(bottom) > 0 else 1
        ax.set_ylim(0, min(top, max(top, variant["budget_ms"] * 1.1)))
        ax.set_xlabel("volume")
        ax.set_ylabel("ms")
        ax.set_title(variant["variant"] + ": time per volume by stage\n" + "\n".join(textwrap.wrap(variant["setup"], 110)), fontsize=8)
        ax.legend(fontsize=7, ncol=4, loc="upper right")
        fig.tight_layout()
        fig.savefig(os.path.join(out, folder, "timeline.png"), dpi=110)
        plt.close(fig)

        measure = variant["deadline_measure"].replace("sent -> ", "sent_to_").replace("on screen", "present").replace(" ", "_")
        e2e = [num(r.get(measure + "_ms")) for r in rows]
        e2e = [v for v in e2e if not math.isnan(v)]
        ends.append((variant["variant"], e2e))
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist(e2e, bins=40)
        ax.set_xlabel(f"{variant['deadline_measure']} (ms)")
        ax.set_ylabel("volumes")
        ax.set_title(variant["variant"], fontsize=9)
        fig.tight_layout()
        fig.savefig(os.path.join(out, folder, "histogram.png"), dpi=110)
        plt.close(fig)
    if ends:
        fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(ends)), 4))
        ax.boxplot([e for _, e in ends], whis=(1, 99), showfliers=True)
        ax.set_xticks(range(1, len(ends) + 1), [n[:28] for n, _ in ends], rotation=20, fontsize=7, ha="right")
        ax.set_ylabel("end-to-end ms (whiskers: p1, p99)")
        ax.set_yscale("log")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "latency.png"), dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

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


# Stages in a fixed order, each with one colour in every plot of every variant.
STAGE_ORDER = ["transport", "realign", "smooth", "mask", "detrend", "zscore", "decode", "queue", "generator_wait", "generate",
               "present"]


def stage_colours(names):
    cmap = plt.get_cmap("tab20")
    ordered = [n for n in STAGE_ORDER if n in names] + sorted(n for n in names if n not in STAGE_ORDER)
    return {n: matplotlib.colors.to_hex(cmap(i % 20)) for i, n in enumerate(ordered)}


def stages_of(rows):
    """Transport and the chain's stages (columns of timings.tsv), then what follows the chain."""
    extra = ("transport_ms", "generate_ms", "present_ms", "sent_to_ready_ms", "sent_to_image_ms", "sent_to_present_ms",
             "queue_ms", "generator_wait_ms")
    stages = ["transport_ms"] + [k for k in rows[0] if k.endswith("_ms") and k not in extra]
    return stages + ["queue_ms", "generator_wait_ms", "generate_ms", "present_ms"]


def main(out):
    bench = json.load(open(os.path.join(out, "bench.json")))
    folders = sorted(d for d in os.listdir(out) if os.path.isfile(os.path.join(out, d, "timings.tsv")))
    variants = []
    for folder, variant in zip(folders, bench["variants"]):
        rows = [r for r in read_tsv(os.path.join(out, folder, "timings.tsv")) if r["warmup"] == "0"]
        if not rows:
            continue
        # What the stages do not account for: waiting in the receiver's queue (before the
        # chain) and for the generator thread (newest latent wins).
        chain = stages_of(rows)[:-4]
        for r in rows:
            parts = sum(num(r[s]) for s in chain if not math.isnan(num(r[s])))
            r["queue_ms"] = max(0.0, num(r["sent_to_ready_ms"]) - parts)
            r["generator_wait_ms"] = max(0.0, num(r["sent_to_image_ms"]) - num(r["sent_to_ready_ms"]) - num(r["generate_ms"]))
        variants.append((folder, variant, rows))
    colours = stage_colours({s[:-3] for _, _, rows in variants for s in stages_of(rows)})

    ends = []
    for folder, variant, rows in variants:
        idx = [int(r["index"]) for r in rows]
        measure = variant["deadline_measure"]  # e.g. "sent -> on screen": the end-to-end figure the misses count
        tr_ms = variant["tr_s"] * 1000
        lines = {"TR": tr_ms}
        if variant["budget_ms"] > 0:
            lines["budget"] = variant["budget_ms"]
        height = max(sum(0.0 if math.isnan(num(r.get(s))) else num(r.get(s)) for s in stages_of(rows)) for r in rows)
        # Both lines in view, whatever the bars' height: they are what the bars are judged by.
        # Bars far below them get a second panel of their own, zoomed in.
        zoom = 0 < height < 0.25 * max(lines.values())
        fig, axes = plt.subplots(2 if zoom else 1, 1, figsize=(11, 6.5 if zoom else 4.5), sharex=True, squeeze=False,
                                 gridspec_kw={"height_ratios": [1, 2] if zoom else [1]})
        drawn = {}
        for k, ax in enumerate(axes[:, 0]):
            bottom = [0.0] * len(rows)
            for s in stages_of(rows):
                vals = [num(r.get(s)) for r in rows]
                if all(math.isnan(v) for v in vals):
                    continue
                vals = [0.0 if math.isnan(v) else v for v in vals]
                ax.bar(idx, vals, bottom=bottom, width=1.0, label=s[:-3], color=colours[s[:-3]])
                drawn[s[:-3]] = colours[s[:-3]]
                bottom = [b + v for b, v in zip(bottom, vals)]
            ax.set_ylabel("ms after sent")
            if k == 0:
                ax.axhline(tr_ms, color="k", ls="--", lw=1, label=f"TR {tr_ms:.0f} ms")
                if "budget" in lines:
                    ax.axhline(lines["budget"], color="r", ls=":", lw=1, label=f"budget {lines['budget']:.0f} ms")
                ax.set_ylim(0, max([height] + list(lines.values())) * 1.1)
                ylim = list(ax.get_ylim())
            else:
                ax.set_ylim(0, height * 1.15)
                ax.set_title("zoomed to the bars (the TR and budget lines are above this view)", fontsize=8)
        ax = axes[0, 0]
        axes[-1, 0].set_xlabel("volume")
        title = (f"{variant['variant']}: time per volume by stage, stacked ({measure}), n = {len(rows)} volumes\n"
                 + "\n".join(textwrap.wrap(variant["setup"], 110)))
        ax.set_title(title, fontsize=8)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        fig.tight_layout()
        fig.savefig(os.path.join(out, folder, "timeline.png"), dpi=110)
        plt.close(fig)
        # What was drawn, for checks without reading pixels (tests/integration/test_bench.cpp).
        with open(os.path.join(out, folder, "timeline.json"), "w") as f:
            json.dump({"ylim": ylim, "lines": lines, "colours": drawn, "title": title, "zoomed": zoom}, f, indent=1)

        column = measure.replace("sent -> ", "sent_to_").replace("on screen", "present").replace(" ", "_") + "_ms"
        e2e = [v for v in (num(r.get(column)) for r in rows) if not math.isnan(v)]
        ends.append((variant["variant"], e2e))
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist(e2e, bins=40, color="#555555")
        ax.axvline(tr_ms, color="k", ls="--", lw=1, label=f"TR {tr_ms:.0f} ms")
        if variant["budget_ms"] > 0:
            ax.axvline(variant["budget_ms"], color="r", ls=":", lw=1, label=f"budget {variant['budget_ms']:.0f} ms")
        ax.set_xlim(0, max(e2e + list(lines.values())) * 1.1)
        ax.set_xlabel(f"{measure} (ms)")
        ax.set_ylabel("volumes")
        ax.set_title(f"{variant['variant']}: end to end, {measure}, n = {len(e2e)}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(out, folder, "histogram.png"), dpi=110)
        plt.close(fig)
    if ends:
        fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(ends)), 4))
        ax.boxplot([e for _, e in ends], whis=(1, 99), showfliers=True)
        ax.set_xticks(range(1, len(ends) + 1), [f"{n[:28]}\nn = {len(e)}" for n, e in ends], rotation=20, fontsize=7, ha="right")
        ax.set_ylabel("end-to-end ms (whiskers: p1, p99)")
        ax.set_title("end to end per variant: " + ", ".join(sorted({v["deadline_measure"] for _, v, _ in variants})), fontsize=9)
        ax.set_yscale("log")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "latency.png"), dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

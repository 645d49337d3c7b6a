#!/usr/bin/python3
"""The adaptive search against random faces, with the twin as a live subject holding a
hidden target (README, "Closed-loop experiments"). For each seed, two closed-loop runs on
one machine: `hyper stream --feedback adaptive` (feedback.exploit 0.5, then 0: random
faces, the same update) and `hyper simulate --live` answering the faces the stream's
results say are on screen. Prints a table, writes OUT/convergence.tsv and
OUT/convergence.png (Debian's python3-matplotlib):

  tools/closed_loop.py [--seeds 10] [--trials 60] [--out build/closed-loop] [--hyper build/hyper]

The likeness of a face to the target is sqrt(512) * cos(face, target): a random face's is
about standard normal. The measure is the likeness of the face found (the estimate shown
after the last trial); adaptive against random is a paired sign-flip permutation test.
"""
import argparse
import csv
import itertools
import os
import shutil
import subprocess
import sys
import time

# The twin: a small grid, six runs of 100 faces to train the decoder on (about 10 s).
TWIN = ["--preset", "small", "--set", "twin.runs=6", "--set", "twin.test_runs=1", "--set", "twin.trials_per_run=100"]


def run(cmd, log):
    with open(log, "w") as f:
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode


def closed_loop(hyper, out, seed, exploit, trials, port):
    """One closed-loop run; returns the likeness of each face shown, in order (the last: the face found)."""
    d = os.path.join(out, f"seed-{seed:02d}-exploit-{exploit}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    endpoint, results = f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port + 1}"
    volumes = trials * 3 + 20  # three TRs a trial, then the face found while the last responses come in
    with open(os.path.join(d, "stream.log"), "w") as log:
        stream = subprocess.Popen(
            [hyper, "stream", "--endpoint", endpoint, "--results", results, "--set", "stream.results_latent=true",
             "--decoder", os.path.join(out, "decoder.safetensors"), "--feedback", "adaptive", "--set", f"feedback.exploit={exploit}",
             "--set", f"feedback.seed={seed}", "--set", f"feedback.trials={trials}", "--runs", "1", "--set", "display.enabled=false", "--out", os.path.join(d, "stream"),
             "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT)
        time.sleep(0.5)
        rc = run([hyper, "simulate", "--live", "--out", os.path.join(d, "live"), *TWIN, "--endpoint", endpoint, "--results", results,
                  "--volumes", str(volumes), "--speed", "max", "--set", f"live.target_seed={seed}", "--log-level", "warn"],
                 os.path.join(d, "live.log"))
        if stream.wait(60) != 0 or rc != 0:
            sys.exit(f"closed loop seed {seed}, exploit {exploit} failed: see {d}/stream.log and {d}/live.log")
    with open(os.path.join(d, "live", "shown.tsv")) as f:
        return [float(r["likeness"]) for r in csv.DictReader(f, delimiter="\t")]


def sign_flip_p(diffs):
    """One-sided p of mean(diffs) > 0 under random sign flips (exact up to 16 pairs)."""
    observed = sum(diffs)
    flips = list(itertools.product([1, -1], repeat=len(diffs)))
    return sum(1 for s in flips if sum(a * b for a, b in zip(s, diffs)) >= observed - 1e-12) / len(flips)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--out", default="build/closed-loop")
    ap.add_argument("--hyper", default="build/hyper")
    ap.add_argument("--port", type=int, default=7300)
    a = ap.parse_args()
    hyper = os.path.abspath(a.hyper)
    os.makedirs(a.out, exist_ok=True)
    if not os.path.exists(os.path.join(a.out, "decoder.safetensors")):
        print("the twin and its decoder (once)", flush=True)
        if run([hyper, "simulate", "--out", os.path.join(a.out, "twin"), "--force", *TWIN], os.path.join(a.out, "simulate.log")) or run(
                [hyper, "train", "--dataset", os.path.join(a.out, "twin"), "--out", os.path.join(a.out, "decoder.safetensors"), "--mode",
                 "tr", "--voxels", "800", "--set", 'preprocess.chain=["mask","detrend"]'], os.path.join(a.out, "train.log")):
            sys.exit(f"the twin or its decoder failed: see {a.out}/simulate.log, {a.out}/train.log")
    rows, final = [], {"adaptive": [], "random": []}
    for seed in range(1, a.seeds + 1):
        for name, exploit in (("adaptive", 0.5), ("random", 0.0)):
            shown = closed_loop(hyper, a.out, seed, exploit, a.trials, a.port)
            a.port += 2
            final[name].append(shown[-1])
            rows += [(name, seed, k, v) for k, v in enumerate(shown[:a.trials])] + [(name, seed, "found", shown[-1])]
        print(f"seed {seed:2d}: likeness of the face found: adaptive {final['adaptive'][-1]:6.2f}, random {final['random'][-1]:6.2f}",
              flush=True)
    with open(os.path.join(a.out, "convergence.tsv"), "w") as f:
        f.write("condition\tseed\ttrial\tlikeness\n")
        f.writelines(f"{c}\t{s}\t{k}\t{v:.6f}\n" for c, s, k, v in rows)
    diffs = [x - y for x, y in zip(final["adaptive"], final["random"])]
    p = sign_flip_p(diffs)
    mean = lambda v: sum(v) / len(v)
    print(f"\n| {a.trials} trials, {a.seeds} seeds | adaptive | random |\n|---|---|---|")
    print(f"| likeness of the face found (mean) | {mean(final['adaptive']):.2f} | {mean(final['random']):.2f} |")
    print(f"| as cos(found, target) | {mean(final['adaptive']) / 512 ** 0.5:.3f} | {mean(final['random']) / 512 ** 0.5:.3f} |")
    print(f"| seeds where adaptive found the closer face | {sum(d > 0 for d in diffs)} of {len(diffs)} | |")
    print(f"\npaired sign-flip permutation test, adaptive > random: p = {p:.4f}")
    plot(a.out, rows, a.trials, final, p)


def plot(out, rows, trials, final, p):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for name, colour in (("adaptive", "tab:red"), ("random", "tab:blue")):
        per_trial = [[v for c, s, k, v in rows if c == name and k == t] for t in range(trials)]
        ax.plot(range(1, trials + 1), [sum(v) / len(v) for v in per_trial], color=colour, label=f"{name}: each face shown")
        found = final[name]
        ax.errorbar([trials + 4], [sum(found) / len(found)], yerr=[(sum((x - sum(found) / len(found)) ** 2 for x in found) /
                                                                    max(1, len(found) - 1)) ** 0.5], fmt="o", color=colour, capsize=4)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(list(range(0, trials + 1, 10)) + [trials + 4])
    ax.set_xticklabels([str(t) for t in range(0, trials + 1, 10)] + ["found"])
    ax.set_xlabel("trial (4.5 s each)")
    ax.set_ylabel("likeness to the hidden target (sd of a random face)")
    ax.set_title(f"Adaptive search vs random faces, twin subject, {len(final['adaptive'])} seeds (p = {p:.3f})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "convergence.png"))
    print(f"figure: {os.path.join(out, 'convergence.png')}")


if __name__ == "__main__":
    main()

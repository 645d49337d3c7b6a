#!/usr/bin/python3
"""Independent checks of a `hyper simulate` dataset, written from the README's description
of the twin (not from its C++): numpy and nibabel only.

  twin_reference.py DATASET CHECK [CHECK ...]

events   the design: onsets, durations, runs of test and training faces, volumes per run
signal   the BOLD before motion and noise (save_clean) = baseline x (1 + drift)
         + the HRF response to each face of the visual voxels, driven by their latents
motion   each volume = the clean BOLD moved by that volume's recorded motion (trilinear),
         for a noiseless float32 twin
moments  the brain's centre and second moments in each volume follow its recorded motion
         (noiseless twin with snr 0 and no drift: every volume is the baseline, moved)
glm      a GLM with the canonical HRF, one regressor per trial, on the visual voxel with
         the largest gain recovers its encoding weights (r > 0.99 at high SNR)

Prints one line per check and exits 1 when one fails.
"""
import json
import math
import os
import sys

import nibabel as nib
import numpy as np

D = sys.argv[1]
T = json.load(open(os.path.join(D, "derivatives/twin/twin.json")))
TRUTH = os.path.join(D, "derivatives/twin")
FUNC = os.path.join(D, "sub-01/func")
failed = []


def report(name, ok, detail):
    print(f"{name}: {'OK' if ok else 'FAILED'} {detail}")
    if not ok:
        failed.append(name)


def run_names():
    return [f"sub-01_task-faces_run-{r + 1:02d}" for r in range(T["runs"])]


def events(name):
    rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(FUNC, name + "_events.tsv"))]
    assert rows[0] == ["onset", "duration", "trial_type", "stim_index"], rows[0]
    return [(float(a), float(b), c, int(d)) for a, b, c, d in rows[1:]]


def hrf(t):
    """SPM's canonical double gamma: gamma(6) - gamma(16) / 6, unit scale."""
    t = np.asarray(t, float)
    out = np.zeros_like(t)
    p = t > 0
    g = lambda x, a: np.exp((a - 1) * np.log(x) - x - math.lgamma(a))
    out[p] = g(t[p], 6.0) - g(t[p], 16.0) / 6.0
    return out


def block(t, duration, dt=0.01):
    """Response at times t to a block [0, duration): midpoint rule at dt."""
    s = np.arange(dt / 2, duration, dt)
    return hrf(np.asarray(t, float)[:, None] - s[None, :]).sum(axis=1) * dt


def regressors(name, n):
    ev = events(name)
    peak = block(np.arange(0, 32, 0.05), T["face_s"]).max()
    times = np.arange(n) * T["tr_s"]
    return np.stack([block(times - on, dur) / peak for on, dur, _, _ in ev], axis=1), ev


def rigid(m):
    tx, ty, tz, rx, ry, rz = m
    cx, sx, cy, sy, cz, sz = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry), math.cos(rz), math.sin(rz)
    Tm = np.array([[1, 0, 0, tx], [0, 1, 0, ty], [0, 0, 1, tz], [0, 0, 0, 1.0]])
    Rx = np.array([[1, 0, 0, 0], [0, cx, sx, 0], [0, -sx, cx, 0], [0, 0, 0, 1.0]])
    Ry = np.array([[cy, 0, sy, 0], [0, 1, 0, 0], [-sy, 0, cy, 0], [0, 0, 0, 1.0]])
    Rz = np.array([[cz, sz, 0, 0], [-sz, cz, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    return Tm @ Rx @ Ry @ Rz


def motion(name):
    rows = [line.split() for line in open(os.path.join(TRUTH, name + "_motion.tsv"))]
    assert rows[0] == ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    return np.array(rows[1:], float)


def trilinear(vol, coords, outside):
    """Sample vol (x, y, z) at voxel coordinates (3, N); outside the grid -> `outside`."""
    shape = np.array(vol.shape)[:, None]
    inside = np.all((coords >= 0) & (coords <= shape - 1), axis=0)
    c = np.clip(coords, 0, shape - 1)
    f = np.floor(c).astype(int)
    f1 = np.minimum(f + 1, shape - 1)
    d = c - f
    out = np.zeros(coords.shape[1])
    for ix in (0, 1):
        for iy in (0, 1):
            for iz in (0, 1):
                w = (d[0] if ix else 1 - d[0]) * (d[1] if iy else 1 - d[1]) * (d[2] if iz else 1 - d[2])
                out += w * vol[(f1 if ix else f)[0], (f1 if iy else f)[1], (f1 if iz else f)[2]]
    return np.where(inside, out, outside)


def check_events():
    n_vol = math.ceil((T["lead_in_s"] + T["trials_per_run"] * (T["face_s"] + T["blank_s"]) + T["lead_out_s"]) / T["tr_s"] - 1e-9)
    ok, detail = n_vol == T["volumes_per_run"], []
    test_counts, train_seen = np.zeros(36, int), []
    for r, name in enumerate(run_names()):
        ev = events(name)
        img = nib.load(os.path.join(FUNC, name + "_bold.nii.gz"))
        ok &= img.shape[3] == n_vol and abs(img.header.get_zooms()[3] - T["tr_s"]) < 1e-6
        ok &= json.load(open(os.path.join(FUNC, name + "_bold.json")))["RepetitionTime"] == T["tr_s"]
        onsets = np.array([e[0] for e in ev])
        want = T["lead_in_s"] + np.arange(T["trials_per_run"]) * (T["face_s"] + T["blank_s"])
        ok &= len(ev) == T["trials_per_run"] and np.allclose(onsets, want, atol=1e-3)
        ok &= all(abs(e[1] - T["face_s"]) < 1e-6 for e in ev)
        test = r < T["test_runs"]
        ok &= all(e[2] == ("test" if test else "train") for e in ev)
        for e in ev:
            if test:
                ok &= 1050 <= e[3] < 1086
                test_counts[e[3] - 1050] += 1
            else:
                ok &= 0 <= e[3] < 1050
                train_seen.append(e[3])
    if T["test_runs"]:
        n = T["test_runs"] * T["trials_per_run"]
        ok &= test_counts.sum() == n and test_counts.max() - test_counts.min() <= 1
        detail.append(f"test faces shown {test_counts.min()}-{test_counts.max()} times")
    if train_seen:
        ok &= len(set(train_seen)) == min(len(train_seen), 1050)
        detail.append(f"{len(set(train_seen))} distinct training faces in {len(train_seen)} trials")
    report("events", ok, f"{T['runs']} runs of {n_vol} volumes; " + ", ".join(detail))


def check_signal():
    base = nib.load(os.path.join(TRUTH, "baseline.nii.gz")).get_fdata().ravel(order="F")
    brain = nib.load(os.path.join(TRUTH, "brain_mask.nii.gz")).get_fdata().ravel(order="F") > 0.5
    vis = np.load(os.path.join(TRUTH, "visual_voxels.npy"))
    W = np.load(os.path.join(TRUTH, "encoding_weights.npy")).astype(float)
    gain = np.load(os.path.join(TRUTH, "voxel_gain.npy")).astype(float)
    Z = np.load(os.path.join(D, "stimuli/latents.npy")).astype(float)
    worst = 0.0
    for r, name in enumerate(run_names()):
        clean = nib.load(os.path.join(TRUTH, name + "_clean_bold.nii.gz")).get_fdata()
        n = clean.shape[3]
        y = clean.reshape(-1, n, order="F")  # voxels x time
        X, ev = regressors(name, n)
        amp = T["signal_sd"] * gain[None, :] * (T["evoked"] + Z[[e[3] for e in ev]] @ W.T)  # trials x visual
        y = y.copy()
        y[vis] -= (X @ amp).T
        # What is left is baseline x (1 + drift), drift in the span of the three known terms.
        tau = 2 * np.arange(n) / (n - 1) - 1
        rt = T["runs_truth"][r]
        terms = np.stack([tau, 0.5 * (3 * tau**2 - 1),
                          np.cos(2 * np.pi * np.arange(n) * T["tr_s"] / rt["drift_period_s"] + rt["drift_phase_rad"])], 1)
        rel = y[brain] / base[brain][:, None] - 1  # brain voxels x time
        coef, *_ = np.linalg.lstsq(terms, rel.T, rcond=None)
        worst = max(worst, np.abs(rel.T - terms @ coef).max(), np.abs(y[~brain] - base[~brain][:, None]).max() / 1000)
    # float32 storage and products leave about 1e-5; a wrong HRF, latent or scale leaves 1e-2.
    report("signal", worst < 1e-4, f"largest deviation from the model {worst:.2e} of baseline")


def check_motion():
    worst = 0.0
    for name in run_names():
        img = nib.load(os.path.join(FUNC, name + "_bold.nii.gz"))
        bold = img.get_fdata()
        clean = nib.load(os.path.join(TRUTH, name + "_clean_bold.nii.gz")).get_fdata()
        A = img.affine
        shape = bold.shape[:3]
        ijk = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), 0).reshape(3, -1, order="F")
        hom = np.vstack([ijk, np.ones(ijk.shape[1])])
        for t, m in enumerate(motion(name)):
            src = (np.linalg.inv(A) @ np.linalg.inv(rigid(m)) @ A @ hom)[:3]
            want = trilinear(clean[..., t], src, 30.0)
            got = bold[..., t].ravel(order="F")
            worst = max(worst, np.abs(got - want).max())
    report("motion", worst < 0.05, f"largest difference {worst:.4f} (intensities near 1000)")


def check_moments():
    worst_c = moved_c = worst_a = moved_a = 0.0
    for name in run_names():
        img = nib.load(os.path.join(FUNC, name + "_bold.nii.gz"))
        bold = img.get_fdata() - 30.0  # background level
        A = img.affine
        shape = bold.shape[:3]
        ijk = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), 0).reshape(3, -1, order="F")
        xyz = (A @ np.vstack([ijk, np.ones(ijk.shape[1])]))[:3]

        def moments(v):
            w = v.ravel(order="F")
            c = (xyz * w).sum(1) / w.sum()
            d = xyz - c[:, None]
            return c, np.linalg.eigh((d * w) @ d.T / w.sum())[1]  # centre, principal axes

        def angle(a, b):  # largest angle between matching axes, degrees
            return max(math.degrees(math.acos(min(1.0, abs(a[:, i] @ b[:, i])))) for i in range(3))

        c0, e0 = moments(bold[..., 0])
        for t, m in enumerate(motion(name)):
            M = rigid(m)
            c, e = moments(bold[..., t])
            worst_c = max(worst_c, np.abs(c - (M[:3, :3] @ c0 + M[:3, 3])).max())
            moved_c = max(moved_c, np.abs(c - c0).max())  # what "no motion" would get wrong
            worst_a = max(worst_a, angle(e, M[:3, :3] @ e0))
            moved_a = max(moved_a, angle(e, e0))
    # Trilinear resampling of a sampled image shifts moments by a few % of a voxel; the test
    # needs motion large against that, and the recorded motion to explain nearly all of it.
    ok = moved_c > 1.0 and moved_a > 1.0 and worst_c < 0.1 * moved_c and worst_a < 0.1 * moved_a
    report("moments", ok, f"centre within {worst_c:.3f} mm of where the recorded motion puts it (it moved up to "
           f"{moved_c:.2f} mm); principal axes within {worst_a:.3f} deg (they turned up to {moved_a:.2f} deg)")


def check_glm():
    vis = np.load(os.path.join(TRUTH, "visual_voxels.npy"))
    W = np.load(os.path.join(TRUTH, "encoding_weights.npy")).astype(float)
    gain = np.load(os.path.join(TRUTH, "voxel_gain.npy")).astype(float)
    Z = np.load(os.path.join(D, "stimuli/latents.npy")).astype(float)
    k = int(np.argmax(gain))
    v = vis[k]
    betas, stims = [], []
    for r, name in enumerate(run_names()):
        img = nib.load(os.path.join(FUNC, name + "_bold.nii.gz"))
        y = img.get_fdata().reshape(-1, img.shape[3], order="F")[v]
        X, ev = regressors(name, img.shape[3])
        n = img.shape[3]
        tau = 2 * np.arange(n) / (n - 1) - 1
        rt = T["runs_truth"][r]
        nuisance = np.stack([np.ones(n), tau, 0.5 * (3 * tau**2 - 1),
                             np.cos(2 * np.pi * np.arange(n) * T["tr_s"] / rt["drift_period_s"] + rt["drift_phase_rad"])], 1)
        b, *_ = np.linalg.lstsq(np.hstack([X, nuisance]), y, rcond=None)
        betas.extend(b[: X.shape[1]])
        stims.extend(e[3] for e in ev)
    betas = np.array(betas)
    design = np.hstack([np.ones((len(stims), 1)), Z[stims]])
    w, *_ = np.linalg.lstsq(design, betas, rcond=None)
    r = np.corrcoef(w[1:], W[k])[0, 1]
    report("glm", r > 0.99, f"voxel {v} (gain {gain[k]:.2f}): r = {r:.4f} over {len(stims)} trials")


for name in sys.argv[2:]:
    {"events": check_events, "signal": check_signal, "motion": check_motion, "moments": check_moments,
     "glm": check_glm}[name]()
sys.exit(1 if failed else 0)

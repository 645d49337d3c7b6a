#!/usr/bin/python3
"""The pipeline a lab would write in Python (Debian's numpy; torch for the generator), timed
on the same run as HYPER-RT (`hyper bench --baseline python` runs it and reports the ratio).

It is the same math per volume as HYPER-RT's stages, written with whole-array numpy:
  realign   smoothed copies (separable Gaussian, FWHM 6 mm), Gauss-Newton with the
            reference's Jacobian on lattices of stride 4, 2, 1, trilinear sampling,
            SPM's M = T Rx Ry Rz, then the volume resampled onto the reference
  smooth    separable Gaussian, zero outside the grid
  mask      the first volume above 0.125 x its mean
  detrend   incremental least squares on Legendre polynomials (sufficient statistics)
  zscore    running mean and sample s.d. (Welford)
  decode    (x - mean) / sd, then latent = W^T z + b, with a HYPER-RT decoder file
and optionally the PGGAN generator of tools/pggan_reference.py with the same weights.

  python_baseline.py --input RUN.nii.gz [--chain realign,smooth,mask,detrend,zscore]
                     [--decoder DEC.safetensors] [--volumes N] [--warmup W]
                     [--generator W.safetensors --resolution R --threads T]
                     [--features OUT.npy] [--motion OUT.npy]

Prints one JSON object: per stage and end to end ("sent -> ready": the chain and decode;
"sent -> image": with the face) n, mean, p50, p90, p99, max in ms, after the warm-up.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import nibabel as nib
import numpy as np


def gaussian_kernel(sigma_vox, truncate=4.0):
    r = int(math.ceil(truncate * sigma_vox))
    i = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * i * i / (sigma_vox * sigma_vox))
    return (k / k.sum()).astype(np.float32)


def smoother(shape, voxel_mm, fwhm_mm):
    """A function smoothing a (x, y, z) volume: three 1D passes, zero outside the grid."""
    sigma = fwhm_mm / (2 * math.sqrt(2 * math.log(2)))
    kernels = [gaussian_kernel(sigma / v) for v in voxel_mm]

    def run(vol):
        out = vol.astype(np.float32)
        for axis, k in enumerate(kernels):
            r = len(k) // 2
            pad = [(0, 0)] * 3
            pad[axis] = (r, r)
            p = np.pad(out, pad)
            acc = np.zeros_like(out)
            n = out.shape[axis]
            for t, w in enumerate(k):
                acc += w * np.take(p, np.arange(t, t + n), axis=axis)
            out = acc
        return out
    return run


def rigid(m):
    cx, sx, cy, sy, cz, sz = math.cos(m[3]), math.sin(m[3]), math.cos(m[4]), math.sin(m[4]), math.cos(m[5]), math.sin(m[5])
    t = np.array([[1, 0, 0, m[0]], [0, 1, 0, m[1]], [0, 0, 1, m[2]], [0, 0, 0, 1]], dtype=np.float64)
    rx = np.array([[1, 0, 0, 0], [0, cx, sx, 0], [0, -sx, cx, 0], [0, 0, 0, 1]])
    ry = np.array([[cy, 0, sy, 0], [0, 1, 0, 0], [-sy, 0, cy, 0], [0, 0, 0, 1]])
    rz = np.array([[cz, sz, 0, 0], [-sz, cz, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    return t @ rx @ ry @ rz


def trilinear(vol, p):
    """vol (x, y, z) at points p (3, n) inside the grid; the upper corner clamped."""
    nx, ny, nz = vol.shape
    x0, y0, z0 = (np.floor(p[a]).astype(np.int64) for a in range(3))
    dx, dy, dz = (p[0] - x0).astype(np.float32), (p[1] - y0).astype(np.float32), (p[2] - z0).astype(np.float32)
    x1, y1, z1 = np.minimum(x0 + 1, nx - 1), np.minimum(y0 + 1, ny - 1), np.minimum(z0 + 1, nz - 1)
    c00 = vol[x0, y0, z0] + dx * (vol[x1, y0, z0] - vol[x0, y0, z0])
    c10 = vol[x0, y1, z0] + dx * (vol[x1, y1, z0] - vol[x0, y1, z0])
    c01 = vol[x0, y0, z1] + dx * (vol[x1, y0, z1] - vol[x0, y0, z1])
    c11 = vol[x0, y1, z1] + dx * (vol[x1, y1, z1] - vol[x0, y1, z1])
    c0, c1 = c00 + dy * (c10 - c00), c01 + dy * (c11 - c01)
    return c0 + dz * (c1 - c0)


def inside(shape, p):
    return (p[0] >= 0) & (p[1] >= 0) & (p[2] >= 0) & (p[0] <= shape[0] - 1) & (p[1] <= shape[1] - 1) & (p[2] <= shape[2] - 1)


class Realign:
    def __init__(self, affine, shape, voxel_mm, fwhm=6.0, iterations=20, tolerance=1e-3):
        self.affine, self.shape = affine, shape
        self.smooth = smoother(shape, voxel_mm, fwhm)
        self.iterations, self.tolerance = iterations, tolerance
        self.levels, self.m = None, np.zeros(6)

    def prepare(self, ref):
        rs = self.smooth(ref)
        mean = rs.mean(dtype=np.float64)
        a_inv_t = np.linalg.inv(self.affine[:3, :3]).T
        nx, ny, nz = self.shape
        levels = []
        for stride in (4, 2, 1):
            i, j, k = np.meshgrid(np.arange(1, nx - 1, stride), np.arange(1, ny - 1, stride), np.arange(1, nz - 1, stride), indexing="ij")
            i, j, k = i.ravel(), j.ravel(), k.ravel()
            v = rs[i, j, k]
            keep = v > 0.125 * mean
            i, j, k, v = i[keep], j[keep], k[keep], v[keep]
            g_vox = np.stack([0.5 * (rs[i + 1, j, k] - rs[i - 1, j, k]), 0.5 * (rs[i, j + 1, k] - rs[i, j - 1, k]),
                              0.5 * (rs[i, j, k + 1] - rs[i, j, k - 1])]).astype(np.float64)
            g = a_inv_t @ g_vox
            w = self.affine[:3, :3] @ np.stack([i, j, k]).astype(np.float64) + self.affine[:3, 3:4]
            jac = np.stack([g[0], g[1], g[2], g[1] * w[2] - g[2] * w[1], g[0] * w[2] - g[2] * w[0], g[0] * w[1] - g[1] * w[0]])
            if len(v) < 50:
                continue
            levels.append((np.stack([i, j, k]).astype(np.float64), v, jac, np.linalg.inv(jac @ jac.T)))
        return levels

    def __call__(self, vol):
        if self.levels is None:
            self.levels = self.prepare(vol)
            return vol, self.m.copy()
        sm = self.smooth(vol)
        to_vox = np.linalg.inv(self.affine)
        for ijk, ref, jac, inv_jtj in self.levels:
            for _ in range(self.iterations):
                mp = to_vox @ rigid(self.m) @ self.affine
                p = mp[:3, :3] @ ijk + mp[:3, 3:4]
                ok = inside(self.shape, p)
                e = trilinear(sm, p[:, ok]) - ref[ok]
                step = inv_jtj @ (jac[:, ok] @ e)
                self.m -= step
                if np.abs(step).max() < self.tolerance:
                    break
        # The volume moved back onto the reference, every voxel.
        mp = to_vox @ rigid(self.m) @ self.affine
        grid = np.stack(np.meshgrid(*(np.arange(n) for n in self.shape), indexing="ij")).reshape(3, -1).astype(np.float64)
        p = mp[:3, :3] @ grid + mp[:3, 3:4]
        ok = inside(self.shape, p)
        out = np.zeros(grid.shape[1], dtype=np.float32)
        out[ok] = trilinear(vol, p[:, ok])
        return out.reshape(self.shape), self.m.copy()


class Detrend:
    def __init__(self, order, span):
        self.order, self.span, self.n, self.xtx, self.xty = order, span, 0, None, None

    def __call__(self, y, index):
        t = 2.0 * index / (self.span - 1) - 1.0 if self.span > 1 else 0.0
        x = [1.0] + ([t] if self.order >= 1 else [])
        for k in range(1, self.order):
            x.append(((2 * k + 1) * t * x[k] - k * x[k - 1]) / (k + 1))
        x = np.array(x)
        if self.xtx is None:
            self.xtx, self.xty = np.zeros((len(x), len(x))), np.zeros((len(x), y.size))
        self.xtx += np.outer(x, x)
        self.xty += np.outer(x, y)
        self.n += 1
        if self.n <= len(x):
            return np.zeros_like(y)
        c = np.linalg.solve(self.xtx, x)
        return (y - c @ self.xty).astype(np.float32)


class ZScore:
    def __init__(self):
        self.n, self.mean, self.m2 = 0, None, None

    def __call__(self, y):
        y = y.astype(np.float64)
        if self.mean is None:
            self.mean, self.m2 = np.zeros_like(y), np.zeros_like(y)
        self.n += 1
        d = y - self.mean
        self.mean += d / self.n
        self.m2 += d * (y - self.mean)
        if self.n < 2:
            return np.zeros(y.shape, dtype=np.float32)
        sd = np.sqrt(self.m2 / (self.n - 1))
        out = np.zeros_like(y)
        ok = sd > 0
        out[ok] = (y[ok] - self.mean[ok]) / sd[ok]
        return out.astype(np.float32)


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data, out = raw[8 + n:], {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        dtype = {"F32": "<f4", "I64": "<i8", "F64": "<f8"}[t["dtype"]]
        out[name] = np.frombuffer(data[a:b], dtype=dtype).reshape(t["shape"])
    return out, meta


class Decode:
    def __init__(self, path):
        t, _ = read_safetensors(path)
        k = t["voxels"].size
        # HYPER-RT stores the k x 512 weights column by column (Eigen's order).
        self.w = np.asarray(t["weights"]).reshape(-1).reshape(512, k).T.astype(np.float32)
        self.b = np.asarray(t["intercept"], dtype=np.float32)
        self.voxels, self.mean, self.sd = t["voxels"].astype(np.int64), t["feature_mean"], t["feature_sd"]
        self.pos = None

    def __call__(self, features, feature_voxels):
        if self.pos is None:
            where = {v: s for s, v in enumerate(feature_voxels)}
            self.pos = np.array([where.get(int(v), -1) for v in self.voxels])
        x = np.where(self.pos >= 0, features[np.maximum(self.pos, 0)], self.mean)
        return ((x - self.mean) / self.sd) @ self.w + self.b


def summary(ms):
    a = np.array(ms, dtype=np.float64)
    if a.size == 0:
        return None
    return {"n": int(a.size), "mean": float(a.mean()), "p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "p99": float(np.percentile(a, 99)), "max": float(a.max())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--chain", default="realign,mask")
    ap.add_argument("--decoder")
    ap.add_argument("--volumes", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--smooth-fwhm", type=float, default=5.0)
    ap.add_argument("--order", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=1e-3)
    ap.add_argument("--generator")
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--features", help="write every volume's output as .npy rows (voxels in NIfTI order, 0 outside the mask)")
    ap.add_argument("--motion", help="write realign's six parameters per volume as .npy")
    a = ap.parse_args()

    img = nib.load(a.input)
    data = img.dataobj
    shape, affine = img.shape[:3], img.affine.astype(np.float64)
    voxel_mm = [float(v) for v in img.header.get_zooms()[:3]]
    count = min(a.volumes + a.warmup, img.shape[3])
    chain = [s for s in a.chain.split(",") if s]
    stages = {}
    if "realign" in chain:
        stages["realign"] = Realign(affine, shape, voxel_mm, tolerance=a.tolerance)
    if "smooth" in chain:
        stages["smooth"] = smoother(shape, voxel_mm, a.smooth_fwhm)
    if "detrend" in chain:
        stages["detrend"] = Detrend(a.order, img.shape[3])
    if "zscore" in chain:
        stages["zscore"] = ZScore()
    decoder = Decode(a.decoder) if a.decoder else None
    generator = None
    if a.generator:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import torch
        import pggan_reference
        torch.set_num_threads(a.threads)
        tensors, channels = pggan_reference.load(a.generator)
        generator = pggan_reference.Reference(tensors, channels, dtype=torch.float32)  # float32, as HYPER-RT's CPU path

    times = {name: [] for name in chain + (["decode"] if decoder else []) + (["generate"] if generator else [])}
    ready, image, rows, motions = [], [], [], []
    mask_idx = None
    for t in range(count):
        vol = np.asarray(data[..., t], dtype=np.float32)  # as received: the volume's values, scaled
        t0 = time.perf_counter()
        x, feats = vol, None
        for name in chain:
            s = time.perf_counter()
            if name == "realign":
                x, m = stages["realign"](x)
                motions.append(m)
            elif name == "smooth":
                x = stages["smooth"](x)
            elif name == "mask":
                if mask_idx is None:
                    flat = x.reshape(-1, order="F")
                    mask_idx = np.nonzero(flat > 0.125 * flat.mean(dtype=np.float64))[0]
                feats = x.reshape(-1, order="F")[mask_idx]
            elif name == "detrend":
                if feats is None:
                    raise SystemExit("python_baseline: put mask before detrend")
                feats = stages["detrend"](feats, t)
            elif name == "zscore":
                feats = stages["zscore"](feats)
            times[name].append((time.perf_counter() - s) * 1000)
        latent = None
        if decoder is not None:
            s = time.perf_counter()
            latent = decoder(feats if feats is not None else x.reshape(-1, order="F"),
                             mask_idx if feats is not None else np.arange(x.size))
            times["decode"].append((time.perf_counter() - s) * 1000)
        ready.append((time.perf_counter() - t0) * 1000)
        if generator is not None and latent is not None:
            import torch
            s = time.perf_counter()
            with torch.no_grad():
                generator(torch.from_numpy(latent.astype(np.float32)[None]), a.resolution)
            times["generate"].append((time.perf_counter() - s) * 1000)
            image.append((time.perf_counter() - t0) * 1000)
        if a.features:  # as hyper preprocess writes it: the features at their voxels, 0 elsewhere
            full = x.reshape(-1, order="F").copy() if feats is None else np.zeros(x.size, dtype=np.float32)
            if feats is not None:
                full[mask_idx] = feats
            rows.append(full)
    w = a.warmup
    out = {"volumes": count - w, "warmup": w, "chain": chain,
           "stages": {k: summary(v[w:]) for k, v in times.items()},
           "end_to_end": {"sent -> ready": summary(ready[w:])}}
    if image:
        out["end_to_end"]["sent -> image"] = summary(image[w:])
    if a.features:
        np.save(a.features, np.stack(rows))
    if a.motion and motions:
        np.save(a.motion, np.stack(motions))
    print(json.dumps(out))


if __name__ == "__main__":
    main()

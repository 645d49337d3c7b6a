#!/usr/bin/python3
"""Files made the way the HYPER release made them (the real ones are under a data use
agreement), for the tests of hyper import-hyper, train/decode/eval from arrays:

  RELEASE/data_sub1_4096.dat      pickle.dump((X_train, T_train, X_test, T_test)) as main.py loads it
  RELEASE/data_python2.dat        the same as Python 2 pickles it (bytes as str)
  RELEASE/data_protocol0.dat      the same in pickle's text protocol, one array big-endian, one in Fortran order
  RELEASE/objects.dat             an object array where X_train belongs (refused: only numbers are read)
  RELEASE/l0_s1_5000_final.model  a Chainer save_npz of ModelLinear: numpy.savez_compressed with the
                                  keys Chainer's DictionarySerializer writes, fc1/W (512 x v), fc1/b
  RELEASE/bounds/pggan_celebahq_ATTR_boundary.npy  InterFaceGAN boundaries, (1, 512), unit norm
  RELEASE/evil.dat                a pickle that would create EVIL_MARKER when loaded unsafely
  REF/*.npy, REF/ref.json         what numpy computes from them, independently of hyper

Responses are a linear function of the latents plus noise (X = T A + e), so that decoding
works and its figures mean something.

  make_hyper_release.py RELEASE REF EVIL_MARKER [--train N] [--test M] [--voxels V]
"""
import argparse
import json
import os
import pickle

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("release")
p.add_argument("ref")
p.add_argument("marker")
p.add_argument("--train", type=int, default=300)
p.add_argument("--test", type=int, default=36)
p.add_argument("--voxels", type=int, default=1024)
a = p.parse_args()
os.makedirs(os.path.join(a.release, "bounds"), exist_ok=True)
os.makedirs(a.ref, exist_ok=True)

rng = np.random.default_rng(1412)
A = rng.standard_normal((512, a.voxels)) / np.sqrt(512)
T_train = rng.standard_normal((a.train, 512)).astype(np.float32)
T_test = rng.standard_normal((a.test, 512)).astype(np.float32)
X_train = (T_train @ A + 0.5 * rng.standard_normal((a.train, a.voxels))).astype(np.float32)
X_test = (T_test @ A + 0.5 * rng.standard_normal((a.test, a.voxels))).astype(np.float32)
with open(os.path.join(a.release, "data_sub1_4096.dat"), "wb") as f:
    pickle.dump((X_train, T_train, X_test, T_test), f)


def as_python2(data):
    """The same pickle as Python 2 writes it: raw bytes as str opcodes (BINSTRING,
    SHORT_BINSTRING: the same layout as protocol 3's BINBYTES, SHORT_BINBYTES), protocol 2."""
    import pickletools
    out = bytearray(data)
    for op, _, pos in pickletools.genops(data):
        if op.name in ("BINBYTES", "SHORT_BINBYTES"):
            out[pos] = ord("T" if op.name == "BINBYTES" else "U")
        elif op.name == "PROTO":
            out[pos + 1] = 2
    return bytes(out)


with open(os.path.join(a.release, "data_python2.dat"), "wb") as f:
    f.write(as_python2(pickle.dumps((X_train, T_train, X_test, T_test), protocol=3)))

# The paper trained its L.Linear with Adam and weight decay; a ridge solution stands in.
Xc, Tc = X_train - X_train.mean(0), T_train - T_train.mean(0)
W = np.linalg.solve(Xc.T.astype(np.float64) @ Xc + 50.0 * np.eye(a.voxels), Xc.T.astype(np.float64) @ Tc)  # v x 512
b = T_train.mean(0) - X_train.mean(0) @ W
np.savez_compressed(os.path.join(a.release, "l0_s1_5000_final.model"),
                    **{"fc1/W": W.T.astype(np.float32), "fc1/b": b.astype(np.float32)})
os.rename(os.path.join(a.release, "l0_s1_5000_final.model.npz"), os.path.join(a.release, "l0_s1_5000_final.model"))

attributes = ["gender", "age", "eyeglasses", "pose", "smile"]
bounds = {}
for name in attributes:
    n = rng.standard_normal((1, 512))
    bounds[name] = n / np.linalg.norm(n)
    np.save(os.path.join(a.release, "bounds", f"pggan_celebahq_{name}_boundary.npy"), bounds[name])


with open(os.path.join(a.release, "data_protocol0.dat"), "wb") as f:  # text protocol, big-endian, Fortran order
    pickle.dump((X_train.astype(">f8"), T_train, np.asfortranarray(X_test), T_test), f, protocol=0)
with open(os.path.join(a.release, "objects.dat"), "wb") as f:  # an object array: its bytes would be pointers
    pickle.dump((np.zeros(2, dtype=object), T_train, X_test, T_test), f)


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {a.marker}",))


with open(os.path.join(a.release, "evil.dat"), "wb") as f:
    pickle.dump((Evil(), X_train, T_train, X_test), f)

# References, computed here from the arrays in memory.
for name, arr in (("X_train", X_train), ("T_train", T_train), ("X_test", X_test), ("T_test", T_test)):
    np.save(os.path.join(a.ref, name + ".npy"), arr)
W32, b32 = W.T.astype(np.float32), b.astype(np.float32)  # as stored
paper = X_test.astype(np.float64) @ W32.T.astype(np.float64) + b32
np.save(os.path.join(a.ref, "pred_paper.npy"), paper.astype(np.float32))
# Least squares with intercept: the minimum-norm solution of the centred problem (more voxels
# than trials, so it interpolates the training latents).
# All in float64: centring in float32 leaves a tiny singular value that pinv would invert.
X64, T64 = X_train.astype(np.float64), T_train.astype(np.float64)
W_ls = np.linalg.pinv(X64 - X64.mean(0)) @ (T64 - T64.mean(0))
b_ls = T64.mean(0) - X64.mean(0) @ W_ls
ls = X_test.astype(np.float64) @ W_ls + b_ls
np.save(os.path.join(a.ref, "pred_ls.npy"), ls.astype(np.float32))


def measures(pred):
    lsim = 1.0 / (1.0 + ((pred - T_test) ** 2).mean(axis=1))
    out = {"latent_similarity_mse": float(lsim.mean()), "latent_similarity_mse_se": float(lsim.std(ddof=1) / np.sqrt(len(lsim)))}
    for name in attributes:
        out["attribute_r_" + name] = float(np.corrcoef(T_test @ bounds[name].ravel(), pred @ bounds[name].ravel())[0, 1])
    return out


# Ridge cross-validated over 6 contiguous folds, as hyper train --responses: per penalty, the
# mean over folds of the mean per-trial correlation of predicted and true latents.
penalties = [0, 1, 10, 100, 1e3, 1e4, 1e5]
fold = np.arange(a.train) * 6 // a.train
cv = np.zeros(len(penalties))
for k in range(6):
    tr, te = fold != k, fold == k
    mx, my = X64[tr].mean(0), T64[tr].mean(0)
    Xc, Yc = X64[tr] - mx, T64[tr] - my
    for j, lam in enumerate(penalties):
        W = np.linalg.pinv(Xc) @ Yc if lam == 0 else Xc.T @ np.linalg.solve(Xc @ Xc.T + lam * np.eye(len(Xc)), Yc)
        pred, true = (X64[te] - mx) @ W + my, T64[te]
        pc, tc = pred - pred.mean(1, keepdims=True), true - true.mean(1, keepdims=True)
        cv[j] += np.mean((pc * tc).sum(1) / np.sqrt((pc ** 2).sum(1) * (tc ** 2).sum(1))) / 6

with open(os.path.join(a.ref, "ref.json"), "w") as f:
    json.dump({"paper": measures(paper), "ls": measures(ls), "cv": {"penalties": penalties, "correlation": cv.tolist()}}, f,
              indent=1)

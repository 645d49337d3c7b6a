#!/usr/bin/python3
"""Reads the files released with HYPER (Dado et al. 2022; neuralcodinglab/HYPER, main.py) and
writes them as plain arrays; `hyper import-hyper` runs it (README, "The paper's own files").

  import_hyper.py --out DIR [--data data_sub1_4096.dat] [--decoder l0_s1_5000_final.model]

--data     a pickle of the tuple (X_train, T_train, X_test, T_test). A pickle can run any code
           when it is loaded, so it is read by an unpickler that builds NumPy arrays and
           tuples and nothing else: any other object in the file is refused, naming it.
           Writes DIR/X_train.npy, T_train.npy, X_test.npy, T_test.npy (float32).
--decoder  the Chainer L.Linear(4096, 512) saved by serializers.save_npz: a zip of .npy files
           holding fc1/W (512 x 4096) and fc1/b (512). Read with allow_pickle=False. Writes
           DIR/chainer_fc1_W.npy and DIR/chainer_fc1_b.npy (float32, as stored), which
           hyper import-hyper turns into a decoder file and removes.
Always writes DIR/summary.json: each source file (size, SHA-256) and each array (shape, the
dtype it had, minimum, maximum, mean, s.d., non-finite values).

Exit status 0, or 1 with one line on stderr naming the file and what is wrong.
"""
import argparse
import hashlib
import io
import json
import os
import pickle
import sys
import zipfile

import numpy as np

LATENT = 512
NAMES = ("X_train", "T_train", "X_test", "T_test")

# The dtypes an array of responses or latents may have; an object dtype (whose bytes would be
# read as pointers) or a structured one is refused.
NUMERIC = {"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"}
MAX_BYTES = 8 << 30  # a released data file is ~20 MB; a header claiming more is not read


class Refused(Exception):
    pass


# Nothing the file names is ever given to NumPy: the names an array pickles into stand for inert
# records of what NumPy would have been asked to build, checked and turned into arrays only
# afterwards with np.frombuffer (a pickle's dtype state could otherwise, for example, make NumPy
# read the file's bytes as object pointers).
class DtypeRecord:
    def __init__(self, spec, align=False, copy=True):
        if not isinstance(spec, str) or spec not in NUMERIC:
            raise Refused(f"it holds an array of dtype {spec!r}: only plain numbers are read ({', '.join(sorted(NUMERIC))})")
        self.spec, self.order = spec, "="

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", ">", "|", "="):
            raise Refused("an array's dtype has a state this reader does not know")
        self.order = state[1]


class ArrayRecord:
    def __init__(self):
        self.state = None

    def __setstate__(self, state):
        self.state = state

    def build(self):
        if not isinstance(self.state, tuple) or len(self.state) != 5:
            raise Refused("an array without the state NumPy pickles with it")
        _, shape, dtype, fortran, raw = self.state
        if not isinstance(dtype, DtypeRecord) or not isinstance(shape, tuple) or \
                not all(isinstance(n, int) and 0 <= n < (1 << 40) for n in shape):
            raise Refused(f"an array of shape {shape!r} and dtype {type(dtype).__name__}: not one NumPy writes")
        if isinstance(raw, str):  # Python 2 kept the bytes as str; latin-1 gives them back one to one
            raw = raw.encode("latin1")
        dt = np.dtype(dtype.spec).newbyteorder(dtype.order if dtype.order != "|" else "=")
        size = dt.itemsize * int(np.prod(shape, dtype=np.int64))
        if not isinstance(raw, bytes) or len(raw) != size or size > MAX_BYTES:
            raise Refused(f"an array of shape {shape} ({dt}) whose data is {len(raw) if isinstance(raw, bytes) else type(raw).__name__}"
                          f" bytes, not {size}")
        return np.frombuffer(raw, dtype=dt).reshape(shape, order="F" if fortran else "C").astype(dt.newbyteorder("="))


class NdarrayName:
    """numpy.ndarray as the argument of _reconstruct; calling it directly is refused."""

    def __init__(self, *args):
        raise Refused("it calls numpy.ndarray directly, which a pickled array never does: refused")


def reconstruct(cls, shape, typecode):
    if cls is not NdarrayName:
        raise Refused("it reconstructs something other than a NumPy array: refused")
    return ArrayRecord()


def latin1_bytes(text, encoding="latin1"):
    """Pickle protocol 2 written by Python 3 stores bytes as _codecs.encode(text, 'latin1'):
    only that conversion is allowed."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise Refused("it calls _codecs.encode other than to make bytes from latin-1 text: refused")
    return text.encode("latin1")


# What NumPy arrays pickle into, across NumPy versions (1.x writes numpy.core, 2.x numpy._core).
ALLOWED = {
    ("_codecs", "encode"): latin1_bytes,
    ("numpy.core.multiarray", "_reconstruct"): reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): reconstruct,
    ("numpy", "ndarray"): NdarrayName,
    ("numpy", "dtype"): DtypeRecord,
}


class ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        found = ALLOWED.get((module, name))
        if found is None:
            raise Refused(f"it names {module}.{name}, which is not part of a NumPy array: refused, because loading it "
                          "could run code (this reader builds only NumPy arrays and tuples)")
        return found

    def persistent_load(self, pid):
        raise Refused("it refers to a persistent object, which a file of NumPy arrays never does: refused")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def describe(a, dtype):
    finite = np.isfinite(a)
    v = a[finite].astype(np.float64)
    stat = (lambda f: float(f(v)) if v.size else None)
    return {"shape": list(a.shape), "dtype": str(dtype), "min": stat(np.min), "max": stat(np.max),
            "mean": stat(np.mean), "sd": stat(np.std), "non_finite": int(a.size - finite.sum())}


def source(path):
    return {"file": os.path.abspath(path), "bytes": os.path.getsize(path), "sha256": sha256(path)}


def read_data(path):
    with open(path, "rb") as f:
        if f.read(2) == b"PK":
            raise Refused("a zip file, not a pickle: is it the decoder (l0_s1_5000_final.model)? give that with --decoder, "
                          "and the data pickle (data_sub1_4096.dat) as the first argument")
        f.seek(0)
        # latin1: a pickle written by Python 2 (NumPy arrays hold their bytes as str there).
        obj = ArraysOnly(f, encoding="latin1").load()
    if not isinstance(obj, tuple) or len(obj) != 4:
        raise Refused(f"expected the tuple (X_train, T_train, X_test, T_test), found {type(obj).__name__}"
                      + (f" of {len(obj)}" if isinstance(obj, (tuple, list)) else ""))
    arrays = {}
    for name, a in zip(NAMES, obj):
        a = a.build() if isinstance(a, ArrayRecord) else a
        if not isinstance(a, np.ndarray) or a.ndim != 2 or a.dtype.kind not in "fiu":
            raise Refused(f"{name} must be a 2-D numeric array, found "
                          + (f"shape {a.shape}, dtype {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__))
        arrays[name] = a
    for x, t in (("X_train", "T_train"), ("X_test", "T_test")):
        if arrays[x].shape[0] != arrays[t].shape[0]:
            raise Refused(f"{x} has {arrays[x].shape[0]} rows (trials) and {t} {arrays[t].shape[0]}: they must match")
        if arrays[t].shape[1] != LATENT:
            raise Refused(f"{t} has {arrays[t].shape[1]} columns, latents have {LATENT}")
    if arrays["X_train"].shape[1] != arrays["X_test"].shape[1]:
        raise Refused(f"X_train has {arrays['X_train'].shape[1]} voxels and X_test {arrays['X_test'].shape[1]}")
    return arrays


def read_chainer_linear(path):
    """fc1/W and fc1/b of a Chainer save_npz file (a Classifier wrapper adds 'predictor/')."""
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise Refused("not a Chainer save_npz file (a zip of .npy files); the decoder is l0_s1_5000_final.model, the data "
                      "pickle (data_sub1_4096.dat) goes first, without --decoder")
    found = {}
    with z:
        for entry in z.namelist():
            key = entry[:-4] if entry.endswith(".npy") else entry
            if key.split("/")[-2:] in (["fc1", "W"], ["fc1", "b"]):
                if key.split("/")[-1] in found:
                    raise Refused(f"two fc1/{key.split('/')[-1]} in it ({entry} and another): which one is the decoder?")
                found[key.split("/")[-1]] = np.load(io.BytesIO(z.read(entry)), allow_pickle=False)
        names = z.namelist()
    if set(found) != {"W", "b"}:
        raise Refused(f"no fc1/W and fc1/b in it (it holds: {', '.join(names) or 'nothing'}); "
                      "expected the decoder of HYPER's main.py, ModelLinear with one L.Linear called fc1")
    w, b = found["W"], found["b"]
    if w.dtype.kind != "f" or b.dtype.kind != "f":
        raise Refused(f"fc1/W is {w.dtype} and fc1/b {b.dtype}; a Chainer Linear holds floating point weights")
    if w.ndim != 2 or w.shape[0] != LATENT or b.shape != (LATENT,):
        raise Refused(f"fc1/W has shape {w.shape} and fc1/b {b.shape}; expected ({LATENT}, voxels) and ({LATENT},)")
    return w, b


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--data")
    p.add_argument("--decoder")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    summary = {"format": "hyper-import/1", "sources": {}, "arrays": {}}
    current = None
    try:
        if a.data:
            current = a.data
            arrays = read_data(a.data)
            summary["sources"]["data"] = source(a.data)
            for name, arr in arrays.items():
                summary["arrays"][name] = describe(arr, arr.dtype)
                np.save(os.path.join(a.out, name + ".npy"), np.ascontiguousarray(arr, dtype=np.float32))
        if a.decoder:
            current = a.decoder
            w, b = read_chainer_linear(a.decoder)
            if a.data and w.shape[1] != arrays["X_test"].shape[1]:
                raise Refused(f"fc1/W takes {w.shape[1]} voxels, the data has {arrays['X_test'].shape[1]}")
            summary["sources"]["decoder"] = source(a.decoder)
            summary["arrays"]["fc1/W"] = describe(w, w.dtype)
            summary["arrays"]["fc1/b"] = describe(b, b.dtype)
            np.save(os.path.join(a.out, "chainer_fc1_W.npy"), np.ascontiguousarray(w, dtype=np.float32))
            np.save(os.path.join(a.out, "chainer_fc1_b.npy"), np.ascontiguousarray(b, dtype=np.float32))
    except Refused as e:
        print(f"{current}: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a damaged or truncated file: any error of the readers, said plainly
        print(f"{current}: cannot be read ({type(e).__name__}: {e})", file=sys.stderr)
        return 1
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Write a small synthetic 4D fMRI run with nibabel, and optionally the values a reader
must get from it, as an independent reference for HYPER-RT's NIfTI reader and replay.

The run: a smooth brain-like intensity blob, a slow drift, a block-design signal in a
"visual" patch and Gaussian noise; integer types are written with scl_slope/scl_inter
chosen by nibabel (as scanners do), plus the type's extreme values at two voxels so
that conversions are tested at their limits.

  tools/make_run.py --out run.nii.gz --dims 16 16 8 50 --dtype int16 --expected run.npy

--expected writes float32 of shape (volumes, voxels) with each volume in NIfTI order
(x fastest): nibabel's get_fdata() rounded once to float32.
Uses Debian's /usr/bin/python3 with python3-nibabel and python3-numpy.
"""
import argparse

import nibabel as nib
import numpy as np

DTYPES = {"int16": np.int16, "uint16": np.uint16, "int32": np.int32,
          "float32": np.float32, "float64": np.float64}


def synthetic(dims, seed):
    x, y, z, t = dims
    rng = np.random.default_rng(seed)
    gx, gy, gz = np.meshgrid(np.linspace(-1, 1, x), np.linspace(-1, 1, y), np.linspace(-1, 1, z),
                             indexing="ij")
    brain = 800.0 * np.exp(-(gx**2 + gy**2 + 1.5 * gz**2) * 1.5)
    patch = np.exp(-((gx - 0.3)**2 + (gy + 0.4)**2 + gz**2) * 12.0)
    times = np.arange(t)
    block = ((times // 5) % 2).astype(float)
    drift = 1.0 + 0.002 * times
    data = brain[..., None] * drift + 40.0 * patch[..., None] * block
    return data + rng.normal(0.0, 5.0, size=data.shape) + 100.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output .nii or .nii.gz")
    ap.add_argument("--dims", type=int, nargs=4, default=[16, 16, 8, 20], metavar=("X", "Y", "Z", "T"))
    ap.add_argument("--voxel", type=float, nargs=3, default=[3.0, 3.0, 3.5], metavar=("DX", "DY", "DZ"))
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="int16")
    ap.add_argument("--tr", type=float, default=1.5, help="seconds; 0 leaves pixdim[4] at 0")
    ap.add_argument("--time-unit", choices=["sec", "msec", "unknown"], default="sec")
    ap.add_argument("--nifti2", action="store_true", help="write NIfTI-2 instead of NIfTI-1")
    ap.add_argument("--expected", help="write the values a reader must get (.npy)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    dtype = DTYPES[a.dtype]
    data = synthetic(a.dims, a.seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        data[0, 0, 0, 0], data[-1, -1, -1, -1] = data.max() * 1.01, data.min() - 10.0
        if a.dtype == "uint16":
            data = data * 50.0  # reach past 32767, where a signed reading would go wrong
        elif a.dtype == "int32":
            data = data * 1e5 - 4e7  # negative and large
    else:
        data = (data * 1.0001).astype(dtype)  # float64 keeps digits float32 cannot hold

    affine = np.array([[-a.voxel[0], 0, 0, 90], [0, a.voxel[1], 0, -126], [0, 0, a.voxel[2], -72], [0, 0, 0, 1]])
    cls = nib.Nifti2Image if a.nifti2 else nib.Nifti1Image
    img = cls(data, affine)
    img.header.set_data_dtype(dtype)  # nibabel chooses scl_slope/scl_inter for integer types
    tr_zoom = a.tr * 1000.0 if a.time_unit == "msec" else a.tr
    img.header.set_zooms(tuple(a.voxel) + (tr_zoom,))
    img.header.set_xyzt_units("mm", {"sec": "sec", "msec": "msec", "unknown": "unknown"}[a.time_unit])
    nib.save(img, a.out)

    if a.expected:
        back = nib.load(a.out)
        x, y, z, t = back.shape
        values = np.asarray(back.get_fdata(), dtype=np.float64).astype(np.float32)
        # The documented formula, from the stored integers: must agree with nibabel exactly.
        raw = np.asanyarray(back.dataobj.get_unscaled()).astype(np.float64)
        slope = 1.0 if back.dataobj.slope is None else float(back.dataobj.slope)
        inter = 0.0 if back.dataobj.inter is None else float(back.dataobj.inter)
        formula = (raw * slope + inter).astype(np.float32)
        assert np.array_equal(values, formula), "nibabel disagrees with float32(raw * slope + inter)"
        per_volume = values.reshape(x * y * z, t, order="F").T  # (t, voxels), x fastest
        np.save(a.expected, np.ascontiguousarray(per_volume, dtype=np.float32))
    print(f"{a.out}: {a.dims} {a.dtype} TR {a.tr} s")


if __name__ == "__main__":
    main()

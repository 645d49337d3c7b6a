#!/usr/bin/python3
"""The reference for HYPER-RT's Siemens mosaic reader: what dcm2niix and nibabel.nicom make
of the same DICOM file, compared with what HYPER-RT read (its voxels and its affine).

  check_dicom_geometry.py FILE.dcm OURS_AFFINE.npy OURS_DATA.npy NX NY NZ

OURS_AFFINE: 4x4 RAS+ affine of voxel (i, j, k); OURS_DATA: the voxels, x fastest.
Prints JSON: the largest distance in mm between each voxel's world position by our affine
and by the reference's (dcm2niix: the same voxel found by its value's position; nibabel:
its wrapper's (row, column, slice) = our (j, i, k) in LPS), and whether the values agree.
"""
import json
import os
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np
from nibabel.nicom import dicomwrappers

path, aff_path, data_path = sys.argv[1:4]
nx, ny, nz = (int(v) for v in sys.argv[4:7])
ours_aff = np.load(aff_path).reshape(4, 4)
ours = np.load(data_path).reshape((nx, ny, nz), order="F")
ijk = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij"), -1).reshape(-1, 3)
world = (ours_aff @ np.c_[ijk, np.ones(len(ijk))].T).T[:, :3]
flip = np.diag([-1.0, -1.0, 1.0])

# dcm2niix: each of our voxels, by our affine, must land on a voxel of its image holding the same value.
with tempfile.TemporaryDirectory() as tmp:
    os.symlink(os.path.abspath(path), os.path.join(tmp, "in.dcm"))
    subprocess.run(["dcm2niix", "-s", "y", "-z", "n", "-b", "n", "-f", "out", "-o", tmp, os.path.join(tmp, "in.dcm")],
                   check=True, capture_output=True)
    img = nib.load(os.path.join(tmp, "out.nii"))
    d_data = np.asanyarray(img.dataobj).reshape(img.shape[:3])
    d_vox = (np.linalg.inv(img.affine) @ np.c_[world, np.ones(len(world))].T).T[:, :3]
d_idx = np.rint(d_vox).astype(int)
inside = np.all((d_idx >= 0) & (d_idx < np.array(d_data.shape)), axis=1)
d_mm = float(np.max(np.abs(d_vox - d_idx) * np.array(img.header.get_zooms()[:3]))) if inside.all() else float("inf")
d_equal = bool(inside.all() and np.array_equal(d_data[tuple(d_idx.T)], ours.reshape(-1, order="C")[np.ravel_multi_index(ijk.T, (nx, ny, nz))]))

# nibabel.nicom: its array is (row j, column i, slice k), its affine LPS.
w = dicomwrappers.wrapper_from_file(path)
n_aff = w.affine
n_world = (flip @ (n_aff @ np.c_[ijk[:, [1, 0, 2]], np.ones(len(ijk))].T)[:3]).T
n_mm = float(np.max(np.linalg.norm(n_world - world, axis=1)))
n_data = w.get_data()
n_equal = bool(np.array_equal(n_data.transpose(1, 0, 2), ours))
print(json.dumps({"dcm2niix_mm": d_mm, "dcm2niix_values_equal": d_equal, "nibabel_mm": n_mm, "nibabel_values_equal": n_equal}))

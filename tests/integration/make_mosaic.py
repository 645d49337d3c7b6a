#!/usr/bin/python3
"""Writes a 4D NIfTI run as Siemens real-time-export mosaic DICOMs (one file per volume,
as VB/VD/VE scanners write them), for tests of the DICOM input path. Debian's python3
with python3-pydicom, numpy and nibabel; prints nothing on success.

  make_mosaic.py RUN.nii[.gz] OUT_DIR [--series N] [--first K] [--count C] [--tr-ms MS]

NIfTI volume v becomes OUT_DIR/001_{N:06d}_{v+1:06d}.dcm (Acquisition/InstanceNumber v+1).
Layout: tiles = ceil(sqrt(nz)) per side; slice k fills tile (row k // tiles, column
k % tiles); inside a tile, pixel (row r, column c) = voxel (i=c, j=r, k). Values are
rounded and clipped to uint16. A BIDS sidecar RUN.json, if present, supplies EchoTime
and SliceTiming (-> CSA MosaicRefAcqTimes).
Geometry (DICOM LPS = diag(-1,-1,1) @ NIfTI RAS, A = NIfTI affine):
  ImageOrientationPatient = [unit(A[:,0]) ; unit(A[:,1])] in LPS (row cosine = +c = +i,
  column cosine = +r = +j), PixelSpacing = [|A[:,1]|, |A[:,0]|] (row spacing first),
  CSA SliceNormalVector = unit(A[:,2]) in LPS (slices ascend along it; it is
  -cross(row, col) when A is left-handed, as in Siemens sagittal mosaics), and
  ImagePositionPatient = the mosaic's top-left pixel, i.e. slice 0's voxel (0,0) moved by
  -rowcos*dx*(Columns-nx)/2 - colcos*dy*(Rows-ny)/2 (the shift dcm2niix/nibabel undo).
"""
import argparse
import json
import math
import os
import struct
import sys

import nibabel as nib
import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import format_number_as_ds

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
LPS = np.diag([-1.0, -1.0, 1.0])


def ds(values):
    # DS is limited to 16 characters; pydicom picks the most precise form that fits
    return [format_number_as_ds(float(v)) for v in values]


def csa(tags):
    """Siemens CSA2 ("SV10") block. tags: (name, vr, syngo_dt, vm, [values as text]).
    Like the scanner: item = 4 int32 (len, len, 77, len) + text with its NUL, padded to 4
    bytes; items per tag a multiple of 6 (GDCM asserts it), unused ones (0, 0, 205, 0)."""
    out = [b"SV10\x04\x03\x02\x01", struct.pack("<2I", len(tags), 77)]
    for name, vr, dt, vm, vals in tags:
        n = 6 * max(1, -(-len(vals) // 6))
        out.append(struct.pack("<64si4s3i", name.encode(), vm, vr.encode(), dt, n,
                               77 if vals else 205))
        for v in vals:
            b = v.encode() + b"\0"
            out.append(struct.pack("<4i", len(b), len(b), 77, len(b)) + b + b"\0" * (-len(b) % 4))
        out += [struct.pack("<4i", 0, 0, 205, 0)] * (n - len(vals))
    return b"".join(out)


def tm(seconds):
    h, rest = divmod(seconds, 3600)
    return "%02d%02d%09.6f" % (h % 24, rest // 60, rest % 60)


def fail(msg):
    sys.exit(os.path.basename(sys.argv[0]) + ": error: " + msg)


def load_run(path):
    """The NIfTI and its shape as 4D (a 3D file is one volume)."""
    try:
        img = nib.load(path)
    except Exception as e:  # nibabel raises several types for missing/corrupt files
        fail(f"cannot read {path}: {e}")
    shape = img.shape + (1,) * (4 - len(img.shape))
    if len(shape) != 4:
        fail(f"{path} has shape {img.shape}; need 3D or 4D")
    return img, shape


def new_file(sop_class, nifti, series, vol):
    """An empty DICOM file (explicit VR little endian) with its meta; the SOP instance UID is
    deterministic, from the source, the series and the volume."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[os.path.abspath(nifti), "sop", str(series), str(vol)])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    d = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    d.is_little_endian, d.is_implicit_VR = True, False
    d.SOPClassUID, d.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    return d


def save(d, out_dir, series, vol):
    """As the real-time export names it; written then renamed, so a folder watcher never sees half a file."""
    path = os.path.join(out_dir, "001_%06d_%06d.dcm" % (series, vol))
    d.save_as(path + ".part", write_like_original=False)
    os.replace(path + ".part", path)


def header_tr_ms(img):
    """pixdim[4] in the header's time unit (BIDS: seconds), in ms; 0 when absent."""
    scale = {"msec": 1.0, "usec": 1e-3}.get(img.header.get_xyzt_units()[1], 1000.0)
    return float(img.header["pixdim"][4]) * scale


def grid(affine):
    """Voxel sizes and the LPS directions of i, j, k (DICOM carries only an orthogonal grid)."""
    m = LPS @ affine[:3, :3]
    vox = np.linalg.norm(m, axis=0)
    if not np.all(vox > 0):
        fail("affine has a zero-length axis")
    rot = m / vox
    if np.abs(rot.T @ rot - np.eye(3)).max() > 1e-4:
        fail("affine is sheared (axes not orthogonal); DICOM cannot represent it")
    return vox, rot.T


def as_uint16(data):
    return np.clip(np.rint(np.nan_to_num(data)), 0, 65535).astype("<u2")


def series_uids(nifti, series):
    """Deterministic UIDs, so that several calls form one series: study, series, frame of reference."""
    src = os.path.abspath(nifti)
    return (generate_uid(entropy_srcs=[src, "study"]), generate_uid(entropy_srcs=[src, "series", str(series)]),
            generate_uid(entropy_srcs=[src, "frame"]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("nifti")
    p.add_argument("out_dir")
    p.add_argument("--series", type=int, default=1)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--count", type=int)
    p.add_argument("--tr-ms", type=float)
    a = p.parse_args()

    img, shape = load_run(a.nifti)
    nx, ny, nz, nt = shape
    count = nt - a.first if a.count is None else a.count
    if nz < 2:
        fail("a mosaic needs at least 2 slices")
    if not (0 <= a.first < nt and count >= 1 and a.first + count <= nt):
        fail(f"--first {a.first} --count {count} outside the run's {nt} volumes")
    if not 1 <= a.series <= 999999:
        fail("--series must be in 1..999999")

    # TR: pixdim[4] in the header's time unit (BIDS: seconds)
    tr = a.tr_ms if a.tr_ms is not None else header_tr_ms(img)
    if not tr > 0:
        fail("no TR in the NIfTI header (pixdim[4]); pass --tr-ms")
    sidecar = {}
    base = a.nifti[:-7] if a.nifti.endswith(".nii.gz") else os.path.splitext(a.nifti)[0]
    if os.path.exists(base + ".json"):
        with open(base + ".json") as f:
            sidecar = json.load(f)
    te = 1000.0 * float(sidecar.get("EchoTime", 0.030))
    slice_times = [1000.0 * float(t) for t in sidecar.get("SliceTiming", [])]
    if slice_times and len(slice_times) != nz:
        fail(f"sidecar SliceTiming has {len(slice_times)} entries for {nz} slices")

    # A mosaic can only carry an orthogonal grid: 3 spacings + 3 orthonormal directions
    vox, (rowcos, colcos, normal) = grid(img.affine)
    tiles = math.ceil(math.sqrt(nz))
    rows, cols = tiles * ny, tiles * nx
    if rows > 65535 or cols > 65535:
        fail("mosaic too large")
    ipp = (LPS @ img.affine[:3, 3] - rowcos * vox[0] * (cols - nx) / 2
           - colcos * vox[1] * (rows - ny) / 2)

    data = np.asanyarray(img.dataobj).reshape(shape)[..., a.first:a.first + count]
    data = as_uint16(data)
    bits = 12 if data.max() < 4096 else 16  # Siemens stores 12 bits when values allow
    study_uid, series_uid, frame_uid = series_uids(a.nifti, a.series)

    csa_tags = [
        ("NumberOfImagesInMosaic", "US", 10, 1, ["%-8d" % nz]),
        ("SliceNormalVector", "FD", 4, 3, ["%.8f" % v for v in normal]),
        ("ProtocolSliceNumber", "IS", 6, 1, ["0       "]),
        # nibabel treats a file as a mosaic only if this one is present too
        ("AcquisitionMatrixText", "SH", 22, 1, ["%dp*%d" % (ny, nx)]),
    ]
    if slice_times:
        csa_tags.append(("MosaicRefAcqTimes", "FD", 4, 0, ["%.8f" % t for t in slice_times]))
    csa_image = csa(csa_tags)
    # Minimal protocol: no sSliceArray.ucImageNumb* key, i.e. slices stored ascending
    phoenix = ("### ASCCONV BEGIN ###\n"
               f"sSliceArray.lSize = {nz}\nsKSpace.lBaseResolution = {nx}\n"
               f"sKSpace.lPhaseEncodingLines = {ny}\nalTR[0] = {round(tr * 1000)}\n"
               f"alTE[0] = {round(te * 1000)}\n### ASCCONV END ###\n")
    csa_series = csa([("MrPhoenixProtocol", "UN", 0, 1, [phoenix])])

    os.makedirs(a.out_dir, exist_ok=True)
    t0 = 12 * 3600.0  # acquisition clock: 12:00:00 at volume 1
    for n in range(count):
        vol = a.first + n + 1
        mosaic = np.zeros((rows, cols), "<u2")
        for k in range(nz):
            r0, c0 = (k // tiles) * ny, (k % tiles) * nx
            mosaic[r0:r0 + ny, c0:c0 + nx] = data[:, :, k, n].T  # rows follow j, columns i

        d = new_file(MR_IMAGE_STORAGE, a.nifti, a.series, vol)
        acq = tm(t0 + (vol - 1) * tr / 1000.0)
        d.SpecificCharacterSet = "ISO_IR 100"
        d.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND", "NORM", "MOSAIC"]
        d.StudyDate = d.SeriesDate = d.AcquisitionDate = d.ContentDate = "20240101"
        d.StudyTime = d.SeriesTime = tm(t0 - 60)
        d.AcquisitionTime = d.ContentTime = acq
        d.Modality = "MR"
        d.Manufacturer = "SIEMENS"
        d.ManufacturerModelName = "Prisma_fit"
        d.SoftwareVersions = "syngo MR E11"
        d.SeriesDescription = d.ProtocolName = "hyper_mosaic"
        d.PatientName, d.PatientID = "HYPER^TEST", "hyper-test"
        d.ScanningSequence, d.SequenceVariant = "EP", ["SK", "SS"]
        d.MRAcquisitionType = "2D"
        d.SequenceName = "epfid2d1_%d" % nx
        d.SliceThickness = ds([vox[2]])[0]
        d.SpacingBetweenSlices = ds([vox[2]])[0]
        d.RepetitionTime = ds([tr])[0]
        d.EchoTime = ds([te])[0]
        d.EchoNumbers = 1
        d.MagneticFieldStrength = "3"
        d.AcquisitionMatrix = [nx, 0, 0, ny]
        d.InPlanePhaseEncodingDirection = "COL"
        d.FlipAngle = "90"
        d.PatientPosition = "HFS"
        d.StudyInstanceUID, d.SeriesInstanceUID = study_uid, series_uid
        d.FrameOfReferenceUID = frame_uid
        d.StudyID = "1"
        d.SeriesNumber = a.series
        d.AcquisitionNumber = d.InstanceNumber = vol
        d.ImagePositionPatient = ds(ipp)
        d.ImageOrientationPatient = ds(np.concatenate([rowcos, colcos]))
        d.SamplesPerPixel = 1
        d.PhotometricInterpretation = "MONOCHROME2"
        d.Rows, d.Columns = rows, cols
        d.PixelSpacing = ds([vox[1], vox[0]])  # [between rows (j), between columns (i)]
        d.BitsAllocated, d.BitsStored, d.HighBit = 16, bits, bits - 1
        d.PixelRepresentation = 0
        # Private blocks at element 0x10, where dcm2niix and nibabel look for them
        d.add_new(0x00190010, "LO", "SIEMENS MR HEADER")
        d.add_new(0x00191008, "CS", "IMAGE NUM 4")
        d.add_new(0x0019100A, "US", nz)
        if slice_times:
            d.add_new(0x00191029, "FD", slice_times)
        d.add_new(0x00290010, "LO", "SIEMENS CSA HEADER")
        d.add_new(0x00291008, "CS", "IMAGE NUM 4")
        d.add_new(0x00291009, "LO", "20240101")
        d.add_new(0x00291010, "OB", csa_image)
        d.add_new(0x00291018, "CS", "MR")
        d.add_new(0x00291019, "LO", "20240101")
        d.add_new(0x00291020, "OB", csa_series)
        d.add_new(0x00510010, "LO", "SIEMENS MR HEADER")
        d.add_new(0x0051100B, "SH", "%dp*%d" % (ny, nx))
        d.add_new(0x00511016, "LO", "p2 M/ND/NORM/MOSAIC")
        d.add_new(0x7FE00010, "OW", mosaic.tobytes())

        save(d, a.out_dir, a.series, vol)


if __name__ == "__main__":
    main()

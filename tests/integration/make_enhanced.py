#!/usr/bin/python3
"""Writes a 4D NIfTI run as Siemens XA-style Enhanced MR Image Storage DICOMs (one
multi-frame file per volume, one frame per slice, as XA real-time export writes them),
for tests of the DICOM input path. Debian's python3 with python3-pydicom, numpy and
nibabel; prints nothing on success.

  make_enhanced.py RUN.nii[.gz] OUT_DIR [--series N] [--count C]

NIfTI volume v becomes OUT_DIR/001_{N:06d}_{v+1:06d}.dcm (InstanceNumber v+1).
Frame k = slice k; in a frame, pixel (row r, column c) = voxel (i=c, j=r, k). Values are
rounded and clipped to uint16.
Geometry (DICOM LPS = diag(-1,-1,1) @ NIfTI RAS, A = NIfTI affine):
  Shared PlaneOrientationSequence ImageOrientationPatient = [unit(A[:,0]) ; unit(A[:,1])]
  in LPS (row cosine = +c = +i, column cosine = +r = +j);
  Shared PixelMeasuresSequence PixelSpacing = [|A[:,1]|, |A[:,0]|] (row spacing first),
  SliceThickness = SpacingBetweenSlices = |A[:,2]|;
  per frame k PlanePositionSequence ImagePositionPatient = LPS @ (A @ [0,0,k,1]), so the
  slice direction is (IPP[last] - IPP[0]) / (nz-1), which may be -cross(row, col) when A
  is left-handed.
"""
import argparse
import os

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from make_mosaic import LPS, as_uint16, ds, fail, grid, header_tr_ms, load_run, new_file, save, series_uids, tm  # noqa: E402 (this folder)

ENHANCED_MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"

# Attribute tags used as dimension indices
STACK_ID = 0x00209056
IN_STACK_POS = 0x00209057
FRAME_CONTENT_SEQ = 0x00209111


def item(**kw):
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("nifti")
    p.add_argument("out_dir")
    p.add_argument("--series", type=int, default=1)
    p.add_argument("--count", type=int)
    a = p.parse_args()

    img, shape = load_run(a.nifti)
    nx, ny, nz, nt = shape
    count = nt if a.count is None else a.count
    if not 1 <= count <= nt:
        fail(f"--count {count} outside the run's {nt} volumes")
    if not 1 <= a.series <= 999999:
        fail("--series must be in 1..999999")
    if nx > 65535 or ny > 65535:
        fail("slice too large")

    # TR: pixdim[4] in the header's time unit (BIDS: seconds)
    tr = header_tr_ms(img) or 2000.0
    te = 30.0

    A = img.affine
    vox, (rowcos, colcos, _) = grid(A)
    positions = [LPS @ (A @ [0.0, 0.0, k, 1.0])[:3] for k in range(nz)]

    data = np.asanyarray(img.dataobj).reshape(shape)[..., :count]
    data = as_uint16(data)
    bits = 12 if data.max() < 4096 else 16
    study_uid, series_uid, frame_uid = series_uids(a.nifti, a.series)
    dim_uid = generate_uid(entropy_srcs=[os.path.abspath(a.nifti), "dimension"])

    # Shared functional groups (same for all frames and volumes)
    shared = item(
        PixelMeasuresSequence=Sequence([item(
            PixelSpacing=ds([vox[1], vox[0]]),  # [between rows (j), between columns (i)]
            SliceThickness=ds([vox[2]])[0],
            SpacingBetweenSlices=ds([vox[2]])[0])]),
        PlaneOrientationSequence=Sequence([item(
            ImageOrientationPatient=ds(np.concatenate([rowcos, colcos])))]),
        MRTimingAndRelatedParametersSequence=Sequence([item(
            RepetitionTime=tr, FlipAngle=90.0, EchoTrainLength=1,
            RFEchoTrainLength=1, GradientEchoTrainLength=1)]),
        MREchoSequence=Sequence([item(EffectiveEchoTime=te)]),
        MRFOVGeometrySequence=Sequence([item(
            InPlanePhaseEncodingDirection="COLUMN", MRAcquisitionFrequencyEncodingSteps=nx,
            MRAcquisitionPhaseEncodingStepsInPlane=ny)]),
        MRModifierSequence=Sequence([item(
            InversionRecovery="NO", FlowCompensation="NONE", Spoiling="NONE",
            T2Preparation="NO", SpectrallySelectedExcitation="NONE",
            SpatialPresaturation="NONE", PartialFourier="NO", ParallelAcquisition="NO")]),
        PixelValueTransformationSequence=Sequence([item(
            RescaleIntercept="0", RescaleSlope="1", RescaleType="US")]),
    )

    os.makedirs(a.out_dir, exist_ok=True)
    t0 = 12 * 3600.0  # acquisition clock: 12:00:00 at volume 1
    for v in range(count):
        vol = v + 1
        acq_s = t0 + v * tr / 1000.0
        per_frame = []
        for k in range(nz):
            ts = "20240101" + tm(acq_s + k * tr / 1000.0 / nz)
            per_frame.append(item(
                FrameContentSequence=Sequence([item(
                    FrameAcquisitionNumber=vol,
                    FrameReferenceDateTime=ts, FrameAcquisitionDateTime=ts,
                    FrameAcquisitionDuration=tr / nz,
                    StackID="1", InStackPositionNumber=k + 1,
                    DimensionIndexValues=[1, k + 1])]),
                PlanePositionSequence=Sequence([item(
                    ImagePositionPatient=ds(positions[k]))]),
                MRImageFrameTypeSequence=Sequence([item(
                    FrameType=["ORIGINAL", "PRIMARY", "M", "NONE"],
                    PixelPresentation="MONOCHROME", VolumetricProperties="VOLUME",
                    VolumeBasedCalculationTechnique="NONE",
                    ComplexImageComponent="MAGNITUDE", AcquisitionContrast="UNKNOWN")]),
            ))

        d = new_file(ENHANCED_MR_IMAGE_STORAGE, a.nifti, a.series, vol)
        d.SpecificCharacterSet = "ISO_IR 100"
        d.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
        d.InstanceCreationDate, d.InstanceCreationTime = "20240101", tm(acq_s)
        d.StudyDate = d.SeriesDate = d.ContentDate = "20240101"
        d.StudyTime = d.SeriesTime = tm(t0 - 60)
        d.ContentTime = tm(acq_s)
        d.AcquisitionDateTime = "20240101" + tm(acq_s)
        d.Modality = "MR"
        d.Manufacturer = "SIEMENS"
        d.ManufacturerModelName = "MAGNETOM Vida"
        d.SoftwareVersions = "syngo MR XA30"
        d.SeriesDescription = d.ProtocolName = "hyper_enhanced"
        d.PatientName, d.PatientID = "HYPER^TEST", "hyper-test"
        d.PatientPosition = "HFS"
        d.StudyInstanceUID, d.SeriesInstanceUID = study_uid, series_uid
        d.FrameOfReferenceUID = frame_uid
        d.PositionReferenceIndicator = ""
        d.StudyID = "1"
        d.SeriesNumber = a.series
        d.InstanceNumber = vol
        d.AcquisitionNumber = vol
        d.ImageComments = ""
        # MR image / enhanced MR module attributes
        d.AcquisitionContrast = "UNKNOWN"
        d.PixelPresentation = "MONOCHROME"
        d.VolumetricProperties = "VOLUME"
        d.VolumeBasedCalculationTechnique = "NONE"
        d.ComplexImageComponent = "MAGNITUDE"
        d.ContentQualification = "PRODUCT"
        d.ResonantNucleus = "1H"
        d.MagneticFieldStrength = 3
        d.ImagingFrequency = 123.2
        d.MRAcquisitionType = "2D"
        d.EchoPulseSequence = "GRADIENT"
        d.PulseSequenceName = "epfid2d1_%d" % nx
        d.MultipleSpinEcho = "NO"
        d.MultiPlanarExcitation = "NO"
        d.PhaseContrast = "NO"
        d.TimeOfFlightContrast = "NO"
        d.SteadyStatePulseSequence = "NONE"
        d.EchoPlanarPulseSequence = "YES"
        d.SaturationRecovery = "NO"
        d.SpectrallySelectedSuppression = "NONE"
        d.OversamplingPhase = "NONE"
        d.GeometryOfKSpaceTraversal = "RECTILINEAR"
        d.SegmentedKSpaceTraversal = "SINGLE"
        d.RectilinearPhaseEncodeReordering = "LINEAR"
        d.NumberOfKSpaceTrajectories = 1
        d.KSpaceFiltering = "NONE"
        d.BurnedInAnnotation = "NO"
        d.LossyImageCompression = "00"
        d.PresentationLUTShape = "IDENTITY"
        # Multi-frame dimension module
        d.DimensionOrganizationSequence = Sequence([item(DimensionOrganizationUID=dim_uid)])
        d.DimensionIndexSequence = Sequence([
            item(DimensionOrganizationUID=dim_uid, DimensionIndexPointer=STACK_ID,
                 FunctionalGroupPointer=FRAME_CONTENT_SEQ, DimensionDescriptionLabel="Stack ID"),
            item(DimensionOrganizationUID=dim_uid, DimensionIndexPointer=IN_STACK_POS,
                 FunctionalGroupPointer=FRAME_CONTENT_SEQ,
                 DimensionDescriptionLabel="In-Stack Position Number"),
        ])
        d.SharedFunctionalGroupsSequence = Sequence([shared])
        d.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
        d.NumberOfFrames = nz
        d.SamplesPerPixel = 1
        d.PhotometricInterpretation = "MONOCHROME2"
        d.Rows, d.Columns = ny, nx
        d.BitsAllocated, d.BitsStored, d.HighBit = 16, bits, bits - 1
        d.PixelRepresentation = 0
        # frames in order k; within a frame rows follow j, columns i
        frames = np.ascontiguousarray(data[:, :, :, v].transpose(2, 1, 0))
        d.add_new(0x7FE00010, "OW", frames.tobytes())

        save(d, a.out_dir, a.series, vol)


if __name__ == "__main__":
    main()

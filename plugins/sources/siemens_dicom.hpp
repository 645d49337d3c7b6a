#pragma once
// One volume of Siemens' real-time export, read with GDCM and unpacked here: a mosaic DICOM
// (VB/VD/VE: one image of tiles) or an enhanced multi-frame DICOM (XA: one frame a slice).
// The affine is computed from the DICOM fields, as dcm2niix and nibabel do. A mosaic's
// ImagePositionPatient is its top-left pixel's, so its first slice lies (mosaic size - tile
// size) / 2 pixels further along the row and column directions; an enhanced file gives
// each frame's position in its per-frame functional groups.

#include <filesystem>
#include <string>
#include <variant>

#include "hyper/volume.hpp"

namespace hyper {

struct DicomVolume {
  int64_t series = 0;     // SeriesNumber
  int64_t instance = 0;   // InstanceNumber (1-based)
  double tr_s = 0;        // RepetitionTime / 1000; 0 when absent
  Volume volume;          // float32, voxel (i, j, k) = slice k's (tile or frame) column i, row j; the affine in RAS+
};

// The volume, or why not: "incomplete: ..." (a file still being written: try again),
// "not a mosaic: ..." or "unreadable: ..." (give up).
// Read in a child process: GDCM's aborts on malformed files (tools/fuzz) cost the volume,
// not the stream.
std::variant<DicomVolume, std::string> read_siemens_dicom(const std::filesystem::path& path);
// The same in this process (what the child runs).
std::variant<DicomVolume, std::string> read_siemens_dicom_here(const std::filesystem::path& path);

}  // namespace hyper

#pragma once
// One volume of Siemens' real-time export: a mosaic DICOM (VB/VD/VE), read with GDCM and
// unpacked here. The affine is computed from the DICOM fields, as dcm2niix and nibabel do:
// ImagePositionPatient of a mosaic is its top-left pixel's, so the first slice lies
// (mosaic size - tile size) / 2 pixels further along the row and column directions.

#include <filesystem>
#include <string>
#include <variant>

#include "hyper/volume.hpp"

namespace hyper {

struct DicomVolume {
  int64_t series = 0;     // SeriesNumber
  int64_t instance = 0;   // InstanceNumber (1-based)
  double tr_s = 0;        // RepetitionTime / 1000; 0 when absent
  Volume volume;          // float32, voxel (i, j, k) = tile k's column i, row j; the affine in RAS+
};

// The volume, or why not: "incomplete: ..." (a file still being written: try again),
// "not a mosaic: ..." or "unreadable: ..." (give up).
std::variant<DicomVolume, std::string> read_siemens_mosaic(const std::filesystem::path& path);

}  // namespace hyper

#pragma once
// One volume of Siemens' real-time export, read with GDCM and unpacked here: a mosaic DICOM
// (VB/VD/VE: one image of tiles) or an enhanced multi-frame DICOM (XA: one frame a slice).
// The affine is computed from the DICOM fields, as dcm2niix and nibabel do. A mosaic's
// ImagePositionPatient is its top-left pixel's, so its first slice lies (mosaic size - tile
// size) / 2 pixels further along the row and column directions; an enhanced file gives
// each frame's position in its per-frame functional groups.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
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

// The checks made here before GDCM sees a file (our own walk of its elements' VRs and
// lengths) and a Siemens CSA header (its items' counts and lengths): the reason a file is
// refused, or nothing. Exposed for tools/fuzz's dicom_walk target, which runs them in
// process, where libFuzzer sees their coverage (the dicom target's child hides it).
std::optional<std::string> dicom_unsafe_for_gdcm(std::string_view file_bytes);
std::optional<std::string> dicom_bad_csa(std::string_view csa_header);

}  // namespace hyper

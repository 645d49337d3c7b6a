#pragma once
// 4D NIfTI runs (NIfTI-1 and NIfTI-2, .nii or .nii.gz) through the nifti2 library.
// A run is held as the file's raw voxels (native byte order, NIfTI memory order) so that it
// can be published bit for bit; volume() converts one volume to float32 with the scaling.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "hyper/volume.hpp"

namespace hyper {

struct NiftiInfo {
  std::array<int64_t, 4> dims{0, 0, 0, 1};   // x, y, z, volumes
  std::array<double, 3> voxel_mm{1, 1, 1};
  // sform if its code is set, else qform if set, else diag(voxel size): nibabel's choice
  // except for the last case, where nibabel centres the grid.
  std::array<double, 16> affine{};
  double tr_s = 0;           // pixdim[4] converted to seconds; 0 when the header has none
  std::string time_unit;     // "s", "ms", "us" or "unknown" (read as seconds)
  DType dtype = DType::Float32;
  double slope = 1, inter = 0;  // scl_slope 0 means "no scaling" in NIfTI and reads as 1
  int version = 1;           // 1 or 2

  int64_t volume_voxels() const { return dims[0] * dims[1] * dims[2]; }
  size_t volume_bytes() const { return static_cast<size_t>(volume_voxels()) * dtype_size(dtype); }
};

struct NiftiRun {
  NiftiInfo info;
  // dims[3] volumes of volume_bytes() each, native byte order: the buffer the nifti2
  // library read into, taken over rather than copied (a run can be a gigabyte).
  std::unique_ptr<std::byte, void (*)(void*)> data{nullptr, std::free};

  std::span<const std::byte> volume_raw(int64_t t) const;
  Volume volume(int64_t t) const;  // float32, scaling applied
};

// Throws std::runtime_error naming the file and what is wrong with it.
NiftiInfo read_nifti_info(const std::filesystem::path& path);
NiftiRun read_nifti(const std::filesystem::path& path);

// Writes a NIfTI-1 file (gzipped when the name ends in .gz; 3D when dims[3] is 1) with sform and qform set from
// `info.affine` (code 1, scanner), spatial unit mm and time unit s. `raw` holds
// info.dims[3] volumes of info.dtype in native byte order.
void write_nifti(const std::filesystem::path& path, const NiftiInfo& info,
                 std::span<const std::byte> raw);

}  // namespace hyper

#pragma once
// One 3D fMRI volume as it flows through HYPER-RT.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hyper {

// Voxels are float32 in NIfTI memory order (x fastest, then y, then z), with any scanner
// scaling (scl_slope, scl_inter) already applied. Geometry is in millimetres; `affine`
// maps voxel (i, j, k, 1) to world coordinates (row-major 4x4, NIfTI sform/qform sense).
// A Volume is a plain value: not shared between threads without a hand-over.
struct Volume {
  std::array<int64_t, 3> dims{0, 0, 0};
  std::array<double, 3> voxel_mm{1.0, 1.0, 1.0};
  std::array<double, 16> affine{};
  std::vector<float> data;

  int64_t voxel_count() const { return dims[0] * dims[1] * dims[2]; }
  float at(int64_t x, int64_t y, int64_t z) const {
    return data[static_cast<std::size_t>(x + dims[0] * (y + dims[1] * z))];
  }
};

// The affine of a grid with no orientation information: diag(voxel size, 1).
std::array<double, 16> diagonal_affine(const std::array<double, 3>& voxel_mm);

}  // namespace hyper

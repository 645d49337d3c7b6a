#pragma once
// Gaussian smoothing of a 3D grid by three 1D convolutions (x, then y, then z), zero
// outside the grid: the same result as FftGaussian to float rounding, and faster for the
// kernels fMRI uses (README, "Preprocessing": the crossover measured). Each pass adds
// shifted copies of whole rows or planes, so the inner loops run over contiguous memory
// and vectorise. With a WorkPool the lines of each pass are shared by its threads (every
// value is computed the same way whichever thread does it). Not thread-safe: one owner.

#include <array>
#include <cstdint>
#include <vector>

#include "core/work_pool.hpp"

namespace hyper {

class SeparableGaussian {
 public:
  void initialize(const std::array<int64_t, 3>& dims, const std::array<double, 3>& voxel_mm, double fwhm_mm, double truncate = 4.0);
  // dst = src smoothed; src and dst hold dims[0]*dims[1]*dims[2] values and may be the same.
  void apply(const float* src, float* dst, WorkPool* pool = nullptr);
  // The largest kernel radius (voxels) over the three axes.
  int64_t radius() const;

 private:
  std::array<int64_t, 3> dims_{};
  std::array<std::vector<float>, 3> kernel_;
  std::vector<float> a_, b_;               // the passes' buffers
  std::vector<std::vector<float>> rows_;  // a padded row per chunk of the x pass
};

// The voxels within `r` of a flagged one along each axis (a (2r+1)^3 cube around each): what
// the smoothed values at the flagged voxels are computed from. `flags`: one per voxel of `dims`.
std::vector<uint8_t> dilate_cube(const std::vector<uint8_t>& flags, const std::array<int64_t, 3>& dims, int64_t r);

}  // namespace hyper

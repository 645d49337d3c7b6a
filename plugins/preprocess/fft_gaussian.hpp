#pragma once
// Gaussian smoothing of a 3D grid by FFT (FFTW, float, real-to-complex), planned once: the
// grid is zero-padded by the kernel's radius on every side, so nothing wraps around and the
// result equals a direct separable convolution with the same kernel, zero outside the grid.
// Used by the smooth and realign stages. Not thread-safe: one owner.

#include <fftw3.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace hyper {

// The kernel along one axis (sigma in voxels), truncated at `truncate` sigmas and
// normalised to sum 1.
std::vector<double> gaussian_kernel(double sigma_vox, double truncate);

class FftGaussian {
 public:
  FftGaussian() = default;
  ~FftGaussian();
  FftGaussian(const FftGaussian&) = delete;
  FftGaussian& operator=(const FftGaussian&) = delete;

  // Plans (FFTW_ESTIMATE: the same plan, so the same rounding, in every process) and computes
  // the kernel's spectrum.
  void initialize(const std::array<int64_t, 3>& dims, const std::array<double, 3>& voxel_mm, double fwhm_mm,
                  double truncate = 4.0);
  // dst = src smoothed; src and dst hold dims[0]*dims[1]*dims[2] values and may be the same.
  void apply(const float* src, float* dst);

 private:
  struct FftwFree {
    void operator()(void* p) const { fftwf_free(p); }
  };
  void destroy();

  std::array<int64_t, 3> dims_{}, radius_{}, n_{};
  std::unique_ptr<float, FftwFree> in_, out_;
  std::unique_ptr<fftwf_complex, FftwFree> spec_;
  std::vector<float> kernel_;
  fftwf_plan forward_ = nullptr, backward_ = nullptr;
};

}  // namespace hyper

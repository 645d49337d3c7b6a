#include "preprocess/fft_gaussian.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace hyper {

namespace {

// The smallest size >= n whose only prime factors are 2, 3, 5 and 7 (fast for FFTW).
int64_t fft_size(int64_t n) {
  for (int64_t m = n;; ++m) {
    int64_t r = m;
    for (int64_t p : {2, 3, 5, 7})
      while (r % p == 0) r /= p;
    if (r == 1) return m;
  }
}

}  // namespace

std::vector<double> gaussian_kernel(double sigma_vox, double truncate) {
  const auto radius = static_cast<int64_t>(std::ceil(truncate * sigma_vox));
  std::vector<double> k(static_cast<size_t>(2 * radius + 1));
  double sum = 0;
  for (int64_t i = -radius; i <= radius; ++i)
    sum += k[static_cast<size_t>(i + radius)] = std::exp(-0.5 * static_cast<double>(i * i) / (sigma_vox * sigma_vox));
  for (double& x : k) x /= sum;
  return k;
}

FftGaussian::~FftGaussian() { destroy(); }

void FftGaussian::destroy() {
  if (forward_) fftwf_destroy_plan(forward_);
  if (backward_) fftwf_destroy_plan(backward_);
  forward_ = backward_ = nullptr;
}

void FftGaussian::initialize(const std::array<int64_t, 3>& dims, const std::array<double, 3>& voxel_mm, double fwhm_mm,
                             double truncate) {
  destroy();
  dims_ = dims;
  const double sigma_mm = fwhm_mm / (2.0 * std::sqrt(2.0 * std::log(2.0)));
  std::array<std::vector<double>, 3> k;
  for (size_t a = 0; a < 3; ++a) {
    k[a] = gaussian_kernel(sigma_mm / voxel_mm[a], truncate);
    radius_[a] = static_cast<int64_t>(k[a].size() / 2);
    n_[a] = fft_size(dims_[a] + 2 * radius_[a]);
  }
  const size_t real = static_cast<size_t>(n_[0] * n_[1] * n_[2]);
  const size_t cplx = static_cast<size_t>((n_[0] / 2 + 1) * n_[1] * n_[2]);
  in_.reset(fftwf_alloc_real(real));
  out_.reset(fftwf_alloc_real(real));
  spec_.reset(fftwf_alloc_complex(cplx));
  kernel_.assign(cplx, 0.0f);
  // FFTW is row-major: (z, y, x) with x fastest is our NIfTI order; x is the halved axis.
  const int nz = static_cast<int>(n_[2]), ny = static_cast<int>(n_[1]), nx = static_cast<int>(n_[0]);
  // FFTW_ESTIMATE, not FFTW_MEASURE: a measured plan depends on the machine's load at start,
  // and two plans round differently (realigned volumes differed by 1e-4 between two runs of
  // the same file), which breaks online = offline and resume = uninterrupted.
  forward_ = fftwf_plan_dft_r2c_3d(nz, ny, nx, in_.get(), spec_.get(), FFTW_ESTIMATE);
  backward_ = fftwf_plan_dft_c2r_3d(nz, ny, nx, spec_.get(), out_.get(), FFTW_ESTIMATE);
  if (!forward_ || !backward_) throw std::runtime_error("FFTW could not plan the smoothing transforms");

  // The kernel's spectrum, once: the separable kernel centred on voxel 0, wrapped around.
  std::fill(in_.get(), in_.get() + real, 0.0f);
  for (int64_t z = -radius_[2]; z <= radius_[2]; ++z)
    for (int64_t y = -radius_[1]; y <= radius_[1]; ++y)
      for (int64_t x = -radius_[0]; x <= radius_[0]; ++x) {
        const int64_t i = ((x + n_[0]) % n_[0]) + n_[0] * (((y + n_[1]) % n_[1]) + n_[1] * ((z + n_[2]) % n_[2]));
        in_.get()[i] = static_cast<float>(k[0][static_cast<size_t>(x + radius_[0])] * k[1][static_cast<size_t>(y + radius_[1])] *
                                          k[2][static_cast<size_t>(z + radius_[2])]);
      }
  fftwf_execute(forward_);
  const float scale = 1.0f / static_cast<float>(real);  // FFTW's transforms are unnormalised
  for (size_t i = 0; i < cplx; ++i) kernel_[i] = spec_.get()[i][0] * scale;  // symmetric kernel: real spectrum
  std::fill(in_.get(), in_.get() + real, 0.0f);  // the padding stays zero from now on
}

void FftGaussian::apply(const float* src, float* dst) {
  const int64_t nx = dims_[0], ny = dims_[1], nz = dims_[2];
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      std::memcpy(in_.get() + radius_[0] + n_[0] * ((y + radius_[1]) + n_[1] * (z + radius_[2])), src + nx * (y + ny * z),
                  static_cast<size_t>(nx) * sizeof(float));
  fftwf_execute(forward_);
  fftwf_complex* s = spec_.get();
  for (size_t i = 0; i < kernel_.size(); ++i) {
    s[i][0] *= kernel_[i];
    s[i][1] *= kernel_[i];
  }
  fftwf_execute(backward_);
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      std::memcpy(dst + nx * (y + ny * z), out_.get() + radius_[0] + n_[0] * ((y + radius_[1]) + n_[1] * (z + radius_[2])),
                  static_cast<size_t>(nx) * sizeof(float));
}

}  // namespace hyper

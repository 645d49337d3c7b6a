#include "preprocess/separable_gaussian.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "preprocess/fft_gaussian.hpp"

namespace hyper {

void SeparableGaussian::initialize(const std::array<int64_t, 3>& dims, const std::array<double, 3>& voxel_mm, double fwhm_mm,
                                   double truncate) {
  dims_ = dims;
  const double sigma_mm = fwhm_mm / (2.0 * std::sqrt(2.0 * std::log(2.0)));
  for (size_t a = 0; a < 3; ++a) {
    const std::vector<double> k = gaussian_kernel(sigma_mm / voxel_mm[a], truncate);
    kernel_[a].assign(k.begin(), k.end());
  }
  const auto n = static_cast<size_t>(dims[0] * dims[1] * dims[2]);
  a_.assign(n, 0.0f);
  b_.assign(n, 0.0f);
  rows_.clear();
}

int64_t SeparableGaussian::radius() const {
  size_t r = 0;
  for (const auto& k : kernel_) r = std::max(r, k.size() / 2);
  return static_cast<int64_t>(r);
}

namespace {

// out[i] += w * in[i] over n values: the loop every pass is made of (vectorised).
inline void axpy(float* out, const float* in, float w, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] += w * in[i];
}

// One pass along an axis whose neighbours are `stride` values apart, for `lines` lines of
// `len` values each `line_step` apart, in blocks of `block` contiguous values (a row for y,
// a plane for z): out(p) = sum_t k[t] in(p + (t - r) stride), zero beyond the line's ends.
void pass(const float* in, float* out, const std::vector<float>& k, int64_t len, int64_t stride, int64_t block, int64_t lines,
          int64_t line_step) {
  const auto r = static_cast<int64_t>(k.size() / 2);
  for (int64_t l = 0; l < lines; ++l) {
    const float* src = in + l * line_step;
    float* dst = out + l * line_step;
    for (int64_t p = 0; p < len; ++p) {
      float* o = dst + p * stride;
      std::fill(o, o + block, 0.0f);
      for (int64_t t = std::max<int64_t>(-r, -p); t <= std::min<int64_t>(r, len - 1 - p); ++t)
        axpy(o, src + (p + t) * stride, k[static_cast<size_t>(t + r)], block);
    }
  }
}

}  // namespace

void SeparableGaussian::apply(const float* src, float* dst, WorkPool* pool) {
  const int64_t nx = dims_[0], ny = dims_[1], nz = dims_[2];
  WorkPool& p = pool ? *pool : WorkPool::of_this_thread(1);
  const int64_t chunks = p.map_chunks();
  const auto rx = static_cast<int64_t>(kernel_[0].size() / 2);
  rows_.resize(static_cast<size_t>(chunks));
  // x: each row copied between zeros, then the shifted copies added.
  p.run(chunks, [&](int64_t c) {
    std::vector<float>& padded = rows_[static_cast<size_t>(c)];
    padded.resize(static_cast<size_t>(nx + 2 * static_cast<int64_t>(kernel_[0].size())), 0.0f);
    const auto [first, last] = chunk_range(ny * nz, chunks, c);
    for (int64_t row = first; row < last; ++row) {
      std::memcpy(padded.data() + rx, src + row * nx, static_cast<size_t>(nx) * sizeof(float));
      float* o = a_.data() + row * nx;
      std::fill(o, o + nx, 0.0f);
      for (size_t t = 0; t < kernel_[0].size(); ++t) axpy(o, padded.data() + t, kernel_[0][t], nx);
    }
  });
  // y: whole rows within each plane (chunks of planes); z: whole planes (chunks of each plane).
  p.run(chunks, [&](int64_t c) {
    const auto [first, last] = chunk_range(nz, chunks, c);
    pass(a_.data() + first * nx * ny, b_.data() + first * nx * ny, kernel_[1], ny, nx, nx, last - first, nx * ny);
  });
  p.run(chunks, [&](int64_t c) {
    const auto [first, last] = chunk_range(nx * ny, chunks, c);
    pass(b_.data() + first, dst + first, kernel_[2], nz, nx * ny, last - first, 1, 0);
  });
}

std::vector<uint8_t> dilate_cube(const std::vector<uint8_t>& flags, const std::array<int64_t, 3>& dims, int64_t r) {
  // One axis at a time (a cube is the product of three segments): a voxel is flagged when
  // one within r along that axis was.
  std::vector<uint8_t> in = flags, out(flags.size());
  const int64_t stride[3] = {1, dims[0], dims[0] * dims[1]};
  for (int a = 0; a < 3; ++a) {
    const int64_t n = dims[static_cast<size_t>(a)], s = stride[a];
    for (int64_t v = 0; v < static_cast<int64_t>(in.size()); ++v) {
      const int64_t c = (v / s) % n;  // the voxel's coordinate along this axis
      uint8_t any = 0;
      for (int64_t d = std::max<int64_t>(-r, -c); d <= std::min<int64_t>(r, n - 1 - c) && !any; ++d) any = in[static_cast<size_t>(v + d * s)];
      out[static_cast<size_t>(v)] = any;
    }
    std::swap(in, out);
  }
  return in;
}

}  // namespace hyper

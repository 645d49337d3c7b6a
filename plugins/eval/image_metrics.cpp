#include "eval/image_metrics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace hyper {

Gray luminance(const std::vector<uint8_t>& rgb, int width, int height) {
  Gray g{width, height, std::vector<double>(static_cast<size_t>(width) * static_cast<size_t>(height))};
  for (size_t i = 0; i < g.v.size(); ++i)
    g.v[i] = (0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2]) / 255.0;
  return g;
}

Gray resize(const Gray& g, int width, int height) {
  Gray out{width, height, std::vector<double>(static_cast<size_t>(width) * static_cast<size_t>(height))};
  const double sx = static_cast<double>(g.width) / width, sy = static_cast<double>(g.height) / height;
  for (int y = 0; y < height; ++y) {
    const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, g.height - 1.0);
    const int y0 = static_cast<int>(fy), y1 = std::min(y0 + 1, g.height - 1);
    const double wy = fy - y0;
    for (int x = 0; x < width; ++x) {
      const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, g.width - 1.0);
      const int x0 = static_cast<int>(fx), x1 = std::min(x0 + 1, g.width - 1);
      const double wx = fx - x0;
      auto at = [&](int xx, int yy) { return g.v[static_cast<size_t>(yy) * static_cast<size_t>(g.width) + static_cast<size_t>(xx)]; };
      out.v[static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)] =
          (1 - wy) * ((1 - wx) * at(x0, y0) + wx * at(x1, y0)) + wy * ((1 - wx) * at(x0, y1) + wx * at(x1, y1));
    }
  }
  return out;
}

double pearson(const Gray& a, const Gray& b) {
  if (a.v.size() != b.v.size() || a.v.empty()) throw std::invalid_argument("pearson: images of different sizes");
  const double n = static_cast<double>(a.v.size());
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.v.size(); ++i) ma += a.v[i] / n, mb += b.v[i] / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.v.size(); ++i) {
    const double da = a.v[i] - ma, db = b.v[i] - mb;
    sab += da * db, saa += da * da, sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

namespace {
constexpr int kRadius = 5;  // 11 taps: sigma 1.5 truncated at 3.5 sigma, as scipy's gaussian_filter

// The Gaussian filter at pixels at least kRadius from every edge (the only ones SSIM keeps).
std::vector<double> smooth(const std::vector<double>& v, int w, int h) {
  std::array<double, 2 * kRadius + 1> k{};
  double sum = 0;
  for (int i = -kRadius; i <= kRadius; ++i) sum += k[static_cast<size_t>(i + kRadius)] = std::exp(-0.5 * i * i / (1.5 * 1.5));
  for (double& x : k) x /= sum;
  std::vector<double> tmp(v.size(), 0.0), out(v.size(), 0.0);
  for (int y = 0; y < h; ++y)
    for (int x = kRadius; x < w - kRadius; ++x) {
      double s = 0;
      for (int i = -kRadius; i <= kRadius; ++i) s += k[static_cast<size_t>(i + kRadius)] * v[static_cast<size_t>(y * w + x + i)];
      tmp[static_cast<size_t>(y * w + x)] = s;
    }
  for (int y = kRadius; y < h - kRadius; ++y)
    for (int x = kRadius; x < w - kRadius; ++x) {
      double s = 0;
      for (int i = -kRadius; i <= kRadius; ++i) s += k[static_cast<size_t>(i + kRadius)] * tmp[static_cast<size_t>((y + i) * w + x)];
      out[static_cast<size_t>(y * w + x)] = s;
    }
  return out;
}
}  // namespace

double ssim(const Gray& a, const Gray& b, double data_range) {
  if (a.width != b.width || a.height != b.height || a.v.size() != b.v.size())
    throw std::invalid_argument("ssim: images of different sizes");
  const int w = a.width, h = a.height;
  if (w < 2 * kRadius + 1 || h < 2 * kRadius + 1) throw std::invalid_argument("ssim: images under 11 x 11 pixels");
  std::vector<double> aa(a.v.size()), bb(a.v.size()), ab(a.v.size());
  for (size_t i = 0; i < a.v.size(); ++i) aa[i] = a.v[i] * a.v[i], bb[i] = b.v[i] * b.v[i], ab[i] = a.v[i] * b.v[i];
  const auto mu_a = smooth(a.v, w, h), mu_b = smooth(b.v, w, h);
  const auto e_aa = smooth(aa, w, h), e_bb = smooth(bb, w, h), e_ab = smooth(ab, w, h);
  const double c1 = std::pow(0.01 * data_range, 2), c2 = std::pow(0.03 * data_range, 2);
  double sum = 0;
  int n = 0;
  for (int y = kRadius; y < h - kRadius; ++y)
    for (int x = kRadius; x < w - kRadius; ++x, ++n) {
      const auto i = static_cast<size_t>(y * w + x);
      const double va = e_aa[i] - mu_a[i] * mu_a[i], vb = e_bb[i] - mu_b[i] * mu_b[i], cov = e_ab[i] - mu_a[i] * mu_b[i];
      sum += ((2 * mu_a[i] * mu_b[i] + c1) * (2 * cov + c2)) / ((mu_a[i] * mu_a[i] + mu_b[i] * mu_b[i] + c1) * (va + vb + c2));
    }
  return sum / n;
}

}  // namespace hyper

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

namespace {
// One output coordinate's input taps: first index and normalised weights.
struct Taps {
  int first = 0;
  std::vector<double> w;
};

// PIL's resampling coefficients for the triangle filter (support 1, widened by the shrink
// factor), the window cut at the image's edges and renormalised.
std::vector<Taps> triangle_taps(int in, int out) {
  const double scale = static_cast<double>(in) / out, widen = std::max(scale, 1.0);
  std::vector<Taps> taps(static_cast<size_t>(out));
  for (int o = 0; o < out; ++o) {
    const double centre = (o + 0.5) * scale;
    const int lo = std::max(static_cast<int>(centre - widen + 0.5), 0);
    const int hi = std::min(static_cast<int>(centre + widen + 0.5), in);
    Taps& t = taps[static_cast<size_t>(o)];
    t.first = lo;
    double sum = 0;
    for (int i = lo; i < hi; ++i) {
      const double x = std::abs((i - centre + 0.5) / widen);
      t.w.push_back(x < 1 ? 1 - x : 0.0);
      sum += t.w.back();
    }
    for (double& x : t.w) x = sum > 0 ? x / sum : 0.0;
  }
  return taps;
}
}  // namespace

Gray resize(const Gray& g, int width, int height) {
  if (width < 1 || height < 1 || g.width < 1 || g.height < 1) throw std::invalid_argument("resize: empty image");
  const auto tx = triangle_taps(g.width, width), ty = triangle_taps(g.height, height);
  // Rows first, then columns (separable).
  std::vector<double> rows(static_cast<size_t>(width) * static_cast<size_t>(g.height));
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < width; ++x) {
      const Taps& t = tx[static_cast<size_t>(x)];
      double s = 0;
      for (size_t k = 0; k < t.w.size(); ++k) s += t.w[k] * g.v[static_cast<size_t>(y * g.width + t.first) + k];
      rows[static_cast<size_t>(y * width + x)] = s;
    }
  Gray out{width, height, std::vector<double>(static_cast<size_t>(width) * static_cast<size_t>(height))};
  for (int y = 0; y < height; ++y) {
    const Taps& t = ty[static_cast<size_t>(y)];
    for (int x = 0; x < width; ++x) {
      double s = 0;
      for (size_t k = 0; k < t.w.size(); ++k) s += t.w[k] * rows[(static_cast<size_t>(t.first) + k) * static_cast<size_t>(width) + static_cast<size_t>(x)];
      out.v[static_cast<size_t>(y * width + x)] = s;
    }
  }
  return out;
}

std::vector<uint8_t> resize_rgb(const std::vector<uint8_t>& rgb, int width, int height, int to_width, int to_height) {
  std::vector<uint8_t> out(static_cast<size_t>(to_width) * static_cast<size_t>(to_height) * 3);
  for (int c = 0; c < 3; ++c) {
    Gray ch{width, height, std::vector<double>(static_cast<size_t>(width) * static_cast<size_t>(height))};
    for (size_t i = 0; i < ch.v.size(); ++i) ch.v[i] = rgb[3 * i + static_cast<size_t>(c)];
    const Gray r = resize(ch, to_width, to_height);
    for (size_t i = 0; i < r.v.size(); ++i) out[3 * i + static_cast<size_t>(c)] = static_cast<uint8_t>(std::clamp(std::lround(r.v[i]), 0L, 255L));
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

SsimImage prepare_ssim(const Gray& g) {
  if (g.width < 2 * kRadius + 1 || g.height < 2 * kRadius + 1) throw std::invalid_argument("ssim: images under 11 x 11 pixels");
  std::vector<double> sq(g.v.size());
  for (size_t i = 0; i < g.v.size(); ++i) sq[i] = g.v[i] * g.v[i];
  return {g, smooth(g.v, g.width, g.height), smooth(sq, g.width, g.height)};
}

double ssim(const Gray& a, const Gray& b, double data_range) { return ssim(prepare_ssim(a), prepare_ssim(b), data_range); }

double ssim(const SsimImage& a, const SsimImage& b, double data_range) {
  if (a.g.width != b.g.width || a.g.height != b.g.height || a.g.v.size() != b.g.v.size())
    throw std::invalid_argument("ssim: images of different sizes");
  const int w = a.g.width, h = a.g.height;
  std::vector<double> ab(a.g.v.size());
  for (size_t i = 0; i < ab.size(); ++i) ab[i] = a.g.v[i] * b.g.v[i];
  const auto e_ab = smooth(ab, w, h);
  const auto &mu_a = a.mu, &mu_b = b.mu, &e_aa = a.mean_sq, &e_bb = b.mean_sq;
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

double ssim_rgb_uniform(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int width, int height) {
  const auto n = static_cast<size_t>(width) * static_cast<size_t>(height);
  if (width < 7 || height < 7 || a.size() != 3 * n || b.size() != 3 * n)
    throw std::invalid_argument("ssim_rgb_uniform: two RGB images of the same size, at least 7 x 7");
  constexpr int r = 3, win = 7;
  constexpr double np_ = win * win, cov = np_ / (np_ - 1), c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
  const int w = width, h = height, ow = w - 2 * r, oh = h - 2 * r;  // the window centres scikit-image averages over
  // Window sums of x, y, xx, yy, xy: along rows into `rows` (w - 6 per row), then down the columns.
  std::vector<std::array<double, 5>> rows(static_cast<size_t>(h) * static_cast<size_t>(ow));
  double total = 0;
  for (int c = 0; c < 3; ++c) {
    for (int yy = 0; yy < h; ++yy) {
      std::array<double, 5> s{};
      auto add = [&](int xx, double sign) {
        const size_t i = 3 * (static_cast<size_t>(yy) * static_cast<size_t>(w) + static_cast<size_t>(xx)) + static_cast<size_t>(c);
        const double x = a[i], y = b[i];
        s[0] += sign * x, s[1] += sign * y, s[2] += sign * x * x, s[3] += sign * y * y, s[4] += sign * x * y;
      };
      for (int xx = 0; xx < win; ++xx) add(xx, 1);
      for (int xx = 0; xx < ow; ++xx) {
        rows[static_cast<size_t>(yy) * static_cast<size_t>(ow) + static_cast<size_t>(xx)] = s;
        if (xx + 1 < ow) add(xx, -1), add(xx + win, 1);
      }
    }
    double sum = 0;
    for (int xx = 0; xx < ow; ++xx) {
      std::array<double, 5> s{};
      auto at = [&](int yy) -> const std::array<double, 5>& { return rows[static_cast<size_t>(yy) * static_cast<size_t>(ow) + static_cast<size_t>(xx)]; };
      for (int yy = 0; yy < win; ++yy)
        for (int k = 0; k < 5; ++k) s[k] += at(yy)[k];
      for (int yy = 0; yy < oh; ++yy) {
        const double ux = s[0] / np_, uy = s[1] / np_;
        const double vx = cov * (s[2] / np_ - ux * ux), vy = cov * (s[3] / np_ - uy * uy), vxy = cov * (s[4] / np_ - ux * uy);
        sum += (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
        if (yy + 1 < oh)
          for (int k = 0; k < 5; ++k) s[k] += at(yy + win)[k] - at(yy)[k];
      }
    }
    total += sum / (static_cast<double>(ow) * static_cast<double>(oh));
  }
  return total / 3;
}

std::vector<uint8_t> resize_rgb_nearest(const std::vector<uint8_t>& rgb, int width, int height, int to_width, int to_height) {
  if (width < 1 || height < 1 || to_width < 1 || to_height < 1 ||
      rgb.size() != 3 * static_cast<size_t>(width) * static_cast<size_t>(height))
    throw std::invalid_argument("resize_rgb_nearest: an RGB image and a size of at least 1 x 1");
  auto sources = [](int in, int out) {  // PIL's affine_scale: xo = s/2, then xo += s per pixel
    std::vector<size_t> at(static_cast<size_t>(out));
    const double s = static_cast<double>(in) / out;
    double xo = s * 0.5;
    for (auto& a : at) a = static_cast<size_t>(std::min(static_cast<int>(xo), in - 1)), xo += s;
    return at;
  };
  const auto xs = sources(width, to_width), ys = sources(height, to_height);
  std::vector<uint8_t> out(3 * static_cast<size_t>(to_width) * static_cast<size_t>(to_height));
  size_t o = 0;
  for (size_t y : ys)
    for (size_t x : xs)
      for (size_t c = 0; c < 3; ++c) out[o++] = rgb[3 * (y * static_cast<size_t>(width) + x) + c];
  return out;
}

}  // namespace hyper

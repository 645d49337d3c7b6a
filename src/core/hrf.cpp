#include "core/hrf.hpp"

#include <algorithm>
#include <cmath>

namespace hyper {

namespace {
constexpr double kDt = 0.01;       // integration step, s
constexpr double kLength = 32.0;   // h is negligible after this, s

double gamma_pdf(double t, double shape) {  // scale 1
  return std::exp((shape - 1) * std::log(t) - t - std::lgamma(shape));
}

// Response at time `t` to a block starting at 0 lasting `duration`, unscaled.
double raw_block(double t, double duration) {
  double sum = 0;
  for (double s = 0.5 * kDt; s < duration; s += kDt) sum += canonical_hrf(t - s);
  return sum * kDt;
}

}  // namespace

double block_peak(double duration) {
  double peak = 0;
  for (double t = 0; t < kLength; t += 0.05) peak = std::max(peak, raw_block(t, duration));
  return peak;
}

double block_peak_delay(double duration) {
  int best = 0;
  double peak = -1;
  for (int k = 1; k < 800; ++k)
    if (const double r = raw_block(k * 0.05, duration); r > peak) peak = r, best = k;
  return 0.05 * best;
}

double canonical_hrf(double t) {
  if (t <= 0) return 0;
  return gamma_pdf(t, 6.0) - gamma_pdf(t, 16.0) / 6.0;
}

std::vector<double> block_response(double onset, double duration, double tr, int n, double scale) {
  std::vector<double> out(static_cast<size_t>(n), 0.0);
  for (int k = 0; k < n; ++k) {
    const double t = k * tr - onset;
    if (t <= 0 || t > kLength + duration) continue;
    out[static_cast<size_t>(k)] = raw_block(t, duration) * scale;
  }
  return out;
}

}  // namespace hyper

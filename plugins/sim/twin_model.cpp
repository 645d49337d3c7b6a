#include "sim/twin_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <stdexcept>

namespace hyper {

namespace {

constexpr double kPi = std::numbers::pi;

// A smooth random field: a sum of plane waves with wavelengths in [lo, hi] mm, unit variance.
struct SmoothField {
  std::vector<std::array<double, 4>> waves;  // kx, ky, kz, phase
  SmoothField(Rng& rng, int count, double lo, double hi) {
    for (int i = 0; i < count; ++i) {
      const double k = 2 * kPi / rng.uniform(lo, hi);
      double x = rng.normal(), y = rng.normal(), z = rng.normal();
      const double n = std::sqrt(x * x + y * y + z * z) + 1e-12;
      waves.push_back({k * x / n, k * y / n, k * z / n, rng.uniform(0, 2 * kPi)});
    }
  }
  double operator()(double x, double y, double z) const {
    double s = 0;
    for (const auto& w : waves) s += std::cos(w[0] * x + w[1] * y + w[2] * z + w[3]);
    return s * std::sqrt(2.0 / static_cast<double>(waves.size()));
  }
};


std::array<double, 16> centred_affine(const TwinConfig& c) {
  std::array<double, 3> v{c.voxel_mm, c.voxel_mm, c.voxel_mm};
  auto a = diagonal_affine(v);
  for (int i = 0; i < 3; ++i) a[static_cast<size_t>(i * 4 + 3)] = -0.5 * static_cast<double>(c.dims[static_cast<size_t>(i)] - 1) * c.voxel_mm;
  return a;
}

}  // namespace

Anatomy make_anatomy(const TwinConfig& c) {
  Anatomy a;
  Rng rng(c.seed, 0);
  a.affine = centred_affine(c);
  const auto [nx, ny, nz] = c.dims;
  a.n = nx * ny * nz;
  const double fov[3] = {static_cast<double>(nx) * c.voxel_mm, static_cast<double>(ny) * c.voxel_mm,
                         static_cast<double>(nz) * c.voxel_mm};
  const double axes[3] = {0.40 * fov[0], 0.44 * fov[1], 0.42 * fov[2]};
  const SmoothField shape(rng, 12, 60, 160), tissue(rng, 16, 25, 80), texture(rng, 24, 7, 14), phase(rng, 8, 40, 120);

  a.baseline.resize(static_cast<size_t>(a.n));
  a.brain.resize(static_cast<size_t>(a.n));
  a.physio_phase.resize(static_cast<size_t>(a.n));
  std::vector<double> dist;  // to the visual centre, brain voxels only
  std::vector<int64_t> brain_idx;
  const double vis[3] = {0.0, -0.72 * axes[1], -0.2 * axes[2]};  // posterior and low: occipital
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) {
        const int64_t v = i + nx * (j + ny * k);
        const double x = a.affine[0] * static_cast<double>(i) + a.affine[3];
        const double y = a.affine[5] * static_cast<double>(j) + a.affine[7];
        const double z = a.affine[10] * static_cast<double>(k) + a.affine[11];
        const double r = std::sqrt(x * x / (axes[0] * axes[0]) + y * y / (axes[1] * axes[1]) + z * z / (axes[2] * axes[2]));
        const double edge = 1.0 + 0.06 * shape(x, y, z);
        // Partial volume over about a voxel at the edge, so the brain has no aliased rim.
        const double inside = std::clamp((edge - r) * std::min({axes[0], axes[1], axes[2]}) / c.voxel_mm + 0.5, 0.0, 1.0);
        const double ventricles = std::exp(-(x * x / 64.0 + (y - 0.05 * axes[1]) * (y - 0.05 * axes[1]) / 400.0 +
                                             (z - 0.1 * axes[2]) * (z - 0.1 * axes[2]) / 100.0));
        const double tissue_value = 1000.0 * (1.0 + 0.12 * tissue(x, y, z)) * (1.0 - 0.5 * ventricles) +
                                    60.0 * texture(x, y, z);
        a.baseline[static_cast<size_t>(v)] = static_cast<float>(inside * tissue_value + (1 - inside) * 30.0);
        a.brain[static_cast<size_t>(v)] = inside > 0.5;
        a.physio_phase[static_cast<size_t>(v)] = kPi * phase(x, y, z);
        if (inside > 0.5) {
          brain_idx.push_back(v);
          dist.push_back(std::hypot(x - vis[0], y - vis[1], z - vis[2]));
          a.mean_brain += a.baseline[static_cast<size_t>(v)];
        }
      }
  if (brain_idx.empty()) throw std::runtime_error("twin: the grid is too small to hold a brain");
  a.mean_brain /= static_cast<double>(brain_idx.size());

  // The visual region: the brain voxels nearest the visual centre.
  const auto n_visual = static_cast<size_t>(std::max(1.0, std::round(c.visual_fraction * static_cast<double>(brain_idx.size()))));
  std::vector<size_t> order(brain_idx.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t p, size_t q) { return dist[p] < dist[q]; });
  for (size_t i = 0; i < n_visual; ++i) a.visual.push_back(brain_idx[order[i]]);
  std::sort(a.visual.begin(), a.visual.end());

  a.noise_sd = c.noise_pct / 100.0 * a.mean_brain;
  a.signal_sd = c.snr * a.noise_sd;
  Rng enc(c.seed, 1);
  a.gain.resize(n_visual);
  a.weights.resize(kLatentDim, static_cast<Eigen::Index>(n_visual));
  const double w_scale = 1.0 / std::sqrt(static_cast<double>(kLatentDim));  // z . w has unit variance
  for (size_t v = 0; v < n_visual; ++v) {
    a.gain[v] = static_cast<float>(enc.uniform(0.5, 1.5));
    for (int d = 0; d < kLatentDim; ++d) a.weights(d, static_cast<Eigen::Index>(v)) = static_cast<float>(enc.normal() * w_scale);
  }
  Rng lat(c.seed, 2);
  a.latents.resize(kTrainFaces + kTestFaces, kLatentDim);
  for (int r = 0; r < kTrainFaces + kTestFaces; ++r)
    for (int d = 0; d < kLatentDim; ++d) a.latents(r, d) = static_cast<float>(lat.normal());
  return a;
}


TwinScan::TwinScan(const TwinConfig& c, const Anatomy& a, int run, int volumes)
    : c_(c), a_(a), rng_(c.seed, 100 + static_cast<uint64_t>(run)), volumes_(volumes), as_int16_(c.dtype == "int16") {
  const auto n = static_cast<size_t>(a.n);
  // Drift: Legendre P1, P2 and one slow cosine per brain voxel, in % of its baseline.
  truth_.drift_period_s = rng_.uniform(100, 200);
  truth_.drift_phase = rng_.uniform(0, 2 * kPi);
  drift_.assign(n, {0, 0, 0});
  for (size_t v = 0; v < n; ++v)
    if (a.brain[v])
      for (auto& d : drift_[v]) d = static_cast<float>(rng_.normal() / std::sqrt(3.0) * c.drift_pct / 100.0);

  // Motion: a mean-reverting random walk with occasional jerks; the first volume is the reference.
  truth_.motion.resize(static_cast<size_t>(volumes), Motion{});
  const double deg = kPi / 180.0;
  for (int t = 1; t < volumes; ++t) {
    Motion m = truth_.motion[static_cast<size_t>(t - 1)];
    const bool jerk = rng_.uniform() < c.jerk_rate;
    for (int p = 0; p < 6; ++p) {
      const double step = p < 3 ? c.motion_step_mm : c.motion_step_deg * deg;
      const double kick = p < 3 ? c.jerk_mm : c.jerk_deg * deg;
      m[static_cast<size_t>(p)] = 0.99 * m[static_cast<size_t>(p)] + step * rng_.normal() + (jerk ? kick * rng_.normal() : 0.0);
    }
    truth_.motion[static_cast<size_t>(t)] = m;
  }
  // int16 scaling fixed up front from a generous bound, as a scanner fixes its own.
  truth_.slope = as_int16_ ? (1.5 * 1.12 * 1000.0 * 1.4 + 8 * a.noise_sd + 8 * a.signal_sd) / 32000.0 : 1.0;
  truth_.slope = static_cast<float>(truth_.slope);  // the header stores it as float32
  noise_.assign(n, 0.0);
  clean_.dims = c.dims;
  clean_.voxel_mm = {c.voxel_mm, c.voxel_mm, c.voxel_mm};
  clean_.affine = a.affine;
  clean_.data.resize(n);
}

void TwinScan::volume(int t, const float* signal, std::byte* raw, float* clean) {
  const auto n = static_cast<size_t>(a_.n);
  const int T = volumes_;
  const double ar_innov = std::sqrt(1 - c_.ar1 * c_.ar1);
  const int64_t slice = c_.dims[0] * c_.dims[1];
  const double tau = T > 1 ? 2.0 * t / (T - 1) - 1.0 : 0.0;
  const double p2 = 0.5 * (3 * tau * tau - 1);
  const double cw = std::cos(2 * kPi * t * c_.tr_s / truth_.drift_period_s + truth_.drift_phase);
  for (size_t v = 0; v < n; ++v) {
    const auto& d = drift_[v];
    clean_.data[v] = a_.baseline[v] * (1.0f + d[0] * static_cast<float>(tau) + d[1] * static_cast<float>(p2) + d[2] * static_cast<float>(cw));
  }
  for (size_t i = 0; i < a_.visual.size(); ++i) clean_.data[static_cast<size_t>(a_.visual[i])] += signal[i];
  if (clean) std::copy(clean_.data.begin(), clean_.data.end(), clean);

  if (!c_.noiseless && c_.physio_pct > 0) {
    const double w = 2 * kPi * c_.physio_hz * t * c_.tr_s;
    for (size_t v = 0; v < n; ++v)
      if (a_.brain[v]) clean_.data[v] += static_cast<float>(a_.baseline[v] * c_.physio_pct / 100.0 * std::sin(w + a_.physio_phase[v]));
  }
  const Motion& m = truth_.motion[static_cast<size_t>(t)];
  const bool still = std::all_of(m.begin(), m.end(), [](double x) { return x == 0.0; });
  const Volume* image = &clean_;
  if (!still) {
    resample_moved(clean_, m, moved_, 30.0f);
    image = &moved_;
  }
  int spike_slice = -1;
  if (!c_.noiseless && rng_.uniform() < c_.spike_rate) {
    spike_slice = static_cast<int>(rng_.below(static_cast<uint64_t>(c_.dims[2])));
    truth_.spikes.emplace_back(t, spike_slice);
  }
  for (size_t v = 0; v < n; ++v) {
    double value = image->data[v];
    if (!c_.noiseless) {
      noise_[v] = c_.ar1 * noise_[v] + ar_innov * a_.noise_sd * rng_.normal();
      value += noise_[v];
      if (spike_slice >= 0 && static_cast<int64_t>(v) / slice == spike_slice) value += c_.spike_pct / 100.0 * a_.mean_brain;
    }
    if (as_int16_) {
      double q = std::round(value / truth_.slope);
      if (q > 32767 || q < -32768) ++truth_.clipped, q = std::clamp(q, -32768.0, 32767.0);
      const auto s = static_cast<int16_t>(q);
      std::memcpy(raw + v * 2, &s, 2);
    } else {
      const auto f = static_cast<float>(value);
      std::memcpy(raw + v * 4, &f, 4);
    }
  }
}

}  // namespace hyper

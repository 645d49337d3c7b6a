// Per-stage cost of the preprocessing chain per volume, one core, and incremental
// detrending against a refit on the whole history at TR 100, 300 and 500. Prints Markdown.
//
//   hyper_bench_preprocess [--volumes 60] [--quick]
#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "core/chain.hpp"
#include "core/rigid.hpp"
#include "io/nifti.hpp"
#include "preprocess/fft_gaussian.hpp"
#include "preprocess/separable_gaussian.hpp"
#include "builtin.hpp"

using namespace hyper;
using Clock = std::chrono::steady_clock;

namespace {

// A brain-like phantom: a textured ellipsoid on a dark background, with noise.
Volume phantom(std::array<int64_t, 3> d, double vox, std::mt19937& rng) {
  Volume v;
  v.dims = d;
  v.voxel_mm = {vox, vox, vox};
  v.affine = diagonal_affine(v.voxel_mm);
  for (int a = 0; a < 3; ++a) v.affine[static_cast<size_t>(a * 4 + 3)] = -0.5 * static_cast<double>(d[static_cast<size_t>(a)] - 1) * vox;
  std::normal_distribution<float> noise(0, 20);
  v.data.resize(static_cast<size_t>(v.voxel_count()));
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const double x = (i - d[0] / 2.0) / (0.42 * d[0]), y = (j - d[1] / 2.0) / (0.44 * d[1]), z = (k - d[2] / 2.0) / (0.42 * d[2]);
        const bool in = x * x + y * y + z * z < 1;
        v.data[static_cast<size_t>(i + d[0] * (j + d[1] * k))] =
            (in ? 1000.0f + 150.0f * static_cast<float>(std::sin(i * vox / 9.0) * std::cos(j * vox / 7.0) * std::sin(k * vox / 8.0)) : 30.0f) +
            noise(rng);
      }
  return v;
}

// A mask of exactly n voxels: those nearest the centre.
std::string write_mask(const Volume& v, int64_t n, const std::string& path) {
  std::vector<std::pair<double, int64_t>> dist;
  const auto d = v.dims;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i)
        dist.emplace_back(std::hypot(i - d[0] / 2.0, j - d[1] / 2.0, k - d[2] / 2.0), i + d[0] * (j + d[1] * k));
  std::nth_element(dist.begin(), dist.begin() + n, dist.end());
  std::vector<float> m(static_cast<size_t>(v.voxel_count()), 0.0f);
  for (int64_t i = 0; i < n; ++i) m[static_cast<size_t>(dist[static_cast<size_t>(i)].second)] = 1;
  NiftiInfo info;
  info.dims = {d[0], d[1], d[2], 1};
  info.voxel_mm = v.voxel_mm;
  info.affine = v.affine;
  write_nifti(path, info, {reinterpret_cast<const std::byte*>(m.data()), m.size() * 4});
  return path;
}

void chain_row(const char* grid, std::array<int64_t, 3> d, double vox, int64_t mask_n, int volumes, std::mt19937& rng) {
  PartRegistry reg;
  register_builtin_stages(reg);
  Schema schema;
  reg.declare(schema);
  Settings st(schema);
  st.apply_assignment("preprocess.chain=[\"realign\", \"smooth\", \"mask\", \"detrend\", \"zscore\"]");
  st.apply_assignment("preprocess.detrend.order=3");
  st.apply_assignment("preprocess.smooth.fwhm_mm=6");
  const Volume base = phantom(d, vox, rng);
  st.apply_assignment("preprocess.mask.source=" + write_mask(base, mask_n, "/tmp/hyper_bench_mask.nii"));
  Chain chain(reg, st);
  chain.initialize(spec_of(base, 1.5));
  chain.start_run({"bench", 1.5, volumes});
  std::normal_distribution<double> small(0, 0.1);
  for (int t = 0; t < volumes; ++t) {
    Tr tr;
    tr.index = t;
    const Motion m{small(rng), small(rng), small(rng), small(rng) * 0.01, small(rng) * 0.01, small(rng) * 0.01};
    resample_moved(base, t == 0 ? Motion{} : m, tr.volume, 30.0f);
    chain.process(tr);
  }
  const auto t = chain.timings();
  std::printf("| %s | %lld |", grid, static_cast<long long>(mask_n));
  for (const auto& s : t) std::printf(" %.3f / %.3f |", s.p50, s.p99);
  std::printf(" %.3f |\n", t[2].p50 + t[3].p50 + t[4].p50);
  std::fflush(stdout);
}

// Detrend at TR t: the incremental stage's time for one volume vs a refit of all t volumes.
void refit_row(int t_end, Eigen::Index V) {
  PartRegistry reg;
  register_builtin_stages(reg);
  Schema schema;
  reg.declare(schema);
  Settings st(schema);
  st.apply_assignment("preprocess.chain=[\"detrend\"]");
  st.apply_assignment("preprocess.detrend.order=3");
  Chain chain(reg, st);
  Volume v;
  v.dims = {V, 1, 1};
  v.affine = diagonal_affine(v.voxel_mm);
  chain.initialize(spec_of(v, 1.5));
  chain.start_run({"bench", 1.5, 600});
  std::mt19937 rng(1);
  std::normal_distribution<float> n(1000, 10);
  Eigen::MatrixXf Y(t_end, V);
  for (int t = 0; t < t_end; ++t) {
    Tr tr;
    tr.index = t;
    tr.volume = v;
    tr.volume.data.resize(static_cast<size_t>(V));
    for (Eigen::Index i = 0; i < V; ++i) Y(t, i) = tr.volume.data[static_cast<size_t>(i)] = n(rng);
    chain.process(tr);
  }
  const double incremental = chain.timings()[0].p50;  // flat: the same work at every TR
  // The refit: least squares on the whole history, the newest residual.
  const auto t0 = Clock::now();
  Eigen::MatrixXd X(t_end, 4);
  for (int t = 0; t < t_end; ++t) {
    const double x = 2.0 * t / 599.0 - 1.0;
    X.row(t) << 1, x, 0.5 * (3 * x * x - 1), 0.5 * (5 * x * x * x - 3 * x);
  }
  const Eigen::MatrixXd beta = (X.transpose() * X).ldlt().solve(X.transpose() * Y.cast<double>());
  volatile double r = (Y.row(t_end - 1).cast<double>() - X.row(t_end - 1) * beta).sum();
  (void)r;
  const double refit = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  std::printf("| %d | %lld | %.3f ms | %.3f ms | %.1fx |\n", t_end, static_cast<long long>(V), incremental, refit,
              refit / incremental);
  std::fflush(stdout);
}

// Realignment variants on the phantom moved by known motions (up to 1 mm and 1 degree, a
// random walk as a head drifts): time per volume and error against the truth.
struct RealignResult {
  double p50, p99, err_mm, err_deg;
};
RealignResult realign_run(const std::vector<std::string>& set, int volumes, std::mt19937& rng) {
  PartRegistry reg;
  register_builtin_stages(reg);
  Schema schema;
  reg.declare(schema);
  Settings st(schema);
  st.apply_assignment("preprocess.chain=[\"realign\"]");
  for (const auto& a : set) st.apply_assignment(a);
  const Volume base = phantom({64, 64, 36}, 3.0, rng);
  Chain chain(reg, st);
  chain.initialize(spec_of(base, 1.5));
  chain.start_run({"bench", 1.5, volumes});
  std::normal_distribution<double> step(0, 0.15);
  Motion truth{};
  double err_mm = 0, err_deg = 0;
  for (int t = 0; t < volumes; ++t) {
    Tr tr;
    tr.index = t;
    if (t > 0)
      for (size_t k = 0; k < 6; ++k) truth[k] = std::clamp(truth[k] + step(rng) * (k < 3 ? 1.0 : M_PI / 180), -(k < 3 ? 1.0 : M_PI / 180), k < 3 ? 1.0 : M_PI / 180);
    resample_moved(base, truth, tr.volume, 30.0f);
    chain.process(tr);
    for (size_t k = 0; k < 6; ++k) (k < 3 ? err_mm : err_deg) += std::abs(tr.motion[k] - truth[k]) * (k < 3 ? 1.0 : 180 / M_PI);
  }
  const auto t = chain.timings();
  return {t[0].p50, t[0].p99, err_mm / (3.0 * volumes), err_deg / (3.0 * volumes)};
}

// Smoothing one volume: three 1D convolutions vs FFT, the same kernel (the smooth stage's
// `method = auto` picks direct up to the crossover these rows show).
void smooth_row(const char* grid, const Volume& v, double fwhm, int repeats) {
  SeparableGaussian direct;
  FftGaussian fft;
  direct.initialize(v.dims, v.voxel_mm, fwhm);
  fft.initialize(v.dims, v.voxel_mm, fwhm);
  std::vector<float> a(v.data.size()), b(v.data.size());
  auto best = [&](auto&& f) {
    double ms = 1e9;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = Clock::now();
      f();
      ms = std::min(ms, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    return ms;
  };
  const double t_direct = best([&] { direct.apply(v.data.data(), a.data()); });
  std::vector<float> a2(v.data.size());
  const double t_direct2 = best([&] { direct.apply(v.data.data(), a2.data(), &WorkPool::of_this_thread(2)); });
  if (a2 != a) std::printf("(2 threads gave other values: a bug)\n");
  const double t_fft = best([&] { fft.apply(v.data.data(), b.data()); });
  double diff = 0, top = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double(std::abs(a[i] - b[i]))), top = std::max(top, double(std::abs(b[i])));
  std::printf("| %s | %.0f | %lld | %.3f | %.3f | %.3f | %.2fx | %.1e |\n", grid, fwhm, static_cast<long long>(direct.radius()), t_direct,
              t_direct2, t_fft, t_fft / t_direct, diff / top);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int volumes = 60;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--volumes") && i + 1 < argc) volumes = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
  }
  Eigen::setNbThreads(1);
  std::mt19937 rng(3);
  std::printf("Per-stage time per volume, p50 / p99 in ms, default settings (realign and smooth: 2 threads), %d volumes (the first is "
              "realign's reference)\n\n", volumes);
  std::printf("| grid | mask voxels | realign | smooth (6 mm) | mask | detrend (order 3) | zscore | mask+detrend+zscore p50 |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  chain_row("64x64x36 at 3 mm", {64, 64, 36}, 3.0, 50000, volumes, rng);
  if (!quick) {
    chain_row("97x115x97 at 2 mm", {97, 115, 97}, 2.0, 50000, volumes, rng);
    chain_row("97x115x97 at 2 mm", {97, 115, 97}, 2.0, 200000, volumes, rng);
  }
  std::printf("\nRealignment variants, 64x64x36 at 3 mm, %d volumes of the phantom moved by a known random walk (up to 1 mm and 1 "
              "degree): time per volume (median of 3 rounds) and mean absolute error\n\n", volumes);
  std::printf("| variant | p50 ms | p99 ms | error mm | error degrees |\n|---|---|---|---|---|\n");
  const std::vector<std::pair<const char*, std::vector<std::string>>> realign_variants{
      {"default (strides 4 2 1, tolerance 1e-3, resample, 2 threads)", {}},
      {"one thread", {"preprocess.realign.threads=1"}},
      {"tolerance 1e-5 (the default before 2026-12-03)", {"preprocess.realign.tolerance=1e-5"}},
      {"tolerance 1e-4", {"preprocess.realign.tolerance=1e-4"}},
      {"finest lattice: the steepest half", {"preprocess.realign.finest_fraction=0.5"}},
      {"at most 2 iterations per level", {"preprocess.realign.iterations=2"}},
      {"at most 1 iteration per level", {"preprocess.realign.iterations=1"}},
      {"finest stride 2", {"preprocess.realign.finest_stride=2"}},
      {"finest stride 2, tolerance 1e-5", {"preprocess.realign.finest_stride=2", "preprocess.realign.tolerance=1e-5"}},
      {"estimate only (no resampling)", {"preprocess.realign.resample=false"}},
      {"estimate only, one thread", {"preprocess.realign.resample=false", "preprocess.realign.threads=1"}}};
  // Rounds of every variant in turn, the median of each figure reported: this VM's speed
  // drifts over seconds, and a variant measured alone would carry that drift.
  constexpr int kRounds = 3;
  std::vector<std::vector<RealignResult>> results(realign_variants.size());
  for (int round = 0; round < kRounds; ++round)
    for (size_t v = 0; v < realign_variants.size(); ++v) {
      std::mt19937 same(11);  // every variant sees the same volumes
      results[v].push_back(realign_run(realign_variants[v].second, volumes, same));
    }
  for (size_t v = 0; v < realign_variants.size(); ++v) {
    auto median = [&](double RealignResult::*f) {
      std::vector<double> x;
      for (const auto& r : results[v]) x.push_back(r.*f);
      std::nth_element(x.begin(), x.begin() + kRounds / 2, x.end());
      return x[kRounds / 2];
    };
    std::printf("| %s | %.3f | %.3f | %.4f | %.4f |\n", realign_variants[v].first, median(&RealignResult::p50),
                median(&RealignResult::p99), results[v][0].err_mm, results[v][0].err_deg);
  }
  std::fflush(stdout);
  std::printf("\nSmoothing one volume, best of %d: three 1D convolutions (direct) vs FFT (FFTW_ESTIMATE), the same kernel "
              "(4 sigmas)\n\n", quick ? 3 : 15);
  std::printf("| grid | FWHM mm | radius (voxels) | direct ms | direct, 2 threads ms | FFT ms | FFT / direct | max difference / max |\n"
              "|---|---|---|---|---|---|---|---|\n");
  {
    const Volume small = phantom({64, 64, 36}, 3.0, rng);
    for (double fwhm : quick ? std::vector<double>{6} : std::vector<double>{3, 6, 9, 12, 18, 24, 36, 60, 100})
      smooth_row("64x64x36 at 3 mm", small, fwhm, quick ? 3 : 15);
    if (!quick) {
      const Volume big = phantom({97, 115, 97}, 2.0, rng);
      for (double fwhm : {4, 6, 8, 12, 16, 24}) smooth_row("97x115x97 at 2 mm", big, fwhm, 7);
    }
  }
  std::printf("\nDetrend per volume: incremental (sufficient statistics) vs refit on the whole history\n\n");
  std::printf("| TR | values | incremental | history refit | ratio |\n|---|---|---|---|---|\n");
  for (int t : quick ? std::vector<int>{100} : std::vector<int>{100, 300, 500}) refit_row(t, 50000);
  return 0;
}

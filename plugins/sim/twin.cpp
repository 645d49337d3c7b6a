#include "sim/twin.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <numbers>
#include <thread>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/rigid.hpp"
#include "core/rng.hpp"
#include "io/files.hpp"
#include "io/nifti.hpp"
#include "io/npy.hpp"
#include "core/hrf.hpp"

namespace hyper {

namespace fs = std::filesystem;

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

struct Trial {
  double onset;
  int stim;
  bool test;
};

// What every run shares: the grid, the anatomy, the encoding model and the stimuli.
struct Anatomy {
  std::array<double, 16> affine{};
  int64_t n = 0;                      // voxels
  std::vector<float> baseline;        // intensity, all voxels
  std::vector<uint8_t> brain;         // brain mask
  std::vector<double> physio_phase;   // per voxel, radians
  std::vector<int64_t> visual;        // stimulus-driven voxel indices (F order), ascending
  std::vector<float> gain;            // per visual voxel
  Eigen::MatrixXf weights;            // 512 x visual: response = gain * (evoked + z . w)
  Eigen::MatrixXf latents;            // 1086 x 512
  double mean_brain = 0;
  double noise_sd = 0, signal_sd = 0;
};

std::array<double, 16> centred_affine(const TwinConfig& c) {
  std::array<double, 3> v{c.voxel_mm, c.voxel_mm, c.voxel_mm};
  auto a = diagonal_affine(v);
  for (int i = 0; i < 3; ++i) a[static_cast<size_t>(i * 4 + 3)] = -0.5 * static_cast<double>(c.dims[static_cast<size_t>(i)] - 1) * c.voxel_mm;
  return a;
}

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

// Trials of every run: test runs cycle through the 36 test faces (each run gets its share,
// shuffled), training runs show the 1050 training faces once each in a shuffled order.
std::vector<std::vector<Trial>> make_schedule(const TwinConfig& c) {
  Rng rng(c.seed, 3);
  std::vector<int> train(kTrainFaces);
  for (int i = 0; i < kTrainFaces; ++i) train[static_cast<size_t>(i)] = i;
  rng.shuffle(train.begin(), train.end());
  std::vector<std::vector<Trial>> runs(static_cast<size_t>(c.runs));
  int test_k = 0, train_k = 0;
  const double trial_s = c.face_s + c.blank_s;
  for (int r = 0; r < c.runs; ++r) {
    const bool test = r < c.test_runs;
    std::vector<int> stims;
    for (int t = 0; t < c.trials_per_run; ++t)
      stims.push_back(test ? kTrainFaces + (test_k++ % kTestFaces) : train[static_cast<size_t>(train_k++ % kTrainFaces)]);
    if (test) rng.shuffle(stims.begin(), stims.end());
    for (int t = 0; t < c.trials_per_run; ++t)
      runs[static_cast<size_t>(r)].push_back({c.lead_in_s + t * trial_s, stims[static_cast<size_t>(t)], test});
  }
  return runs;
}

std::string run_name(int r) { return fmt::format("sub-01_task-faces_run-{:02d}", r + 1); }

struct RunTruth {
  double drift_period_s = 0, drift_phase = 0;
  std::vector<Motion> motion;
  std::vector<std::pair<int, int>> spikes;  // volume, slice
  double slope = 1;
  int64_t clipped = 0;
};

// One run, volume by volume, into `raw` (int16 or float32 voxels, F order, volume after volume).
RunTruth simulate_run(const TwinConfig& c, const Anatomy& a, const std::vector<Trial>& trials, int run,
                      std::vector<std::byte>& raw, std::vector<float>* clean_out, std::atomic<int64_t>& done) {
  Rng rng(c.seed, 100 + static_cast<uint64_t>(run));
  const int T = c.volumes_per_run();
  const auto n = static_cast<size_t>(a.n);
  const auto n_vis = static_cast<Eigen::Index>(a.visual.size());

  // Stimulus-driven signal of the visual voxels at every TR: regressors (T x trials) times
  // per-trial amplitudes (trials x voxels).
  const double unit = 1.0 / block_peak(c.face_s);
  Eigen::MatrixXf X = Eigen::MatrixXf::Zero(T, static_cast<Eigen::Index>(trials.size()));
  Eigen::MatrixXf Z(static_cast<Eigen::Index>(trials.size()), kLatentDim);
  for (size_t t = 0; t < trials.size(); ++t) {
    const auto x = block_response(trials[t].onset, c.face_s, c.tr_s, T, unit);
    for (int k = 0; k < T; ++k) X(k, static_cast<Eigen::Index>(t)) = static_cast<float>(x[static_cast<size_t>(k)]);
    Z.row(static_cast<Eigen::Index>(t)) = a.latents.row(trials[t].stim);
  }
  Eigen::MatrixXf amp = (Z * a.weights).array() + static_cast<float>(c.evoked);
  for (Eigen::Index v = 0; v < n_vis; ++v) amp.col(v) *= static_cast<float>(a.signal_sd) * a.gain[static_cast<size_t>(v)];
  const Eigen::MatrixXf signal = X * amp;  // T x visual

  // Drift: Legendre P1, P2 and one slow cosine per brain voxel, in % of its baseline.
  const double period = rng.uniform(100, 200), cos_phase = rng.uniform(0, 2 * kPi);
  std::vector<std::array<float, 3>> drift(n, {0, 0, 0});
  for (size_t v = 0; v < n; ++v)
    if (a.brain[v])
      for (auto& d : drift[v]) d = static_cast<float>(rng.normal() / std::sqrt(3.0) * c.drift_pct / 100.0);

  // Motion: a mean-reverting random walk with occasional jerks; the first volume is the reference.
  RunTruth truth;
  truth.drift_period_s = period;
  truth.drift_phase = cos_phase;
  truth.motion.resize(static_cast<size_t>(T), Motion{});
  const double deg = kPi / 180.0;
  for (int t = 1; t < T; ++t) {
    Motion m = truth.motion[static_cast<size_t>(t - 1)];
    const bool jerk = rng.uniform() < c.jerk_rate;
    for (int p = 0; p < 6; ++p) {
      const double step = p < 3 ? c.motion_step_mm : c.motion_step_deg * deg;
      const double kick = p < 3 ? c.jerk_mm : c.jerk_deg * deg;
      m[static_cast<size_t>(p)] = 0.99 * m[static_cast<size_t>(p)] + step * rng.normal() + (jerk ? kick * rng.normal() : 0.0);
    }
    truth.motion[static_cast<size_t>(t)] = m;
  }

  const bool as_int16 = c.dtype == "int16";
  // int16 scaling fixed up front from a generous bound, as a scanner fixes its own.
  truth.slope = as_int16 ? (1.5 * 1.12 * 1000.0 * 1.4 + 8 * a.noise_sd + 8 * a.signal_sd) / 32000.0 : 1.0;
  truth.slope = static_cast<float>(truth.slope);  // the header stores it as float32
  raw.resize(static_cast<size_t>(T) * n * (as_int16 ? 2 : 4));
  if (clean_out) clean_out->resize(static_cast<size_t>(T) * n);

  std::vector<double> noise(n, 0.0);
  Volume clean, moved;
  clean.dims = c.dims;
  clean.voxel_mm = {c.voxel_mm, c.voxel_mm, c.voxel_mm};
  clean.affine = a.affine;
  clean.data.resize(n);
  const double ar_innov = std::sqrt(1 - c.ar1 * c.ar1);
  const int64_t slice = c.dims[0] * c.dims[1];
  for (int t = 0; t < T; ++t) {
    const double tau = T > 1 ? 2.0 * t / (T - 1) - 1.0 : 0.0;
    const double p2 = 0.5 * (3 * tau * tau - 1);
    const double cw = std::cos(2 * kPi * t * c.tr_s / period + cos_phase);
    for (size_t v = 0; v < n; ++v) {
      const auto& d = drift[v];
      clean.data[v] = a.baseline[v] * (1.0f + d[0] * static_cast<float>(tau) + d[1] * static_cast<float>(p2) +
                                       d[2] * static_cast<float>(cw));
    }
    for (Eigen::Index i = 0; i < n_vis; ++i) clean.data[static_cast<size_t>(a.visual[static_cast<size_t>(i)])] += signal(t, i);
    if (clean_out) std::copy(clean.data.begin(), clean.data.end(), clean_out->begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(t) * n));

    if (!c.noiseless && c.physio_pct > 0) {
      const double w = 2 * kPi * c.physio_hz * t * c.tr_s;
      for (size_t v = 0; v < n; ++v)
        if (a.brain[v]) clean.data[v] += static_cast<float>(a.baseline[v] * c.physio_pct / 100.0 * std::sin(w + a.physio_phase[v]));
    }
    const Motion& m = truth.motion[static_cast<size_t>(t)];
    const bool still = std::all_of(m.begin(), m.end(), [](double x) { return x == 0.0; });
    const Volume* image = &clean;
    if (!still) {
      resample_moved(clean, m, moved, 30.0f);
      image = &moved;
    }
    int spike_slice = -1;
    if (!c.noiseless && rng.uniform() < c.spike_rate) {
      spike_slice = static_cast<int>(rng.below(static_cast<uint64_t>(c.dims[2])));
      truth.spikes.emplace_back(t, spike_slice);
    }
    for (size_t v = 0; v < n; ++v) {
      double value = image->data[v];
      if (!c.noiseless) {
        noise[v] = c.ar1 * noise[v] + ar_innov * a.noise_sd * rng.normal();
        value += noise[v];
        if (spike_slice >= 0 && static_cast<int64_t>(v) / slice == spike_slice) value += c.spike_pct / 100.0 * a.mean_brain;
      }
      const size_t at = static_cast<size_t>(t) * n + v;
      if (as_int16) {
        double q = std::round(value / truth.slope);
        if (q > 32767 || q < -32768) ++truth.clipped, q = std::clamp(q, -32768.0, 32767.0);
        const auto s = static_cast<int16_t>(q);
        std::memcpy(raw.data() + at * 2, &s, 2);
      } else {
        const auto f = static_cast<float>(value);
        std::memcpy(raw.data() + at * 4, &f, 4);
      }
    }
    done.fetch_add(1);
  }
  return truth;
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  if (!(out << text)) throw std::runtime_error(p.string() + ": cannot write");
}

void write_volume(const fs::path& p, const TwinConfig& c, const std::array<double, 16>& affine, int64_t volumes,
                  DType type, double slope, std::span<const std::byte> data, double tr) {
  NiftiInfo info;
  info.dims = {c.dims[0], c.dims[1], c.dims[2], volumes};
  info.voxel_mm = {c.voxel_mm, c.voxel_mm, c.voxel_mm};
  info.affine = affine;
  info.tr_s = tr;
  info.dtype = type;
  info.slope = slope;
  write_nifti(p, info, data);
}

template <typename T>
std::span<const std::byte> bytes(const std::vector<T>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(T)};
}

}  // namespace

int TwinConfig::volumes_per_run() const {
  const double length = lead_in_s + trials_per_run * (face_s + blank_s) + lead_out_s;
  return static_cast<int>(std::ceil(length / tr_s - 1e-9));
}

TwinReport simulate_twin(const TwinConfig& c, const fs::path& out, const std::function<void(int64_t, int64_t)>& progress) {
  if (c.test_runs > c.runs) throw std::runtime_error("twin.test_runs must not exceed twin.runs");
  if (c.dtype != "int16" && c.dtype != "float32") throw std::runtime_error("twin.dtype must be int16 or float32");
  const fs::path func = out / "sub-01" / "func", stimuli = out / "stimuli", truth_dir = out / "derivatives" / "twin";
  for (const auto& d : {func, stimuli, truth_dir}) ensure_dir(d);

  const Anatomy a = make_anatomy(c);
  const auto schedule = make_schedule(c);
  const int T = c.volumes_per_run();
  TwinReport report;
  report.brain_voxels = std::count(a.brain.begin(), a.brain.end(), uint8_t{1});
  report.visual_voxels = static_cast<int64_t>(a.visual.size());
  report.volumes_per_run = T;

  // Dataset-level files.
  write_text(out / "dataset_description.json",
             nlohmann::json{{"Name", "HYPER-RT digital twin"}, {"BIDSVersion", "1.8.0"}, {"DatasetType", "raw"},
                            {"GeneratedBy", {{{"Name", "hyper simulate"}, {"Version", HYPER_VERSION}}}}}
                     .dump(2) + "\n");
  write_text(out / "task-faces_bold.json",
             nlohmann::json{{"TaskName", "faces"}, {"RepetitionTime", c.tr_s}}.dump(2) + "\n");
  std::vector<float> lat(a.latents.size());
  Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(lat.data(), a.latents.rows(), a.latents.cols()) = a.latents;
  write_npy(stimuli / "latents.npy", {kTrainFaces + kTestFaces, kLatentDim}, lat);
  std::vector<float> w(a.weights.size());
  Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(w.data(), a.weights.cols(), a.weights.rows()) = a.weights.transpose();
  write_npy(truth_dir / "encoding_weights.npy", {static_cast<int64_t>(a.visual.size()), kLatentDim}, w);
  write_npy(truth_dir / "voxel_gain.npy", {static_cast<int64_t>(a.gain.size())}, a.gain);
  write_npy(truth_dir / "visual_voxels.npy", {static_cast<int64_t>(a.visual.size())}, a.visual);
  std::vector<float> visual_mask(static_cast<size_t>(a.n), 0.0f), brain_mask(static_cast<size_t>(a.n), 0.0f);
  for (int64_t v : a.visual) visual_mask[static_cast<size_t>(v)] = 1;
  for (size_t v = 0; v < brain_mask.size(); ++v) brain_mask[v] = a.brain[v];
  write_volume(truth_dir / "visual_mask.nii.gz", c, a.affine, 1, DType::Float32, 1, bytes(visual_mask), 0);
  write_volume(truth_dir / "brain_mask.nii.gz", c, a.affine, 1, DType::Float32, 1, bytes(brain_mask), 0);
  write_volume(truth_dir / "baseline.nii.gz", c, a.affine, 1, DType::Float32, 1, bytes(a.baseline), 0);

  // Runs, in parallel (each has its own random stream, so the files do not depend on the order).
  std::atomic<int64_t> done{0};
  std::atomic<int> next{0};
  std::mutex m;
  std::vector<RunTruth> truths(static_cast<size_t>(c.runs));
  std::exception_ptr error;
  const int threads = std::max(1, std::min(c.runs, c.threads > 0 ? c.threads : static_cast<int>(std::thread::hardware_concurrency())));
  {
    std::vector<std::jthread> pool;
    for (int i = 0; i < threads; ++i)
      pool.emplace_back([&] {
        for (int r = next++; r < c.runs; r = next++) {
          try {
            std::vector<std::byte> raw;
            std::vector<float> clean;
            RunTruth t = simulate_run(c, a, schedule[static_cast<size_t>(r)], r, raw, c.save_clean ? &clean : nullptr, done);
            const std::string name = run_name(r);
            write_volume(func / (name + "_bold.nii.gz"), c, a.affine, T, c.dtype == "int16" ? DType::Int16 : DType::Float32,
                         t.slope, raw, c.tr_s);
            if (c.save_clean)
              write_volume(truth_dir / (name + "_clean_bold.nii.gz"), c, a.affine, T, DType::Float32, 1, bytes(clean), c.tr_s);
            truths[static_cast<size_t>(r)] = std::move(t);
          } catch (...) {
            std::lock_guard lock(m);
            if (!error) error = std::current_exception();
            next = c.runs;
          }
        }
      });
    const int64_t total = static_cast<int64_t>(c.runs) * T;
    while (done.load() < total && !error) {
      if (progress) progress(done.load(), total);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::lock_guard lock(m);
      if (error) break;
    }
  }
  if (error) std::rethrow_exception(error);

  // Per-run text files and the truth's settings.
  nlohmann::json run_truth = nlohmann::json::array();
  for (int r = 0; r < c.runs; ++r) {
    const std::string name = run_name(r);
    const auto& trials = schedule[static_cast<size_t>(r)];
    std::string events = "onset\tduration\ttrial_type\tstim_index\n";
    for (const auto& t : trials)
      events += fmt::format("{:.3f}\t{:.3f}\t{}\t{}\n", t.onset, c.face_s, t.test ? "test" : "train", t.stim);
    write_text(func / (name + "_events.tsv"), events);
    write_text(func / (name + "_bold.json"),
               nlohmann::json{{"TaskName", "faces"}, {"RepetitionTime", c.tr_s}}.dump(2) + "\n");
    std::string motion = "trans_x\ttrans_y\ttrans_z\trot_x\trot_y\trot_z\n";
    for (const auto& mo : truths[static_cast<size_t>(r)].motion)
      motion += fmt::format("{:.9g}\t{:.9g}\t{:.9g}\t{:.9g}\t{:.9g}\t{:.9g}\n", mo[0], mo[1], mo[2], mo[3], mo[4], mo[5]);
    write_text(truth_dir / (name + "_motion.tsv"), motion);
    nlohmann::json spikes = nlohmann::json::array();
    for (const auto& [v, s] : truths[static_cast<size_t>(r)].spikes) spikes.push_back({{"volume", v}, {"slice", s}});
    run_truth.push_back({{"run", name}, {"scl_slope", truths[static_cast<size_t>(r)].slope},
                         {"drift_period_s", truths[static_cast<size_t>(r)].drift_period_s},
                         {"drift_phase_rad", truths[static_cast<size_t>(r)].drift_phase},
                         {"clipped_voxels", truths[static_cast<size_t>(r)].clipped}, {"spikes", spikes}});
    if (truths[static_cast<size_t>(r)].clipped > 0)
      spdlog::warn("{}: {} voxel values did not fit int16 and were clipped", name, truths[static_cast<size_t>(r)].clipped);
    report.runs.push_back(func / (name + "_bold.nii.gz"));
  }
  const nlohmann::json settings = {
      {"preset", c.preset}, {"seed", c.seed}, {"dims", c.dims}, {"voxel_mm", c.voxel_mm}, {"runs", c.runs},
      {"test_runs", c.test_runs}, {"trials_per_run", c.trials_per_run}, {"volumes_per_run", T}, {"tr_s", c.tr_s},
      {"face_s", c.face_s}, {"blank_s", c.blank_s}, {"lead_in_s", c.lead_in_s}, {"lead_out_s", c.lead_out_s},
      {"snr", c.snr}, {"noise_pct", c.noise_pct}, {"noise_sd", a.noise_sd}, {"signal_sd", a.signal_sd},
      {"evoked", c.evoked}, {"mean_brain_intensity", a.mean_brain}, {"ar1", c.ar1}, {"drift_pct", c.drift_pct},
      {"physio_pct", c.physio_pct}, {"physio_hz", c.physio_hz}, {"spike_rate", c.spike_rate}, {"spike_pct", c.spike_pct},
      {"motion_step_mm", c.motion_step_mm}, {"motion_step_deg", c.motion_step_deg}, {"jerk_rate", c.jerk_rate},
      {"jerk_mm", c.jerk_mm}, {"jerk_deg", c.jerk_deg}, {"noiseless", c.noiseless}, {"dtype", c.dtype},
      {"brain_voxels", report.brain_voxels}, {"visual_voxels", report.visual_voxels},
      {"hrf", "SPM canonical double gamma (6 s, 16 s, 1/6); face block response peak-normalised to 1"},
      {"motion_convention", "trans mm, rot rad; M = T * Rx * Ry * Rz about the world origin (grid centre)"},
      {"runs_truth", run_truth}};
  write_text(truth_dir / "twin.json", settings.dump(2) + "\n");
  if (progress) progress(static_cast<int64_t>(c.runs) * T, static_cast<int64_t>(c.runs) * T);
  return report;
}

}  // namespace hyper

#include "sim/twin.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
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
#include "sim/twin_model.hpp"

namespace hyper {

namespace fs = std::filesystem;

namespace {


struct Trial {
  double onset;
  int stim;
  bool test;
};

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

// One run, volume by volume, into `raw` (int16 or float32 voxels, F order, volume after volume).
RunTruth simulate_run(const TwinConfig& c, const Anatomy& a, const std::vector<Trial>& trials, int run,
                      std::vector<std::byte>& raw, std::vector<float>* clean_out, std::atomic<int64_t>& done) {
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
  // Row-major: each TR's row is the contiguous signal of the visual voxels.
  const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> signal = X * amp;  // T x visual

  TwinScan scan(c, a, run, T);
  raw.resize(static_cast<size_t>(T) * scan.volume_bytes());
  if (clean_out) clean_out->resize(static_cast<size_t>(T) * n);
  for (int t = 0; t < T; ++t) {
    scan.volume(t, signal.row(t).data(), raw.data() + static_cast<size_t>(t) * scan.volume_bytes(),
                clean_out ? clean_out->data() + static_cast<size_t>(t) * n : nullptr);
    done.fetch_add(1);
  }
  return scan.truth();
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
  // An attribute of each face (as a classifier's score on the image would be, e.g. a smile): its
  // latent's projection on a hidden unit direction, plus noise of sd 0.5 (the direction's truth
  // in derivatives/twin/attribute_smile.npy; hyper train --attribute smile fits it back).
  {
    Rng attr(c.seed, 4);
    Eigen::VectorXf dir(kLatentDim);
    for (int i = 0; i < kLatentDim; ++i) dir(i) = static_cast<float>(attr.normal());
    dir.normalize();
    std::string tsv = "stim_index\tsmile\n";
    for (Eigen::Index r = 0; r < a.latents.rows(); ++r)
      tsv += fmt::format("{}\t{:.6f}\n", r, static_cast<double>(a.latents.row(r).dot(dir)) + 0.5 * attr.normal());
    write_text(stimuli / "attributes.tsv", tsv);
    write_npy(truth_dir / "attribute_smile.npy", {kLatentDim}, std::vector<float>(dir.data(), dir.data() + kLatentDim));
  }
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

#pragma once
// The digital twin of the HYPER experiment (Dado et al. 2022): a BIDS dataset of 4D fMRI
// runs in which a "visual cortex" responds linearly to the latent of each face shown,
// through the canonical HRF, with drift, AR(1) noise, physiological oscillation, spikes
// and rigid head motion, and every piece of ground truth written beside it.
// README, "hyper simulate", documents the model, the files and the presets.

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/settings.hpp"
#include "io/bids.hpp"
#include "hyper/tr.hpp"  // kLatentDim

namespace hyper {

inline constexpr int kTrainFaces = 1050;  // rows 0..1049 of latents.npy
inline constexpr int kTestFaces = 36;     // rows 1050..1085

struct TwinConfig {
  std::string preset = "default";
  uint64_t seed = 1;
  std::array<int64_t, 3> dims{64, 64, 36};
  double voxel_mm = 3.0;
  int runs = 9;             // the first `test_runs` are test runs, the rest training runs
  int test_runs = 3;
  int trials_per_run = 175;
  double tr_s = 1.5, face_s = 1.5, blank_s = 3.0, lead_in_s = 6.0, lead_out_s = 12.0;
  double snr = 1.0;         // latent-driven signal sd / noise sd, for a voxel of gain 1
  double noise_pct = 2.0;   // noise sd, % of the mean brain intensity
  double evoked = 1.0;      // mean response to any face, in units of the latent-driven sd
  double visual_fraction = 0.12;  // share of brain voxels that respond to faces
  double ar1 = 0.3;
  double drift_pct = 1.0, physio_pct = 0.2, physio_hz = 0.3, spike_rate = 0.002, spike_pct = 5.0;
  double motion_step_mm = 0.02, motion_step_deg = 0.02, jerk_rate = 0.01, jerk_mm = 0.3, jerk_deg = 0.3;
  bool noiseless = false;   // no thermal noise, physiological oscillation or spikes
  bool save_clean = false;  // also write each run's BOLD before motion and noise
  std::string dtype = "int16";
  int threads = 0;          // 0: one per core

  int volumes_per_run() const;
};

struct TwinReport {
  int64_t brain_voxels = 0, visual_voxels = 0;
  int volumes_per_run = 0;
  std::vector<std::filesystem::path> runs;
};

void declare_twin_settings(Schema& schema);
// The [twin] settings with the chosen preset's values for every key left at its default.
TwinConfig twin_config(const Settings& settings);

// Writes the dataset under `out` (created; existing files are replaced). `progress` is
// called now and then from the calling thread with volumes written so far and in total.
TwinReport simulate_twin(const TwinConfig& config, const std::filesystem::path& out,
                         const std::function<void(int64_t, int64_t)>& progress = {});

// One twin run of the [twin] settings (a training and a test run unless set otherwise),
// simulated into `dir` unless a dataset is already there; returns its first run.
RunFile twin_run(const Settings& settings, const std::filesystem::path& dir);

}  // namespace hyper

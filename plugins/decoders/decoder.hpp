#pragma once
// The HYPER decoder (Dado et al. 2022): per-trial responses of the preprocessed runs
// (a GLM with the canonical HRF, one regressor per trial: least-squares-all), the k
// voxels with the highest mean training t, z-scored, and a linear map with intercept to
// the 512-d latent (ridge, penalty by leave-one-run-out cross-validation; 0 = least squares).
// README, "hyper train" and "hyper decode".

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "core/chain.hpp"
#include "io/bids.hpp"

namespace hyper {

struct Decoder {
  std::array<int64_t, 3> dims{0, 0, 0};  // the volume grid it was trained on
  double tr_s = 0;
  std::vector<int64_t> voxels;           // selected voxels, indices in that grid (NIfTI order)
  std::vector<float> feature_mean, feature_sd;  // per selected voxel, of the training responses
  Eigen::MatrixXf weights;               // voxels x 512
  Eigen::VectorXf intercept;             // 512
  std::string mode = "trial";
  std::string estimator = "lsa";
  std::string preprocessing;             // the [preprocess] settings it was trained with (TOML)
  double penalty = 0;
  std::vector<double> penalties, cv_correlation;
  std::string inputs_hash;               // CRC-32 over the training inputs
};

void save_decoder(const std::filesystem::path& path, const Decoder& d);
// Throws naming the file and what is wrong (missing tensor, shape, corruption).
Decoder load_decoder(const std::filesystem::path& path);

// Per-trial responses of one preprocessed run: features (volumes x values) regressed on one
// canonical-HRF regressor per event plus a constant. Betas and t-values, events x values.
struct TrialResponses {
  Eigen::MatrixXf beta, t;
};
TrialResponses trial_responses(const Eigen::MatrixXf& features, const std::vector<Event>& events, double tr_s);

// A run through the chain: its features (volumes x values) and their voxel indices.
struct RunFeatures {
  Eigen::MatrixXf features;
  std::vector<int64_t> voxels;
  std::array<int64_t, 3> dims{};
  double tr_s = 0;
};
RunFeatures preprocess_run(Chain& chain, const RunFile& run);

struct TrainOptions {
  int64_t k = 4096;       // voxels to select
  double penalty = -1;    // < 0: cross-validate over the grid below
  std::vector<double> penalties{0, 1, 10, 100, 1e3, 1e4, 1e5};
  std::string preprocessing;  // recorded in the decoder
};

// Trains on these runs (events beside them, `latents` rows by stim_index). `progress`
// gets one line per step.
Decoder train_decoder(Chain& chain, const std::vector<RunFile>& runs, const Eigen::MatrixXf& latents,
                      const TrainOptions& options, const std::function<void(const std::string&)>& progress);

// Predicted latents (one row per event) of a run's per-trial responses.
Eigen::MatrixXf decode_trials(const Decoder& d, const TrialResponses& r, const std::vector<int64_t>& run_voxels);

}  // namespace hyper

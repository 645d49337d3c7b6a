#pragma once
// The HYPER decoder (Dado et al. 2022): the k voxels with the highest mean training t (from
// a GLM of the preprocessed runs with one canonical-HRF regressor per trial), z-scored, and
// a linear map with intercept to the 512-d latent (ridge, penalty by leave-one-run-out
// cross-validation; 0 = least squares). Two kinds of samples (README, "hyper train"):
//   trial  one per trial: its GLM beta (least-squares-all, or least-squares-separate)
//   tr     one per TR: the online chain's output, paired with the latents presented before
//          it (HRF-weighted, or the one on screen a fixed lag earlier); what the decode
//          stage sees every TR online.

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "core/chain.hpp"
#include "io/bids.hpp"
#include "io/nifti.hpp"

namespace hyper {

struct Decoder {
  std::array<int64_t, 3> dims{0, 0, 0};  // the volume grid it was trained on
  double tr_s = 0;
  std::vector<int64_t> voxels;           // selected voxels, indices in that grid (NIfTI order)
  std::vector<float> feature_mean, feature_sd;  // per selected voxel, of the training responses
  Eigen::MatrixXf weights;               // voxels x 512
  Eigen::VectorXf intercept;             // 512
  std::string mode = "trial";            // trial | tr | array (decoders/array_decoder.hpp)
  std::string estimator = "lsa";         // trial mode: lsa | lss; array mode: where the weights came from
  double lag_s = -1;                     // tr mode: < 0 HRF-weighted targets, else a fixed lag
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
// `estimator` lsa: one GLM with every trial (Mumford et al. 2012's least-squares-all);
// lss: per trial a GLM of that trial, all the others summed, and a constant (least-squares-
// separate, steadier when trials overlap).
TrialResponses trial_responses(const Eigen::MatrixXf& features, const std::vector<Event>& events, double tr_s,
                               const std::string& estimator = "lsa");

// Per-TR training targets (rows: volumes; `use`: whether a volume is a sample).
// lag_s < 0: the HRF-weighted sum of the latents presented before each volume (each trial's
// canonical-HRF block response, peak 1, at the volume's time): the part of the twin's, and
// by assumption the brain's, response that is linear in the latents; used from the first
// trial's onset on. lag_s >= 0: the latent of the face on screen lag_s before the volume,
// used where one was.
struct TrTargets {
  Eigen::MatrixXd y;
  std::vector<char> use;
};
TrTargets tr_targets(const std::vector<Event>& events, const Eigen::MatrixXf& latents, int volumes, double tr_s,
                     double lag_s);

// A run through the chain: its features (volumes x values) and their voxel indices.
struct RunFeatures {
  Eigen::MatrixXf features;
  std::vector<int64_t> voxels;
  std::array<int64_t, 3> dims{};
  double tr_s = 0;
};
RunFeatures preprocess_run(Chain& chain, const RunFile& run);

// A decoder of random weights (seeded, N(0, 1/k)) on the `k` most posterior voxels (lowest
// world y: the occipital lobe, where a face decoder's visual voxels are) of what `chain`
// gives for the run's first volume, zero means and unit s.d.: what `hyper bench` times when
// no decoder is given (latency depends on how many voxels and where, not on the values).
Decoder random_decoder(Chain& chain, const RunFile& run, const NiftiRun& nifti, double tr_s, int64_t k,
                       const std::string& preprocessing);

struct TrainOptions {
  std::string mode = "trial", estimator = "lsa";
  double lag_s = -1;
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

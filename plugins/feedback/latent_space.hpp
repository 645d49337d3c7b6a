#pragma once
// What the protocols share about the latent space: the stimulus latents (the chance
// levels are measured on them), a latent named by a row or a seed, cosine similarity,
// and a running mean over the last TRs.

#include <array>
#include <algorithm>
#include <vector>
#include <string>

#include <Eigen/Dense>

#include "hyper/params.hpp"
#include "hyper/tr.hpp"

namespace hyper {

using LatentVec = Eigen::Matrix<float, kLatentDim, 1>;

// feedback.latents (stimuli x 512); SettingsError naming the key when missing or malformed.
Eigen::MatrixXf feedback_latents(const Params& p);
// Row `row_key` of the latents, or (row -1) a standard normal latent from feedback.seed.
LatentVec latent_by_row(const Params& p, const Eigen::MatrixXf& latents, const std::string& row_key);
double cosine(const float* a, const float* b);
// The feedback bar for a z-score: chance (0) at one half, +-3 sd at the ends.
double bar_of(double z);

// The mean of the last n values (a ring: nothing allocated per TR).
class RunningMean {
 public:
  explicit RunningMean(size_t n) : ring_(std::max<size_t>(1, n), 0.0) {}
  double add(double v);
  void clear() { used_ = next_ = 0; }

 private:
  std::vector<double> ring_;
  size_t used_ = 0, next_ = 0;
};

}  // namespace hyper

#include "feedback/latent_space.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <spdlog/fmt/fmt.h>

#include "core/settings.hpp"
#include "io/npy.hpp"

namespace hyper {

Eigen::MatrixXf feedback_latents(const Params& p) {
  const std::string file = p.get_string("feedback.latents");
  if (file.empty())
    throw SettingsError("feedback.latents: this protocol measures chance on the stimulus latents: give their .npy "
                        "(e.g. --set feedback.latents=twin/stimuli/latents.npy)");
  NpyArray a;
  try {
    a = read_npy(file);
  } catch (const std::exception& e) {
    throw SettingsError(std::string("feedback.latents: ") + e.what());
  }
  if (a.shape.size() != 2 || a.shape[1] != kLatentDim || a.shape[0] < 2)
    throw SettingsError(fmt::format("feedback.latents: {} is not stimuli x {} (two rows at least)", file, kLatentDim));
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(a.data.data(), a.shape[0], a.shape[1]);
}

LatentVec latent_by_row(const Params& p, const Eigen::MatrixXf& latents, const std::string& row_key) {
  const int64_t row = p.get_int(row_key);
  if (row >= latents.rows())
    throw SettingsError(fmt::format("{}: row {} is beyond {}, which has rows 0-{}", row_key, row, p.get_string("feedback.latents"),
                                    latents.rows() - 1));
  if (row >= 0) return latents.row(row).transpose();
  std::mt19937_64 rng(static_cast<uint64_t>(p.get_int("feedback.seed")));
  std::normal_distribution<float> normal;
  LatentVec z;
  for (int i = 0; i < kLatentDim; ++i) z(i) = normal(rng);
  return z;
}

double cosine(const float* a, const float* b) {
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < kLatentDim; ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

double bar_of(double z) { return std::clamp((z + 3.0) / 6.0, 0.0, 1.0); }

double RunningMean::add(double v) {
  ring_[next_] = v;
  next_ = (next_ + 1) % ring_.size();
  used_ = std::min(used_ + 1, ring_.size());
  double sum = 0;
  for (size_t i = 0; i < used_; ++i) sum += ring_[i];
  return sum / static_cast<double>(used_);
}

}  // namespace hyper

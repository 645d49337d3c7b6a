#pragma once
// hyper eval's scores (README, "hyper eval"): how close predicted latents and the faces
// drawn from them are to the presented ones, with the measures of Dado et al. 2022, more
// measures that chance cannot pass, and every measure's chance level.
//
// Items are faces (presentations averaged) or single presentations; candidates are the
// distinct faces among them. Per-item measures (mean ± standard error over items):
//   latent: 1/(1+MSE) (the paper's code), 1/(1+L2) (its formula), Pearson r, cosine,
//           identification (pairwise and top-1 among the candidates, by Pearson r)
//   image (both faces drawn by the generator, luminance at image_size, 224 as the paper):
//           Pearson r, SSIM, identification by Pearson r; with a feature network
//           1/(1+MSE) (the paper's code, Table 1) and 1/(1+L2) of the features
// Across items: direction r (the correlation over items of predicted and true projections on
// random directions, the mean over 100) and, per boundary file, the attribute r.
//
// Chance: `draws` latents from the prior N(0, I), each drawn once (and rendered once); the
// k-th null set gives item i the draw (k + i) mod draws, so each set has distinct draws and
// every draw meets every item. The null distribution of each measure's mean over items gives
// its chance level and permutation p-value, (1 + #{null >= observed}) / (draws + 1).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "eval/matching.hpp"

namespace hyper {

class Generator;
class FeatureNet;

struct EvalOptions {
  int draws = 1000;      // prior draws for chance levels; 0: none
  uint64_t seed = 1;     // of the draws and the random directions
  int image_size = 224;  // side of the compared luminance images and of the feature net's input
  int directions = 100;  // random directions of direction r
  int batch = 8;         // faces per generator call
  int thumbnail = 0;     // keep each item's faces at this side for a contact sheet; 0: none
  bool paper_ssim = true;  // also main.py's SSIM (RGB at the generator's size, uniform window) of each item
  bool features_nearest = true;  // the feature network's input resized as Keras' load_img (PIL NEAREST), as main.py
};

// An attribute's direction in latent space (an InterFaceGAN boundary: .npy of 512 values,
// shape [512] or [1, 512]); named after its file.
struct Boundary {
  std::string name;
  Eigen::VectorXd normal;
};
Boundary load_boundary(const std::filesystem::path& npy);  // throws naming the file

struct Metric {
  std::string key, label;
  bool per_item = true;  // false: one value across items (no standard error)
  double value = 0, se = std::numeric_limits<double>::quiet_NaN();
  double chance = std::numeric_limits<double>::quiet_NaN(), chance_sd = std::numeric_limits<double>::quiet_NaN();
  double p = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> items;  // per-item values
};

struct EvalResult {
  std::vector<Metric> metrics;
  int64_t items = 0, candidates = 0;
  int draws = 0;
  std::string images;    // the generator's description, empty without images
  std::string features;  // the feature network's, empty without
  int thumbnail = 0;
  std::vector<std::vector<uint8_t>> stimulus_thumbs, reconstruction_thumbs;  // per item, RGB
  const Metric* find(const std::string& key) const;
};

// The prior draws evaluate() uses: `draws` x 512 standard normal values.
Eigen::MatrixXd prior_draws(int draws, uint64_t seed);

// The faces that do not depend on the predictions (the presented ones, the prior's draws, and
// the draws' image measures against the presented): kept when several predictions are scored
// against the same faces with the same options (hyper eval --truth), so they are drawn once.
struct FaceCache;
struct FaceCacheDeleter {
  void operator()(FaceCache* c) const;
};
using FaceCachePtr = std::unique_ptr<FaceCache, FaceCacheDeleter>;
FaceCachePtr make_face_cache();

// `stimuli`: the stimulus latents (rows indexed by items.stimulus). `generator` and
// `features` may be null (no image or feature measures). `progress(done, total)` is called
// as faces are drawn and scored. `cache` (may be null): filled by the first call, used by the
// next ones, which must have the same candidates, generator, features and options.
EvalResult evaluate(const EvalItems& items, const Eigen::MatrixXd& stimuli, Generator* generator, FeatureNet* features,
                    const std::vector<Boundary>& boundaries, const EvalOptions& options,
                    const std::function<void(int64_t, int64_t)>& progress = {}, FaceCache* cache = nullptr);

}  // namespace hyper

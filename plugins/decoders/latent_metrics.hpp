#pragma once
// How well predicted latents match the true ones (rows: items, e.g. the 36 test faces),
// with the measures of Dado et al. 2022 and their chance levels (README, "Decoder quality").

#include <cstdint>

#include <Eigen/Dense>

namespace hyper {

struct LatentScores {
  double direction_r = 0;     // mean over random unit directions of the across-item correlation of
                              // predicted and true projections (the paper's attribute correlations)
  double similarity_mse = 0;  // mean 1 / (1 + mean squared error): what the paper's code computes
  double similarity_l2 = 0;   // mean 1 / (1 + Euclidean distance): what its formula reads
  double item_r = 0;          // mean per-item Pearson correlation over the 512 dimensions
  double identification = 0;  // fraction of items whose prediction correlates best with their own latent
};

// Pearson correlation of two vectors (0 when one is constant).
double pearson(const Eigen::VectorXd& a, const Eigen::VectorXd& b);
// Cosine of the angle between two vectors (0 when one is zero).
double cosine(const Eigen::VectorXd& a, const Eigen::VectorXd& b);

// `count` random unit vectors in `dims` dimensions (columns), the same for the same seed:
// the directions of direction_r.
Eigen::MatrixXd random_directions(Eigen::Index dims, int count, uint64_t seed);

LatentScores score_latents(const Eigen::MatrixXd& predicted, const Eigen::MatrixXd& truth, int directions = 100,
                           uint64_t seed = 1);

// The same scores for predictions drawn from the prior N(0, I), averaged over `draws`.
LatentScores chance_scores(const Eigen::MatrixXd& truth, int draws = 100, int directions = 100, uint64_t seed = 2);

}  // namespace hyper

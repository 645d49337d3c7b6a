#pragma once
// Measures of latent vectors for hyper eval (evaluation.cpp scores predictions with them,
// with their chance levels).

#include <cstdint>

#include <Eigen/Dense>

namespace hyper {

// Pearson correlation of two vectors (0 when one is constant).
double pearson(const Eigen::VectorXd& a, const Eigen::VectorXd& b);
// Cosine of the angle between two vectors (0 when one is zero).
double cosine(const Eigen::VectorXd& a, const Eigen::VectorXd& b);

// `count` random unit vectors in `dims` dimensions (columns), the same for the same seed:
// the directions of direction_r.
Eigen::MatrixXd random_directions(Eigen::Index dims, int count, uint64_t seed);

}  // namespace hyper

#include "eval/latent_metrics.hpp"

#include "core/rng.hpp"

namespace hyper {

double pearson(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  const Eigen::VectorXd x = a.array() - a.mean(), y = b.array() - b.mean();
  const double d = std::sqrt(x.squaredNorm() * y.squaredNorm());
  return d > 0 ? x.dot(y) / d : 0.0;
}

double cosine(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  const double d = a.norm() * b.norm();
  return d > 0 ? a.dot(b) / d : 0.0;
}

namespace {
Eigen::MatrixXd gaussian(Eigen::Index rows, Eigen::Index cols, Rng& rng) {
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.normal();
  return m;
}
}  // namespace

Eigen::MatrixXd random_directions(Eigen::Index dims, int count, uint64_t seed) {
  Rng rng(seed);
  return gaussian(dims, count, rng).colwise().normalized();
}

}  // namespace hyper

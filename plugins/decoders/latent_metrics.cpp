#include "decoders/latent_metrics.hpp"

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

LatentScores score_latents(const Eigen::MatrixXd& p, const Eigen::MatrixXd& t, int directions, uint64_t seed) {
  LatentScores s;
  const auto n = p.rows();
  if (n == 0 || p.rows() != t.rows() || p.cols() != t.cols()) return s;
  const Eigen::MatrixXd dirs = random_directions(p.cols(), directions, seed);
  const Eigen::MatrixXd pp = p * dirs, tp = t * dirs;
  for (int k = 0; k < directions; ++k) s.direction_r += pearson(pp.col(k), tp.col(k)) / directions;
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::VectorXd diff = (p.row(i) - t.row(i)).transpose();
    s.similarity_mse += 1.0 / (1.0 + diff.squaredNorm() / static_cast<double>(p.cols())) / static_cast<double>(n);
    s.similarity_l2 += 1.0 / (1.0 + diff.norm()) / static_cast<double>(n);
    const double own = pearson(p.row(i).transpose(), t.row(i).transpose());
    s.item_r += own / static_cast<double>(n);
    bool best = true;
    for (Eigen::Index j = 0; j < n && best; ++j)
      if (j != i && pearson(p.row(i).transpose(), t.row(j).transpose()) >= own) best = false;
    s.identification += best ? 1.0 / static_cast<double>(n) : 0.0;
  }
  return s;
}

LatentScores chance_scores(const Eigen::MatrixXd& truth, int draws, int directions, uint64_t seed) {
  LatentScores c;
  Rng rng(seed);
  for (int d = 0; d < draws; ++d) {
    const LatentScores s = score_latents(gaussian(truth.rows(), truth.cols(), rng), truth, directions, seed + 1 + static_cast<uint64_t>(d));
    c.direction_r += s.direction_r / draws;
    c.similarity_mse += s.similarity_mse / draws;
    c.similarity_l2 += s.similarity_l2 / draws;
    c.item_r += s.item_r / draws;
    c.identification += s.identification / draws;
  }
  return c;
}

}  // namespace hyper

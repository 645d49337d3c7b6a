#include <doctest/doctest.h>

#include <random>

#include "decoders/ridge.hpp"

using namespace hyper;

namespace {
Eigen::MatrixXd random(Eigen::Index r, Eigen::Index c, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0, 1);
  Eigen::MatrixXd m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = n(rng);
  return m;
}
}  // namespace

TEST_CASE("one decomposition serves every penalty: equal to the direct solve of the normal equations") {
  const Eigen::MatrixXd X = random(60, 30, 1), Y = random(60, 5, 2);
  const Eigen::MatrixXd Xc = X.rowwise() - X.colwise().mean(), Yc = Y.rowwise() - Y.colwise().mean();
  const std::vector<double> grid{0.0, 0.1, 10.0, 1000.0};
  const auto models = ridge_path(X, Y, grid);
  REQUIRE(models.size() == grid.size());
  for (size_t i = 0; i < grid.size(); ++i) {
    CAPTURE(grid[i]);
    const Eigen::MatrixXd A = Xc.transpose() * Xc + grid[i] * Eigen::MatrixXd::Identity(30, 30);
    const Eigen::MatrixXd W = A.ldlt().solve(Xc.transpose() * Yc);
    CHECK((models[i].weights.cast<double>() - W).cwiseAbs().maxCoeff() < 1e-5);
    const Eigen::RowVectorXd b = Y.colwise().mean() - X.colwise().mean() * W;
    CHECK((models[i].intercept.cast<double>().transpose() - b).cwiseAbs().maxCoeff() < 1e-5);
  }
}

TEST_CASE("penalty 0 with more features than samples is the minimum-norm least-squares solution") {
  const Eigen::MatrixXd X = random(20, 50, 3), Y = random(20, 4, 4);
  const Eigen::MatrixXd Xc = X.rowwise() - X.colwise().mean(), Yc = Y.rowwise() - Y.colwise().mean();
  const Eigen::MatrixXd W = Xc.completeOrthogonalDecomposition().pseudoInverse() * Yc;
  const RidgeModel m = ridge_fit(X, Y, 0.0);
  CHECK((m.weights.cast<double>() - W).cwiseAbs().maxCoeff() < 1e-5);
  // It fits the training data exactly.
  const Eigen::MatrixXd fit = (X * m.weights.cast<double>()).rowwise() + m.intercept.cast<double>().transpose();
  CHECK((fit - Y).cwiseAbs().maxCoeff() < 1e-4);
}

TEST_CASE("cross-validation scores every penalty and keeps the best") {
  const Eigen::MatrixXd W = random(20, 3, 5);
  const Eigen::MatrixXd X = random(90, 20, 6);
  const Eigen::MatrixXd Y = X * W + 3.0 * random(90, 3, 7);
  std::vector<int> groups(90);
  for (int i = 0; i < 90; ++i) groups[static_cast<size_t>(i)] = i / 30;
  const RidgeFit fit = ridge_cv(X, Y, groups, {0, 1, 10, 100, 1e4});
  REQUIRE(fit.cv_correlation.size() == 5);
  const auto best = std::max_element(fit.cv_correlation.begin(), fit.cv_correlation.end()) - fit.cv_correlation.begin();
  CHECK(fit.model.penalty == fit.penalties[static_cast<size_t>(best)]);
  CHECK(fit.cv_correlation[4] < fit.cv_correlation[static_cast<size_t>(best)]);  // a huge penalty shrinks to the mean
  CHECK_THROWS_AS(ridge_cv(X, Y, std::vector<int>(90, 0), {1.0}), std::invalid_argument);
}

#include "decoders/ridge.hpp"

#include <set>
#include <stdexcept>

namespace hyper {

std::vector<RidgeModel> ridge_path(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y, const std::vector<double>& penalties) {
  if (X.rows() != Y.rows() || X.rows() < 2) throw std::invalid_argument("ridge: X and Y need the same number (>= 2) of rows");
  const Eigen::RowVectorXd mx = X.colwise().mean(), my = Y.colwise().mean();
  const Eigen::MatrixXd Xc = X.rowwise() - mx, Yc = Y.rowwise() - my;
  // Xc = U S V': W(lambda) = V diag(s / (s^2 + lambda)) U' Yc; singular values at rounding
  // level count as zero, so lambda = 0 gives the minimum-norm least-squares solution.
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(Xc, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::VectorXd s = svd.singularValues();
  const double tiny = s.size() ? s(0) * 1e-10 * static_cast<double>(std::max(Xc.rows(), Xc.cols())) : 0.0;
  const Eigen::MatrixXd UtY = svd.matrixU().transpose() * Yc;
  std::vector<RidgeModel> out;
  for (double lambda : penalties) {
    Eigen::VectorXd f(s.size());
    for (Eigen::Index i = 0; i < s.size(); ++i) f(i) = s(i) > tiny ? s(i) / (s(i) * s(i) + lambda) : 0.0;
    const Eigen::MatrixXd W = svd.matrixV() * (f.asDiagonal() * UtY);
    RidgeModel m;
    m.weights = W.cast<float>();
    m.intercept = (my - mx * W).transpose().cast<float>();
    m.penalty = lambda;
    out.push_back(std::move(m));
  }
  return out;
}

RidgeModel ridge_fit(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y, double penalty) {
  return ridge_path(X, Y, {penalty}).front();
}

double mean_row_correlation(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  double sum = 0;
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    const Eigen::RowVectorXd x = a.row(r).array() - a.row(r).mean(), y = b.row(r).array() - b.row(r).mean();
    const double d = std::sqrt(x.squaredNorm() * y.squaredNorm());
    sum += d > 0 ? x.dot(y) / d : 0.0;
  }
  return a.rows() ? sum / static_cast<double>(a.rows()) : 0.0;
}

RidgeFit ridge_cv(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y, const std::vector<int>& groups,
                  const std::vector<double>& penalties) {
  if (static_cast<Eigen::Index>(groups.size()) != X.rows()) throw std::invalid_argument("ridge: one group per row");
  const std::set<int> ids(groups.begin(), groups.end());
  if (ids.size() < 2) throw std::invalid_argument("ridge: cross-validation needs at least two runs");
  RidgeFit fit;
  fit.penalties = penalties;
  fit.cv_correlation.assign(penalties.size(), 0.0);
  for (int held : ids) {
    std::vector<Eigen::Index> train, test;
    for (Eigen::Index r = 0; r < X.rows(); ++r) (groups[static_cast<size_t>(r)] == held ? test : train).push_back(r);
    const Eigen::MatrixXd Xtr = X(train, Eigen::all), Ytr = Y(train, Eigen::all);
    const Eigen::MatrixXd Xte = X(test, Eigen::all), Yte = Y(test, Eigen::all);
    const auto models = ridge_path(Xtr, Ytr, penalties);
    for (size_t p = 0; p < models.size(); ++p) {
      const Eigen::MatrixXd pred =
          (Xte * models[p].weights.cast<double>()).rowwise() + models[p].intercept.cast<double>().transpose();
      fit.cv_correlation[p] += mean_row_correlation(pred, Yte) / static_cast<double>(ids.size());
    }
  }
  const size_t best = static_cast<size_t>(
      std::max_element(fit.cv_correlation.begin(), fit.cv_correlation.end()) - fit.cv_correlation.begin());
  fit.model = ridge_fit(X, Y, penalties[best]);
  return fit;
}

}  // namespace hyper

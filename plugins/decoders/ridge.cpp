#include "decoders/ridge.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

// LAPACK's divide-and-conquer symmetric eigensolver (OpenBLAS's build on Debian): about
// nine times faster than Eigen's at the sizes of a per-TR decoder (4096 x 4096: 10 s vs 90 s
// on 2 cores), and one decomposition per cross-validation fold is most of a fit.
//
// The large matrix products go to OpenBLAS's dgemm as well: Eigen's own, built for the
// baseline x86-64 (SSE2), is several times slower at these sizes.
extern "C" void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
                       const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
                       const int* ldc);
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info);

namespace hyper {

namespace {

// Eigen-decomposition of a symmetric matrix: A = V diag(e) V', ascending e.
void symmetric_eigen(Eigen::MatrixXd& a_then_v, Eigen::VectorXd& e) {
  const int n = static_cast<int>(a_then_v.rows());
  e.resize(n);
  if (n == 0) return;
  int lwork = -1, liwork = -1, info = 0, iwork_size = 0;
  double work_size = 0;
  dsyevd_("V", "L", &n, a_then_v.data(), &n, e.data(), &work_size, &lwork, &iwork_size, &liwork, &info);
  lwork = static_cast<int>(work_size);
  liwork = iwork_size;
  std::vector<double> work(static_cast<size_t>(lwork));
  std::vector<int> iwork(static_cast<size_t>(liwork));
  dsyevd_("V", "L", &n, a_then_v.data(), &n, e.data(), work.data(), &lwork, iwork.data(), &liwork, &info);
  if (info != 0) throw std::runtime_error("ridge: the eigensolver did not converge (LAPACK dsyevd info " + std::to_string(info) + ")");
}

}  // namespace

Eigen::MatrixXd multiply(const Eigen::MatrixXd& a, bool ta, const Eigen::MatrixXd& b, bool tb) {
  const int m = static_cast<int>(ta ? a.cols() : a.rows()), k = static_cast<int>(ta ? a.rows() : a.cols());
  const int n = static_cast<int>(tb ? b.rows() : b.cols());
  if ((tb ? b.cols() : b.rows()) != k) throw std::invalid_argument("multiply: inner dimensions differ");
  Eigen::MatrixXd c(m, n);
  if (m == 0 || n == 0) return c;
  if (k == 0) return c.setZero();
  const double one = 1, zero = 0;
  const int lda = static_cast<int>(a.rows()), ldb = static_cast<int>(b.rows());
  dgemm_(ta ? "T" : "N", tb ? "T" : "N", &m, &n, &k, &one, a.data(), &lda, b.data(), &ldb, &zero, c.data(), &m);
  return c;
}

std::vector<RidgeModel> ridge_path(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y, const std::vector<double>& penalties) {
  if (X.rows() != Y.rows() || X.rows() < 2) throw std::invalid_argument("ridge: X and Y need the same number (>= 2) of rows");
  const Eigen::RowVectorXd mx = X.colwise().mean(), my = Y.colwise().mean();
  const Eigen::MatrixXd Xc = X.rowwise() - mx, Yc = Y.rowwise() - my;
  // With Xc = U S V', W(lambda) = V diag(s / (s^2 + lambda)) U' Yc. The singular vectors come
  // from the Gram matrix of the smaller side (samples x samples, or features x features), so
  // one eigen-decomposition serves the whole grid:
  //   n <= p:  Xc Xc' = U E U',  W = Xc' U diag(1 / (e + lambda)) U' Yc
  //   n >  p:  Xc' Xc = V E V',  W = V diag(1 / (e + lambda)) V' Xc' Yc
  // Eigenvalues at rounding level count as zero, so lambda = 0 gives the minimum-norm
  // least-squares solution (the pseudo-inverse).
  const bool dual = Xc.rows() <= Xc.cols();
  Eigen::MatrixXd vecs = dual ? multiply(Xc, false, Xc, true) : multiply(Xc, true, Xc, false);
  Eigen::VectorXd e;
  symmetric_eigen(vecs, e);
  const double tiny = e.size() ? std::max(0.0, e(e.size() - 1)) * 1e-12 * static_cast<double>(std::max(Xc.rows(), Xc.cols())) : 0.0;
  const Eigen::MatrixXd proj = multiply(vecs, true, dual ? Yc : multiply(Xc, true, Yc, false), false);
  std::vector<RidgeModel> out;
  for (double lambda : penalties) {
    Eigen::VectorXd f(e.size());
    for (Eigen::Index i = 0; i < e.size(); ++i) f(i) = e(i) > tiny ? 1.0 / (e(i) + lambda) : 0.0;
    const Eigen::MatrixXd inner = multiply(vecs, false, f.asDiagonal() * proj, false);
    const Eigen::MatrixXd W = dual ? multiply(Xc, true, inner, false) : inner;
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
                  const std::vector<double>& penalties, const std::function<void(size_t, size_t)>& fold_done) {
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
          multiply(Xte, false, models[p].weights.cast<double>(), false).rowwise() + models[p].intercept.cast<double>().transpose();
      fit.cv_correlation[p] += mean_row_correlation(pred, Yte) / static_cast<double>(ids.size());
    }
    if (fold_done) fold_done(static_cast<size_t>(std::distance(ids.begin(), ids.find(held))) + 1, ids.size());
  }
  const size_t best = static_cast<size_t>(
      std::max_element(fit.cv_correlation.begin(), fit.cv_correlation.end()) - fit.cv_correlation.begin());
  fit.model = ridge_fit(X, Y, penalties[best]);
  return fit;
}

}  // namespace hyper

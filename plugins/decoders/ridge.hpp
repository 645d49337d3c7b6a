#pragma once
// Linear decoding with intercept: Y ~ X W + 1 b, ridge-penalised, the penalty chosen by
// leave-one-run-out cross-validation. One eigen-decomposition of each fold's (centred) Gram
// matrix serves the whole penalty grid. Penalty 0 is ordinary least squares, the
// minimum-norm solution when there are more features than samples (the pseudo-inverse).

#include <functional>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace hyper {

struct RidgeModel {
  Eigen::MatrixXf weights;    // features x outputs
  Eigen::VectorXf intercept;  // outputs
  double penalty = 0;
};

struct RidgeFit {
  RidgeModel model;
  std::vector<double> penalties;
  std::vector<double> cv_correlation;  // mean over held-out runs of the per-item correlation of predicted and true rows
};

// Fits with a fixed penalty (no cross-validation).
RidgeModel ridge_fit(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y, double penalty);

// The same for every penalty of the grid from one decomposition: one model per penalty.
std::vector<RidgeModel> ridge_path(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y, const std::vector<double>& penalties);

// Chooses the penalty by leave-one-group-out cross-validation (groups: the run of each
// sample row; at least two groups), then refits on everything with it. `fold_done(i, n)`
// is called after each held-out group (every penalty of a fold comes from one SVD).
RidgeFit ridge_cv(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y, const std::vector<int>& groups,
                  const std::vector<double>& penalties, const std::function<void(size_t, size_t)>& fold_done = {});

// op(a) * op(b), op transposing when asked (OpenBLAS dgemm).
Eigen::MatrixXd multiply(const Eigen::MatrixXd& a, bool transpose_a, const Eigen::MatrixXd& b, bool transpose_b);

// Mean over rows of the Pearson correlation between a predicted and a true row.
double mean_row_correlation(const Eigen::MatrixXd& predicted, const Eigen::MatrixXd& truth);

}  // namespace hyper

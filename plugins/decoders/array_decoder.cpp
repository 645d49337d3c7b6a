#include "decoders/array_decoder.hpp"

#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "decoders/ridge.hpp"
#include "hyper/tr.hpp"
#include "io/npy.hpp"

namespace hyper {

Decoder array_decoder(const Eigen::MatrixXf& weights, const Eigen::VectorXf& intercept, const std::string& estimator) {
  if (weights.cols() != kLatentDim || intercept.size() != kLatentDim)
    throw std::invalid_argument(fmt::format("a decoder maps to {} values; these weights give {} and the intercept has {}",
                                            kLatentDim, weights.cols(), intercept.size()));
  Decoder d;
  const auto k = weights.rows();
  d.dims = {k, 1, 1};
  d.voxels.resize(static_cast<size_t>(k));
  std::iota(d.voxels.begin(), d.voxels.end(), int64_t{0});
  d.feature_mean.assign(static_cast<size_t>(k), 0.0f);
  d.feature_sd.assign(static_cast<size_t>(k), 1.0f);
  d.weights = weights;
  d.intercept = intercept;
  d.mode = "array";
  d.estimator = estimator;
  return d;
}

Decoder train_array_decoder(const Eigen::MatrixXf& responses, const Eigen::MatrixXf& latents, double penalty, int folds,
                            const std::vector<double>& penalties, const std::function<void(const std::string&)>& progress) {
  if (responses.rows() != latents.rows())
    throw std::invalid_argument(fmt::format("{} response rows for {} latent rows: one of each per trial", responses.rows(),
                                            latents.rows()));
  const Eigen::MatrixXd X = responses.cast<double>(), Y = latents.cast<double>();
  if (penalty >= 0) {
    progress(fmt::format("fitting {} trials x {} columns, penalty {}{}", X.rows(), X.cols(), penalty,
                         penalty == 0 ? " (least squares)" : ""));
    const RidgeModel m = ridge_fit(X, Y, penalty);
    Decoder d = array_decoder(m.weights, m.intercept, penalty == 0 ? "least squares" : "ridge");
    d.penalty = penalty;
    return d;
  }
  if (folds < 2 || folds > X.rows())
    throw std::invalid_argument(fmt::format("train.folds: {} folds of {} trials: give 2 to {}", folds, X.rows(), X.rows()));
  std::vector<int> groups(static_cast<size_t>(X.rows()));
  for (Eigen::Index i = 0; i < X.rows(); ++i) groups[static_cast<size_t>(i)] = static_cast<int>(i * folds / X.rows());
  progress(fmt::format("choosing the penalty over {} contiguous folds of {} trials x {} columns", folds, X.rows(), X.cols()));
  const RidgeFit fit = ridge_cv(X, Y, groups, penalties, [&](size_t done, size_t n) {
    progress(fmt::format("  fold {} of {} held out", done, n));
  });
  Decoder d = array_decoder(fit.model.weights, fit.model.intercept, "ridge, cross-validated");
  d.penalty = fit.model.penalty;
  d.penalties = fit.penalties;
  d.cv_correlation = fit.cv_correlation;
  return d;
}

Eigen::MatrixXf decode_array(const Decoder& d, const Eigen::MatrixXf& responses, const std::string& file) {
  if (d.mode != "array")
    throw std::invalid_argument(fmt::format("{} is a '{}' decoder of volumes (from hyper train --dataset): decode runs with "
                                            "hyper decode --input RUN.nii.gz; --responses needs a decoder of response matrices "
                                            "(hyper train --responses, or hyper import-hyper --decoder)", file, d.mode));
  const auto k = static_cast<Eigen::Index>(d.voxels.size());
  if (responses.cols() != k)
    throw std::invalid_argument(fmt::format("the responses have {} columns and {} takes {}", responses.cols(), file, k));
  const Eigen::Map<const Eigen::RowVectorXf> mean(d.feature_mean.data(), k), sd(d.feature_sd.data(), k);
  const Eigen::MatrixXf z = (responses.rowwise() - mean).array().rowwise() / sd.array();
  return (z * d.weights).rowwise() + d.intercept.transpose();
}

Eigen::MatrixXf read_matrix(const std::filesystem::path& npy, const std::string& what) {
  const NpyArray a = read_npy(npy);
  if (a.shape.size() != 2)
    throw std::runtime_error(fmt::format("{}: a {}-D array; expected {} (a 2-D array)", npy.string(), a.shape.size(), what));
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(a.data.data(), a.shape[0], a.shape[1]);
}

}  // namespace hyper

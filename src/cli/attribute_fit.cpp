#include "cli/attribute_fit.hpp"

#include <cmath>

#include <spdlog/spdlog.h>

#include "core/settings.hpp"
#include "decoders/ridge.hpp"
#include "hyper/tr.hpp"
#include "io/npy.hpp"
#include "io/tsv.hpp"

namespace hyper {

int fit_attribute(const std::filesystem::path& tsv, const std::string& name, const Eigen::MatrixXf& latents, double penalty,
                  const std::filesystem::path& out) {
  std::vector<double> stim, value;
  try {
    stim = read_tsv_column(tsv, "stim_index");
    value = read_tsv_column(tsv, name);
  } catch (const std::exception& e) {
    throw SettingsError(std::string("train.attribute: ") + e.what() + " (the attributes: stim_index, then a column per attribute)");
  }
  const auto n = static_cast<Eigen::Index>(stim.size());
  if (n < 10) throw SettingsError(fmt::format("train.attribute: {} has {} faces: too few to fit a direction in 512 dimensions", tsv.string(), n));
  Eigen::MatrixXd X(n, kLatentDim), y(n, 1);
  std::vector<int> folds(static_cast<size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto row = static_cast<Eigen::Index>(stim[static_cast<size_t>(i)]);
    if (row < 0 || row >= latents.rows())
      throw SettingsError(fmt::format("train.attribute: {} line {}: stim_index {} is beyond the latents' {} rows", tsv.string(), i + 2,
                                      row, latents.rows()));
    X.row(i) = latents.row(row).cast<double>();
    y(i, 0) = value[static_cast<size_t>(i)];
    folds[static_cast<size_t>(i)] = static_cast<int>(i % 5);
  }
  // The penalty by 5-fold cross-validation: the correlation of held-out predictions with the values.
  double chosen = penalty;
  std::string quality;
  if (penalty < 0) {
    double best = -2;
    for (const double p : {0.1, 1.0, 10.0, 100.0, 1000.0}) {
      Eigen::VectorXd predicted(n);
      for (int f = 0; f < 5; ++f) {
        std::vector<Eigen::Index> in, held;
        for (Eigen::Index i = 0; i < n; ++i) (folds[static_cast<size_t>(i)] == f ? held : in).push_back(i);
        const RidgeModel fm = ridge_fit(X(in, Eigen::all), y(in, Eigen::all), p);
        for (const Eigen::Index i : held)
          predicted(i) = static_cast<double>(X.row(i).cast<float>().dot(fm.weights.col(0)) + fm.intercept(0));
      }
      const Eigen::VectorXd a = predicted.array() - predicted.mean(), b = y.col(0).array() - y.col(0).mean();
      const double r = a.dot(b) / std::sqrt(a.squaredNorm() * b.squaredNorm());
      quality += fmt::format(" {}: {:.3f}", p, r);
      if (r > best) best = r, chosen = p;
    }
    quality = "; cross-validated correlation of predicted and given values by penalty:" + quality;
  }
  const RidgeModel m = ridge_fit(X, y, chosen);
  const Eigen::VectorXf w = m.weights.col(0);
  if (!(w.norm() > 0)) throw SettingsError("train.attribute: the fit of '" + name + "' is flat: the values do not vary with the latents");
  const Eigen::VectorXf d = w.normalized();
  write_npy(out, {kLatentDim}, std::vector<float>(d.data(), d.data() + kLatentDim));
  spdlog::info("wrote {}: the direction of '{}' from {} faces (penalty {}){}", out.string(), name, n, m.penalty, quality);
  return 0;
}

}  // namespace hyper

#include "decoders/decoder.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

#include <spdlog/fmt/fmt.h>

#include "core/crc32.hpp"
#include "core/hrf.hpp"
#include "core/offline.hpp"
#include "decoders/ridge.hpp"
#include "io/safetensors.hpp"

namespace hyper {

namespace {
std::string join(const std::vector<double>& v) {
  std::string s;
  for (double x : v) {
    if (!s.empty()) s += ',';
    s += fmt::format("{}", x);
  }
  return s;
}
std::vector<double> split_doubles(const std::string& s) {
  std::vector<double> out;
  size_t start = 0;
  while (start < s.size()) {
    const size_t comma = s.find(',', start);
    out.push_back(std::stod(s.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}
}  // namespace

void save_decoder(const std::filesystem::path& path, const Decoder& d) {
  TensorFile f;
  const auto k = static_cast<int64_t>(d.voxels.size());
  f.tensors["voxels"] = tensor_i64({k}, d.voxels.data());
  f.tensors["feature_mean"] = tensor_f32({k}, d.feature_mean.data());
  f.tensors["feature_sd"] = tensor_f32({k}, d.feature_sd.data());
  const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> w = d.weights;  // C order, as numpy
  f.tensors["weights"] = tensor_f32({k, w.cols()}, w.data());
  f.tensors["intercept"] = tensor_f32({d.intercept.size()}, d.intercept.data());
  f.metadata = {{"format", "hyper-decoder/1"}, {"dims", fmt::format("{},{},{}", d.dims[0], d.dims[1], d.dims[2])},
                {"tr", fmt::format("{}", d.tr_s)}, {"mode", d.mode}, {"estimator", d.estimator},
                {"hrf", "SPM canonical double gamma"}, {"preprocessing", d.preprocessing},
                {"penalty", fmt::format("{}", d.penalty)}, {"penalties", join(d.penalties)},
                {"cv_correlation", join(d.cv_correlation)}, {"inputs_hash", d.inputs_hash}};
  write_safetensors(path, f);
}

Decoder load_decoder(const std::filesystem::path& path) {
  const TensorFile f = read_safetensors(path);
  auto meta = [&](const std::string& key) {
    auto it = f.metadata.find(key);
    if (it == f.metadata.end()) throw std::runtime_error(path.string() + ": not a HYPER-RT decoder (no '" + key + "')");
    return it->second;
  };
  auto tensor = [&](const std::string& name) -> const Tensor& {
    auto it = f.tensors.find(name);
    if (it == f.tensors.end()) throw std::runtime_error(path.string() + ": no tensor '" + name + "'");
    return it->second;
  };
  if (meta("format") != "hyper-decoder/1")
    throw std::runtime_error(path.string() + ": format " + meta("format") + ", this hyper reads hyper-decoder/1");
  Decoder d;
  const auto dims = split_doubles(meta("dims"));
  if (dims.size() != 3) throw std::runtime_error(path.string() + ": bad dims");
  d.dims = {static_cast<int64_t>(dims[0]), static_cast<int64_t>(dims[1]), static_cast<int64_t>(dims[2])};
  d.tr_s = std::stod(meta("tr"));
  d.mode = meta("mode");
  d.estimator = meta("estimator");
  d.preprocessing = meta("preprocessing");
  d.penalty = std::stod(meta("penalty"));
  d.penalties = split_doubles(meta("penalties"));
  d.cv_correlation = split_doubles(meta("cv_correlation"));
  d.inputs_hash = meta("inputs_hash");
  d.voxels = as_i64(tensor("voxels"));
  d.feature_mean = as_f32(tensor("feature_mean"));
  d.feature_sd = as_f32(tensor("feature_sd"));
  const Tensor& w = tensor("weights");
  const auto k = static_cast<int64_t>(d.voxels.size());
  if (w.shape.size() != 2 || w.shape[0] != k || tensor("intercept").shape != std::vector<int64_t>{w.shape[1]} ||
      static_cast<int64_t>(d.feature_mean.size()) != k || static_cast<int64_t>(d.feature_sd.size()) != k)
    throw std::runtime_error(path.string() + ": tensor shapes do not agree (voxels, weights, intercept, statistics)");
  const auto wv = as_f32(w);
  d.weights = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(wv.data(), w.shape[0], w.shape[1]);
  const auto b = as_f32(tensor("intercept"));
  d.intercept = Eigen::Map<const Eigen::VectorXf>(b.data(), static_cast<Eigen::Index>(b.size()));
  return d;
}

TrialResponses trial_responses(const Eigen::MatrixXf& Y, const std::vector<Event>& events, double tr_s) {
  const auto T = static_cast<int>(Y.rows());
  const auto n = static_cast<Eigen::Index>(events.size());
  Eigen::MatrixXd X(T, n + 1);
  std::map<double, double> scale;  // per block duration: finding a peak costs 100k HRF values
  for (Eigen::Index j = 0; j < n; ++j) {
    const Event& e = events[static_cast<size_t>(j)];
    auto it = scale.find(e.duration);
    if (it == scale.end()) it = scale.emplace(e.duration, 1.0 / block_peak(e.duration)).first;
    const auto x = block_response(e.onset, e.duration, tr_s, T, it->second);
    for (int t = 0; t < T; ++t) X(t, j) = x[static_cast<size_t>(t)];
  }
  X.col(n).setOnes();
  if (T <= n + 1) throw std::runtime_error("a run has no more volumes than trials: no GLM");
  const Eigen::MatrixXd xtx_inv = (X.transpose() * X).inverse();
  const Eigen::MatrixXd B = xtx_inv * (X.transpose() * Y.cast<double>());
  const Eigen::MatrixXd resid = Y.cast<double>() - X * B;
  const Eigen::RowVectorXd sigma2 = resid.colwise().squaredNorm() / static_cast<double>(T - n - 1);
  TrialResponses r;
  r.beta = B.topRows(n).cast<float>();
  r.t.resize(n, Y.cols());
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index v = 0; v < Y.cols(); ++v) {
      const double se = std::sqrt(sigma2(v) * xtx_inv(j, j));
      r.t(j, v) = se > 0 ? static_cast<float>(B(j, v) / se) : 0.0f;
    }
  return r;
}

RunFeatures preprocess_run(Chain& chain, const RunFile& run) {
  const NiftiRun nifti = read_nifti(run.path);
  RunFeatures out;
  out.tr_s = run_tr(run, nifti.info.tr_s, nifti.info.time_unit);
  out.dims = {nifti.info.dims[0], nifti.info.dims[1], nifti.info.dims[2]};
  run_chain_offline(chain, nifti, run.run_id, out.tr_s, [&](const Tr& tr) {
    const std::vector<float>& v = tr.feature_voxels ? tr.features : tr.volume.data;
    if (out.features.size() == 0) {
      out.features.resize(nifti.info.dims[3], static_cast<Eigen::Index>(v.size()));
      if (tr.feature_voxels) out.voxels = *tr.feature_voxels;
      else {
        out.voxels.resize(v.size());
        std::iota(out.voxels.begin(), out.voxels.end(), 0);
      }
    }
    out.features.row(tr.index) = Eigen::Map<const Eigen::RowVectorXf>(v.data(), static_cast<Eigen::Index>(v.size()));
  });
  return out;
}

Decoder train_decoder(Chain& chain, const std::vector<RunFile>& runs, const Eigen::MatrixXf& latents,
                      const TrainOptions& o, const std::function<void(const std::string&)>& progress) {
  if (runs.size() < 2) throw std::runtime_error("training needs at least two runs (cross-validation leaves one out)");
  struct PerRun {
    TrialResponses r;
    std::vector<int64_t> voxels, stims;
  };
  std::vector<PerRun> per;
  Decoder d;
  std::vector<double> t_sum;
  std::vector<int> present;
  uint32_t hash = 0;
  int64_t trials = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    progress(fmt::format("run {}/{}: preprocessing {}", i + 1, runs.size(), runs[i].run_id));
    RunFeatures f = preprocess_run(chain, runs[i]);
    if (i == 0) {
      d.dims = f.dims;
      d.tr_s = f.tr_s;
      t_sum.assign(static_cast<size_t>(f.dims[0] * f.dims[1] * f.dims[2]), 0.0);
      present.assign(t_sum.size(), 0);
    } else if (f.dims != d.dims || std::abs(f.tr_s - d.tr_s) > 1e-9) {
      throw std::runtime_error(runs[i].path.string() + ": its grid or TR differs from the first training run's");
    }
    const auto events = read_events(events_path(runs[i].path));
    for (const Event& e : events)
      if (e.stim_index < 0 || e.stim_index >= latents.rows())
        throw std::runtime_error(events_path(runs[i].path).string() + ": stim_index " + std::to_string(e.stim_index) +
                                 " is not a row of the latents");
    progress(fmt::format("run {}/{}: GLM with {} trial regressors over {} values", i + 1, runs.size(), events.size(),
                         f.features.cols()));
    PerRun p{trial_responses(f.features, events, f.tr_s), f.voxels, {}};
    for (const Event& e : events) p.stims.push_back(e.stim_index);
    const Eigen::RowVectorXf mean_t = p.r.t.colwise().sum();
    for (size_t v = 0; v < p.voxels.size(); ++v) {
      t_sum[static_cast<size_t>(p.voxels[v])] += mean_t(static_cast<Eigen::Index>(v));
      ++present[static_cast<size_t>(p.voxels[v])];
    }
    trials += static_cast<int64_t>(events.size());
    hash = static_cast<uint32_t>(hash * 31u + crc32({reinterpret_cast<const std::byte*>(f.features.data()),
                                                     static_cast<size_t>(f.features.size()) * 4}));
    per.push_back(std::move(p));
  }

  // The k voxels with the highest mean training t, among those every run's mask kept.
  std::vector<int64_t> candidates;
  for (size_t v = 0; v < t_sum.size(); ++v)
    if (present[v] == static_cast<int>(runs.size())) candidates.push_back(static_cast<int64_t>(v));
  const auto k = static_cast<size_t>(std::min<int64_t>(o.k, static_cast<int64_t>(candidates.size())));
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(k), candidates.end(),
                    [&](int64_t a, int64_t b) { return t_sum[static_cast<size_t>(a)] > t_sum[static_cast<size_t>(b)]; });
  d.voxels.assign(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(k));
  std::sort(d.voxels.begin(), d.voxels.end());
  progress(fmt::format("selected {} voxels of {} by mean t over {} trials", k, candidates.size(), trials));

  // Responses of the selected voxels, z-scored with the training statistics.
  Eigen::MatrixXd X(trials, static_cast<Eigen::Index>(k)), Y(trials, latents.cols());
  std::vector<int> groups;
  Eigen::Index row = 0;
  for (size_t i = 0; i < per.size(); ++i) {
    std::unordered_map<int64_t, Eigen::Index> col;
    for (size_t v = 0; v < per[i].voxels.size(); ++v) col[per[i].voxels[v]] = static_cast<Eigen::Index>(v);
    for (Eigen::Index j = 0; j < per[i].r.beta.rows(); ++j, ++row) {
      for (size_t s = 0; s < k; ++s) X(row, static_cast<Eigen::Index>(s)) = per[i].r.beta(j, col.at(d.voxels[s]));
      Y.row(row) = latents.row(per[i].stims[static_cast<size_t>(j)]).cast<double>();
      groups.push_back(static_cast<int>(i));
    }
  }
  const Eigen::RowVectorXd mean = X.colwise().mean();
  Eigen::RowVectorXd sd = ((X.rowwise() - mean).array().square().colwise().sum() / std::max<double>(1.0, trials - 1.0)).sqrt();
  for (Eigen::Index c = 0; c < sd.size(); ++c)
    if (!(sd(c) > 0)) sd(c) = 1;
  X = (X.rowwise() - mean).array().rowwise() / sd.array();
  d.feature_mean.resize(k);
  d.feature_sd.resize(k);
  for (size_t s = 0; s < k; ++s) {
    d.feature_mean[s] = static_cast<float>(mean(static_cast<Eigen::Index>(s)));
    d.feature_sd[s] = static_cast<float>(sd(static_cast<Eigen::Index>(s)));
  }

  RidgeModel m;
  if (o.penalty >= 0) {
    progress(fmt::format("fitting {} x {} -> {} with penalty {}", trials, k, latents.cols(), o.penalty));
    m = ridge_fit(X, Y, o.penalty);
  } else {
    progress(fmt::format("cross-validating {} penalties, leaving one of {} runs out", o.penalties.size(), runs.size()));
    const RidgeFit fit = ridge_cv(X, Y, groups, o.penalties);
    m = fit.model;
    d.penalties = fit.penalties;
    d.cv_correlation = fit.cv_correlation;
  }
  d.weights = m.weights;
  d.intercept = m.intercept;
  d.penalty = m.penalty;
  d.preprocessing = o.preprocessing;
  d.inputs_hash = fmt::format("{:08x}", hash);
  return d;
}

Eigen::MatrixXf decode_trials(const Decoder& d, const TrialResponses& r, const std::vector<int64_t>& run_voxels) {
  std::unordered_map<int64_t, Eigen::Index> col;
  for (size_t v = 0; v < run_voxels.size(); ++v) col[run_voxels[v]] = static_cast<Eigen::Index>(v);
  const auto k = static_cast<Eigen::Index>(d.voxels.size());
  Eigen::MatrixXf X(r.beta.rows(), k);
  for (Eigen::Index s = 0; s < k; ++s) {
    auto it = col.find(d.voxels[static_cast<size_t>(s)]);
    for (Eigen::Index j = 0; j < X.rows(); ++j)
      X(j, s) = it == col.end() ? 0.0f  // outside this run's mask: the training mean, i.e. z = 0
                                : (r.beta(j, it->second) - d.feature_mean[static_cast<size_t>(s)]) / d.feature_sd[static_cast<size_t>(s)];
  }
  return (X * d.weights).rowwise() + d.intercept.transpose();
}

}  // namespace hyper

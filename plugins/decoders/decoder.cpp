#include "decoders/decoder.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

#include <spdlog/fmt/fmt.h>

#include "core/crc32.hpp"
#include "core/hrf.hpp"
#include "core/rng.hpp"
#include "sources/nifti_run.hpp"
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
                {"lag", fmt::format("{}", d.lag_s)},
                {"hrf", "SPM canonical double gamma"}, {"preprocessing", d.preprocessing},
                {"penalty", fmt::format("{}", d.penalty)}, {"penalties", join(d.penalties)},
                {"cv_correlation", join(d.cv_correlation)}, {"inputs_hash", d.inputs_hash}};
  write_safetensors(path, f);
}

Decoder load_decoder(const std::filesystem::path& path) {
  const std::string not_decoder = path.string() + ": not a decoder file (safetensors written by hyper train)";
  if (!std::filesystem::exists(path)) throw std::runtime_error("no such file: " + path.string());
  // A safetensors file opens with its header's length (8 bytes, little endian) and the header's "{".
  std::ifstream in(path, std::ios::binary);
  unsigned char head[9] = {};
  in.read(reinterpret_cast<char*>(head), 9);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | head[i];
  if (in.gcount() < 9 || head[8] != '{' || n + 8 > std::filesystem::file_size(path)) throw std::runtime_error(not_decoder);
  const TensorFile f = read_safetensors(path);
  auto meta = [&](const std::string& key) {
    auto it = f.metadata.find(key);
    if (it == f.metadata.end()) throw std::runtime_error(not_decoder + ": no '" + key + "' in its metadata");
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
  if (d.mode != "trial" && d.mode != "tr" && d.mode != "array") throw std::runtime_error(path.string() + ": unknown mode '" + d.mode + "'");
  d.estimator = meta("estimator");
  d.lag_s = std::stod(meta("lag"));
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

namespace {

// One canonical-HRF block regressor per event (peak 1), volumes x events.
Eigen::MatrixXd trial_regressors(const std::vector<Event>& events, double tr_s, int volumes) {
  Eigen::MatrixXd X(volumes, static_cast<Eigen::Index>(events.size()));
  std::map<double, double> scale;  // per block duration: finding a peak costs 100k HRF values
  for (size_t j = 0; j < events.size(); ++j) {
    const Event& e = events[j];
    auto it = scale.find(e.duration);
    if (it == scale.end()) it = scale.emplace(e.duration, 1.0 / block_peak(e.duration)).first;
    const auto x = block_response(e.onset, e.duration, tr_s, volumes, it->second);
    for (int t = 0; t < volumes; ++t) X(t, static_cast<Eigen::Index>(j)) = x[static_cast<size_t>(t)];
  }
  return X;
}

// Least-squares-all: one GLM, every trial and a constant.
TrialResponses trials_lsa(const Eigen::MatrixXd& trials, const Eigen::MatrixXd& Y) {
  const Eigen::Index T = Y.rows(), n = trials.cols();
  Eigen::MatrixXd X(T, n + 1);
  X << trials, Eigen::VectorXd::Ones(T);
  const Eigen::MatrixXd xtx_inv = (X.transpose() * X).inverse();
  const Eigen::MatrixXd B = xtx_inv * (X.transpose() * Y);
  const Eigen::RowVectorXd sigma2 = (Y - X * B).colwise().squaredNorm() / static_cast<double>(T - n - 1);
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

// Least-squares-separate: per trial j the design [x_j, sum of the others, 1]. Everything
// comes from X'Y, the column sums and the squared norms of Y, so each trial costs O(values).
TrialResponses trials_lss(const Eigen::MatrixXd& trials, const Eigen::MatrixXd& Y) {
  const Eigen::Index T = Y.rows(), n = trials.cols();
  const Eigen::MatrixXd XtY = trials.transpose() * Y;
  const Eigen::RowVectorXd sY = XtY.colwise().sum(), oneY = Y.colwise().sum(), yy = Y.colwise().squaredNorm();
  const Eigen::VectorXd s = trials.rowwise().sum();
  TrialResponses r;
  r.beta.resize(n, Y.cols());
  r.t.resize(n, Y.cols());
  for (Eigen::Index j = 0; j < n; ++j) {
    const Eigen::VectorXd a = trials.col(j), o = s - a;
    Eigen::Matrix3d A;
    A << a.dot(a), a.dot(o), a.sum(), a.dot(o), o.dot(o), o.sum(), a.sum(), o.sum(), static_cast<double>(T);
    const Eigen::Matrix3d Ai = A.inverse();
    for (Eigen::Index v = 0; v < Y.cols(); ++v) {
      const Eigen::Vector3d b(XtY(j, v), sY(v) - XtY(j, v), oneY(v));
      const Eigen::Vector3d beta = Ai * b;
      const double sigma2 = std::max(0.0, yy(v) - beta.dot(b)) / static_cast<double>(T - 3);
      const double se = std::sqrt(sigma2 * Ai(0, 0));
      r.beta(j, v) = static_cast<float>(beta(0));
      r.t(j, v) = se > 0 ? static_cast<float>(beta(0) / se) : 0.0f;
    }
  }
  return r;
}

}  // namespace

TrialResponses trial_responses(const Eigen::MatrixXf& Y, const std::vector<Event>& events, double tr_s,
                               const std::string& estimator) {
  const auto T = static_cast<int>(Y.rows());
  if (T <= static_cast<int>(events.size()) + 1) throw std::runtime_error("a run has no more volumes than trials: no GLM");
  const Eigen::MatrixXd X = trial_regressors(events, tr_s, T);
  if (estimator == "lsa") return trials_lsa(X, Y.cast<double>());
  if (estimator == "lss") return trials_lss(X, Y.cast<double>());
  throw std::invalid_argument("estimator: '" + estimator + "' is not lsa or lss");
}

TrTargets tr_targets(const std::vector<Event>& events, const Eigen::MatrixXf& latents, int volumes, double tr_s,
                     double lag_s) {
  TrTargets out{Eigen::MatrixXd::Zero(volumes, latents.cols()), std::vector<char>(static_cast<size_t>(volumes), 0)};
  if (lag_s >= 0) {
    for (int v = 0; v < volumes; ++v) {
      const double t = v * tr_s - lag_s;
      for (const Event& e : events)
        if (e.onset <= t && t < e.onset + e.duration) {
          out.y.row(v) = latents.row(e.stim_index).cast<double>();
          out.use[static_cast<size_t>(v)] = 1;
        }
    }
    return out;
  }
  const Eigen::MatrixXd X = trial_regressors(events, tr_s, volumes);
  for (size_t j = 0; j < events.size(); ++j)
    out.y += X.col(static_cast<Eigen::Index>(j)) * latents.row(events[j].stim_index).cast<double>();
  double first = 1e300;
  for (const Event& e : events) first = std::min(first, e.onset);
  for (int v = 0; v < volumes; ++v) out.use[static_cast<size_t>(v)] = v * tr_s >= first;
  return out;
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
  if (runs.empty()) throw std::runtime_error("training needs at least one run");
  if (o.mode != "trial" && o.mode != "tr") throw std::invalid_argument("mode: '" + o.mode + "' is not trial or tr");
  const bool per_tr = o.mode == "tr";
  // Pass 1, every run: the trial GLM's t for voxel selection, and in trial mode the betas.
  struct PerRun {
    TrialResponses r;
    std::vector<int64_t> voxels, stims;
    std::vector<Event> events;
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
    PerRun p;
    p.events = read_events(events_path(runs[i].path));
    for (const Event& e : p.events) {
      if (e.stim_index < 0 || e.stim_index >= latents.rows())
        throw std::runtime_error(events_path(runs[i].path).string() + ": stim_index " + std::to_string(e.stim_index) +
                                 " is not a row of the latents");
      p.stims.push_back(e.stim_index);
    }
    progress(fmt::format("run {}/{}: GLM with {} trial regressors over {} values", i + 1, runs.size(), p.events.size(),
                         f.features.cols()));
    p.r = trial_responses(f.features, p.events, f.tr_s, o.estimator);
    p.voxels = f.voxels;
    const Eigen::RowVectorXf mean_t = p.r.t.colwise().sum();
    for (size_t v = 0; v < p.voxels.size(); ++v) {
      t_sum[static_cast<size_t>(p.voxels[v])] += mean_t(static_cast<Eigen::Index>(v));
      ++present[static_cast<size_t>(p.voxels[v])];
    }
    if (per_tr) p.r = {};  // the samples come from pass 2
    trials += static_cast<int64_t>(p.events.size());
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

  // The samples at the selected voxels: per trial (betas) or per TR (pass 2: the chain's
  // output again, now keeping only those voxels).
  std::vector<Eigen::VectorXd> rows_x, rows_y;
  std::vector<int> groups;
  auto columns = [&](const std::vector<int64_t>& run_voxels) {
    std::unordered_map<int64_t, Eigen::Index> col;
    for (size_t v = 0; v < run_voxels.size(); ++v) col[run_voxels[v]] = static_cast<Eigen::Index>(v);
    std::vector<Eigen::Index> c(k);
    for (size_t s = 0; s < k; ++s) c[s] = col.at(d.voxels[s]);
    return c;
  };
  for (size_t i = 0; i < per.size(); ++i) {
    if (!per_tr) {
      const auto c = columns(per[i].voxels);
      for (Eigen::Index j = 0; j < per[i].r.beta.rows(); ++j) {
        rows_x.push_back(per[i].r.beta(j, c).transpose().cast<double>());
        rows_y.push_back(latents.row(per[i].stims[static_cast<size_t>(j)]).transpose().cast<double>());
        groups.push_back(static_cast<int>(i));
      }
      per[i].r = {};
      continue;
    }
    progress(fmt::format("run {}/{}: per-TR samples of {}", i + 1, runs.size(), runs[i].run_id));
    const RunFeatures f = preprocess_run(chain, runs[i]);
    const auto c = columns(f.voxels);
    const TrTargets tt = tr_targets(per[i].events, latents, static_cast<int>(f.features.rows()), f.tr_s, o.lag_s);
    for (Eigen::Index t = 0; t < f.features.rows(); ++t) {
      Eigen::VectorXd x = f.features(t, c).transpose().cast<double>();
      // Volumes before a stage has output (a detrend's first ones are 0) are no samples.
      if (!tt.use[static_cast<size_t>(t)] || x.squaredNorm() == 0) continue;
      rows_x.push_back(std::move(x));
      rows_y.push_back(tt.y.row(t).transpose());
      groups.push_back(static_cast<int>(i));
    }
  }
  const auto n = static_cast<Eigen::Index>(rows_x.size());
  Eigen::MatrixXd X(n, static_cast<Eigen::Index>(k)), Y(n, latents.cols());
  for (Eigen::Index r = 0; r < n; ++r) {
    X.row(r) = rows_x[static_cast<size_t>(r)].transpose();
    Y.row(r) = rows_y[static_cast<size_t>(r)].transpose();
  }
  rows_x = {};
  rows_y = {};

  // z-scored with the training statistics (saved with the decoder, applied when decoding).
  const Eigen::RowVectorXd mean = X.colwise().mean();
  Eigen::RowVectorXd sd = ((X.rowwise() - mean).array().square().colwise().sum() / std::max<double>(1.0, n - 1.0)).sqrt();
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
    progress(fmt::format("fitting {} samples x {} voxels -> {} with penalty {}", n, k, latents.cols(), o.penalty));
    m = ridge_fit(X, Y, o.penalty);
  } else {
    progress(fmt::format("cross-validating {} penalties on {} samples x {} voxels, leaving one of {} runs out",
                         o.penalties.size(), n, k, runs.size()));
    const auto t0 = std::chrono::steady_clock::now();
    const RidgeFit fit = ridge_cv(X, Y, groups, o.penalties, [&](size_t i, size_t n) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress(fmt::format("cross-validation fold {}/{} done ({} penalties each): {:.1f} s, about {:.0f} s left", i, n,
                           o.penalties.size(), s, s / static_cast<double>(i) * static_cast<double>(n - i)));
    });
    m = fit.model;
    d.penalties = fit.penalties;
    d.cv_correlation = fit.cv_correlation;
  }
  d.weights = m.weights;
  d.intercept = m.intercept;
  d.penalty = m.penalty;
  d.mode = o.mode;
  d.estimator = o.estimator;
  d.lag_s = per_tr ? o.lag_s : -1;
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

Decoder random_decoder(Chain& chain, const RunFile& run, const NiftiRun& nifti, double tr_s, int64_t k,
                       const std::string& preprocessing) {
  std::vector<int64_t> available;
  run_chain_offline(chain, nifti, run.run_id, tr_s, [&](const Tr& tr) {
    if (tr.feature_voxels) available = *tr.feature_voxels;
    else available.resize(tr.volume.data.size()), std::iota(available.begin(), available.end(), 0);
  }, {.count = 1});
  k = std::min<int64_t>(k, static_cast<int64_t>(available.size()));
  Decoder d;
  d.dims = {nifti.info.dims[0], nifti.info.dims[1], nifti.info.dims[2]};
  d.tr_s = tr_s;
  // World y of each voxel (RAS: posterior is low), ties by index.
  const auto& a = nifti.info.affine;
  const int64_t nx = d.dims[0], ny = d.dims[1];
  auto world_y = [&](int64_t v) { return a[4] * static_cast<double>(v % nx) + a[5] * static_cast<double>(v / nx % ny) + a[6] * static_cast<double>(v / (nx * ny)); };
  std::stable_sort(available.begin(), available.end(), [&](int64_t p, int64_t q) { return world_y(p) < world_y(q); });
  d.voxels.assign(available.begin(), available.begin() + k);
  std::sort(d.voxels.begin(), d.voxels.end());
  d.feature_mean.assign(static_cast<size_t>(k), 0.f);
  d.feature_sd.assign(static_cast<size_t>(k), 1.f);
  Rng rng(7);
  d.weights.resize(k, kLatentDim);
  for (Eigen::Index i = 0; i < d.weights.size(); ++i) d.weights.data()[i] = static_cast<float>(rng.normal() / std::sqrt(static_cast<double>(k)));
  d.intercept = Eigen::VectorXf::Zero(kLatentDim);
  d.mode = "tr";
  d.preprocessing = preprocessing;
  d.inputs_hash = "random (hyper bench)";
  return d;
}

}  // namespace hyper

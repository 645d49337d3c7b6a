#include "eval/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

#include "core/rng.hpp"
#include "core/stats.hpp"
#include "eval/latent_metrics.hpp"
#include "eval/feature_net.hpp"
#include "eval/image_metrics.hpp"
#include "generators/generator.hpp"
#include "hyper/tr.hpp"
#include "io/npy.hpp"

namespace hyper {

Boundary load_boundary(const std::filesystem::path& npy) {
  const NpyArray a = read_npy(npy);
  if (a.data.size() != static_cast<size_t>(kLatentDim) || (a.shape.size() == 2 && a.shape[0] != 1) || a.shape.size() > 2)
    throw std::runtime_error(fmt::format("{}: a boundary must be {} values (shape [512] or [1, 512]), this is {}", npy.string(),
                                         kLatentDim, fmt::join(a.shape, " x ")));
  Boundary b{npy.stem().string(), Eigen::Map<const Eigen::VectorXf>(a.data.data(), kLatentDim).cast<double>()};
  if (b.normal.norm() == 0) throw std::runtime_error(npy.string() + ": the boundary's normal is zero");
  return b;
}

const Metric* EvalResult::find(const std::string& key) const {
  for (const Metric& m : metrics)
    if (m.key == key) return &m;
  return nullptr;
}

namespace {

// One measure of every prediction (rows) against every candidate face (columns), for the
// items (obs) and for the prior draws (draw).
struct Table {
  Eigen::MatrixXd obs, draw;
};

// Chance level, spread and permutation p-value from the null means.
void set_chance(Metric& m, const std::vector<double>& null) {
  if (null.empty()) return;
  double sum = 0, sq = 0;
  int64_t above = 0;
  for (double x : null) sum += x, sq += x * x, above += x >= m.value ? 1 : 0;
  const auto k = static_cast<double>(null.size());
  m.chance = sum / k;
  m.chance_sd = std::sqrt(std::max(0.0, sq / k - m.chance * m.chance));
  m.p = (1.0 + static_cast<double>(above)) / (k + 1.0);
}

void set_mean(Metric& m) {
  const LatencySummary s = summarize(m.items);
  m.value = s.mean;
  m.se = s.n > 1 ? s.sd / std::sqrt(static_cast<double>(s.n)) : std::numeric_limits<double>::quiet_NaN();
}

struct Context {
  const std::vector<Eigen::Index>& cand;  // item -> candidate column
  int draws;
  size_t items() const { return cand.size(); }
  // Item i's prior draw in null set k.
  Eigen::Index draw_of(int k, size_t i) const { return static_cast<Eigen::Index>((static_cast<size_t>(k) + i) % static_cast<size_t>(draws)); }
};

// A per-item measure: each item against its own face.
Metric own(const std::string& key, const std::string& label, const Table& t, const Context& c) {
  Metric m{key, label};
  for (size_t i = 0; i < c.items(); ++i) m.items.push_back(t.obs(static_cast<Eigen::Index>(i), c.cand[i]));
  set_mean(m);
  std::vector<double> null;
  for (int k = 0; k < c.draws; ++k) {
    double s = 0;
    for (size_t i = 0; i < c.items(); ++i) s += t.draw(c.draw_of(k, i), c.cand[i]);
    null.push_back(s / static_cast<double>(c.items()));
  }
  set_chance(m, null);
  return m;
}

// Identification from a row of similarities to every candidate: pairwise, the fraction of
// other candidates less similar than the own one (ties count half); top-1, all of them.
double identified(const Eigen::RowVectorXd& row, Eigen::Index own_col, bool top1) {
  double wins = 0;
  for (Eigen::Index j = 0; j < row.size(); ++j) {
    if (j == own_col) continue;
    if (top1 && row[j] >= row[own_col]) return 0.0;
    wins += row[own_col] > row[j] ? 1.0 : row[own_col] == row[j] ? 0.5 : 0.0;
  }
  return top1 ? 1.0 : wins / static_cast<double>(row.size() - 1);
}

Metric identification(const std::string& key, const std::string& label, const Table& t, const Context& c, bool top1) {
  Metric m{key, label};
  for (size_t i = 0; i < c.items(); ++i) m.items.push_back(identified(t.obs.row(static_cast<Eigen::Index>(i)), c.cand[i], top1));
  set_mean(m);
  // A draw's identification of each candidate, computed once.
  Eigen::MatrixXd hit(c.draws, t.draw.cols());
  for (int k = 0; k < c.draws; ++k)
    for (Eigen::Index col = 0; col < t.draw.cols(); ++col) hit(k, col) = identified(t.draw.row(k), col, top1);
  std::vector<double> null;
  for (int k = 0; k < c.draws; ++k) {
    double s = 0;
    for (size_t i = 0; i < c.items(); ++i) s += hit(c.draw_of(k, i), c.cand[i]);
    null.push_back(s / static_cast<double>(c.items()));
  }
  set_chance(m, null);
  return m;
}

// The mean over columns of the across-item correlation of predicted and true projections.
double mean_column_r(const Eigen::MatrixXd& pred, const Eigen::MatrixXd& truth) {
  double r = 0;
  for (Eigen::Index d = 0; d < pred.cols(); ++d) r += pearson(pred.col(d), truth.col(d));
  return r / static_cast<double>(pred.cols());
}

Metric across(const std::string& key, const std::string& label, const Eigen::MatrixXd& pred_proj, const Eigen::MatrixXd& truth_proj,
              const Eigen::MatrixXd& draw_proj, const Context& c) {
  Metric m{key, label, false};
  m.value = mean_column_r(pred_proj, truth_proj);
  std::vector<double> null;
  Eigen::MatrixXd set(truth_proj.rows(), truth_proj.cols());
  for (int k = 0; k < c.draws; ++k) {
    for (size_t i = 0; i < c.items(); ++i) set.row(static_cast<Eigen::Index>(i)) = draw_proj.row(c.draw_of(k, i));
    null.push_back(mean_column_r(set, truth_proj));
  }
  set_chance(m, null);
  return m;
}

// A drawn face as the image measures see it.
struct FaceView {
  SsimImage lum;           // luminance at image_size
  Eigen::RowVectorXd feat;  // features (empty without a feature network)
  std::vector<uint8_t> rgb;  // the face as drawn (keep_rgb: presented and reconstructed faces only)
  int side = 0;
};

// Draws the faces of `z`'s rows in batches and hands each (row, view, thumbnail) to `use`.
void draw_faces(Generator& gen, FeatureNet* net, const Eigen::MatrixXd& z, const EvalOptions& o, bool keep_rgb,
                const std::function<void(Eigen::Index, FaceView&&, std::vector<uint8_t>&&)>& use) {
  const int batch = std::max(1, o.batch);
  std::vector<float> buf;
  for (Eigen::Index first = 0; first < z.rows(); first += batch) {
    const int n = static_cast<int>(std::min<Eigen::Index>(batch, z.rows() - first));
    buf.resize(static_cast<size_t>(n) * kLatentDim);
    for (int b = 0; b < n; ++b)
      for (int k = 0; k < kLatentDim; ++k) buf[static_cast<size_t>(b * kLatentDim + k)] = static_cast<float>(z(first + b, k));
    const ImageBatch& images = gen.generate(buf.data(), n);
    std::vector<std::vector<uint8_t>> net_in;
    std::vector<FaceView> views;
    std::vector<std::vector<uint8_t>> thumbs;
    for (int b = 0; b < n; ++b) {
      const auto rgb = to_rgb8(images, b);
      views.push_back({prepare_ssim(resize(luminance(rgb, images.width, images.height), o.image_size, o.image_size)), {},
                       keep_rgb && o.paper_ssim ? rgb : std::vector<uint8_t>{}, images.width});
      thumbs.push_back(o.thumbnail > 0 ? resize_rgb(rgb, images.width, images.height, o.thumbnail, o.thumbnail)
                                       : std::vector<uint8_t>{});
      if (net)
        net_in.push_back(o.features_nearest ? resize_rgb_nearest(rgb, images.width, images.height, net->size(), net->size())
                                            : resize_rgb(rgb, images.width, images.height, net->size(), net->size()));
    }
    if (net) {
      const Eigen::MatrixXd f = net->features(net_in);
      for (int b = 0; b < n; ++b) views[static_cast<size_t>(b)].feat = f.row(b);
    }
    for (int b = 0; b < n; ++b) use(first + b, std::move(views[static_cast<size_t>(b)]), std::move(thumbs[static_cast<size_t>(b)]));
  }
}

}  // namespace

struct FaceCache {
  bool filled = false;
  Eigen::MatrixXd candidates;  // the latents the cache was made for
  int draws = 0;
  std::vector<FaceView> views;
  std::vector<std::vector<uint8_t>> thumbs;
  std::vector<Eigen::MatrixXd> draw_tables;  // per image measure: draws x candidates
};
void FaceCacheDeleter::operator()(FaceCache* c) const { delete c; }
FaceCachePtr make_face_cache() { return FaceCachePtr(new FaceCache); }

Eigen::MatrixXd prior_draws(int draws, uint64_t seed) {
  Rng rng(seed, 17);
  Eigen::MatrixXd r(draws, kLatentDim);
  for (Eigen::Index i = 0; i < r.size(); ++i) r.data()[i] = rng.normal();
  return r;
}

EvalResult evaluate(const EvalItems& items, const Eigen::MatrixXd& stimuli, Generator* generator, FeatureNet* features,
                    const std::vector<Boundary>& boundaries, const EvalOptions& o,
                    const std::function<void(int64_t, int64_t)>& progress, FaceCache* cache) {
  const auto n = static_cast<size_t>(items.predicted.rows());
  if (n == 0 || items.stimulus.size() != n) throw std::invalid_argument("evaluate: no items");
  if (stimuli.cols() != kLatentDim || items.predicted.cols() != kLatentDim) throw std::invalid_argument("evaluate: latents must have 512 columns");
  if (o.draws < 0) throw std::invalid_argument("eval.draws: must not be negative");
  // Candidates: the distinct faces, in stimulus order.
  std::map<int64_t, Eigen::Index> col_of;
  for (int64_t s : items.stimulus) {
    if (s < 0 || s >= stimuli.rows()) throw std::invalid_argument(fmt::format("evaluate: stimulus {} is not a row of the stimulus latents", s));
    col_of.emplace(s, 0);
  }
  Eigen::MatrixXd cand_z(static_cast<Eigen::Index>(col_of.size()), kLatentDim);
  Eigen::Index next = 0;
  for (auto& [s, col] : col_of) {
    col = next;
    cand_z.row(next++) = stimuli.row(s);
  }
  std::vector<Eigen::Index> cand;
  for (int64_t s : items.stimulus) cand.push_back(col_of.at(s));
  const Context c{cand, o.draws};
  const Eigen::MatrixXd& P = items.predicted;
  const Eigen::MatrixXd R = prior_draws(o.draws, o.seed);
  const auto C = cand_z.rows();

  EvalResult res;
  res.items = static_cast<int64_t>(n);
  res.candidates = C;
  res.draws = o.draws;

  // Latent measures.
  const std::vector<std::pair<std::string, std::string>> latent_names{
      {"latent_similarity_mse", "latent similarity 1/(1+MSE) (the paper's code)"},
      {"latent_similarity_l2", "latent similarity 1/(1+L2) (the paper's formula)"},
      {"latent_r", "latent Pearson r"},
      {"latent_cosine", "latent cosine"}};
  auto latent_measure = [](int m, const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
    switch (m) {
      case 0: return 1.0 / (1.0 + (a - b).squaredNorm() / static_cast<double>(a.size()));
      case 1: return 1.0 / (1.0 + (a - b).norm());
      case 2: return pearson(a, b);
      default: return cosine(a, b);
    }
  };
  std::vector<Table> lat(latent_names.size());
  for (size_t m = 0; m < lat.size(); ++m) {
    lat[m].obs.resize(static_cast<Eigen::Index>(n), C);
    lat[m].draw.resize(o.draws, C);
    for (Eigen::Index col = 0; col < C; ++col) {
      for (Eigen::Index i = 0; i < P.rows(); ++i) lat[m].obs(i, col) = latent_measure(static_cast<int>(m), P.row(i).transpose(), cand_z.row(col).transpose());
      for (Eigen::Index k = 0; k < R.rows(); ++k) lat[m].draw(k, col) = latent_measure(static_cast<int>(m), R.row(k).transpose(), cand_z.row(col).transpose());
    }
    res.metrics.push_back(own(latent_names[m].first, latent_names[m].second, lat[m], c));
  }
  if (C >= 2) {
    res.metrics.push_back(identification("latent_identification_pairwise", "latent identification, pairwise", lat[2], c, false));
    res.metrics.push_back(identification("latent_identification_top1", fmt::format("latent identification, top-1 of {}", C), lat[2], c, true));
  }
  Eigen::MatrixXd truth(static_cast<Eigen::Index>(n), kLatentDim);
  for (size_t i = 0; i < n; ++i) truth.row(static_cast<Eigen::Index>(i)) = cand_z.row(cand[i]);
  if (n >= 3) {
    const Eigen::MatrixXd D = random_directions(kLatentDim, o.directions, o.seed + 7);
    res.metrics.push_back(across("direction_r", fmt::format("direction r ({} random directions)", o.directions), P * D, truth * D, R * D, c));
    for (const Boundary& b : boundaries)
      res.metrics.push_back(across("attribute_r_" + b.name, "attribute r: " + b.name, P * b.normal, truth * b.normal, R * b.normal, c));
  }

  // Image measures: both faces drawn by the generator.
  if (generator) {
    res.images = generator->describe();
    if (features) res.features = features->describe();
    FaceCache local;
    FaceCache& fc = cache ? *cache : local;
    const bool reuse = fc.filled;
    if (reuse && (fc.candidates.rows() != C || fc.candidates != cand_z || fc.draws != o.draws))
      throw std::logic_error("evaluate: a face cache used for other faces or draws");
    const int64_t total = (reuse ? 0 : C + o.draws) + static_cast<int64_t>(n);
    int64_t done = 0;
    auto tick = [&] {
      if (progress) progress(++done, total);
    };
    if (!reuse) {
      fc.views.assign(static_cast<size_t>(C), {});
      fc.thumbs.assign(static_cast<size_t>(C), {});
      draw_faces(*generator, features, cand_z, o, true, [&](Eigen::Index row, FaceView&& v, std::vector<uint8_t>&& th) {
        fc.views[static_cast<size_t>(row)] = std::move(v);
        fc.thumbs[static_cast<size_t>(row)] = std::move(th);
        tick();
      });
    }
    const std::vector<FaceView>& cviews = fc.views;
    const std::vector<std::vector<uint8_t>>& cthumbs = fc.thumbs;
    const int measures = features ? 4 : 2;  // Pearson r, SSIM, feature similarity 1/(1+L2) and 1/(1+MSE)
    std::vector<Table> img(static_cast<size_t>(measures));
    for (Table& t : img) t.obs.resize(static_cast<Eigen::Index>(n), C), t.draw.resize(o.draws, C);
    std::vector<double> paper_ssim(o.paper_ssim ? n : 0);
    auto compare = [&](bool is_draw) {
      return [&, is_draw](Eigen::Index row, FaceView&& v, std::vector<uint8_t>&& th) {
        for (Eigen::Index col = 0; col < C; ++col) {
          const FaceView& cv = cviews[static_cast<size_t>(col)];
          const double l2 = features ? (v.feat - cv.feat).norm() : 0.0;
          const double values[4] = {pearson(v.lum.g, cv.lum.g), ssim(v.lum, cv.lum), 1.0 / (1.0 + l2),
                                    1.0 / (1.0 + l2 * l2 / std::max<double>(1.0, static_cast<double>(v.feat.size())))};
          for (int m = 0; m < measures; ++m) (is_draw ? img[static_cast<size_t>(m)].draw : img[static_cast<size_t>(m)].obs)(row, col) = values[m];
        }
        if (!is_draw && !v.rgb.empty()) {
          const FaceView& own_face = cviews[static_cast<size_t>(cand[static_cast<size_t>(row)])];
          paper_ssim[static_cast<size_t>(row)] = ssim_rgb_uniform(v.rgb, own_face.rgb, v.side, v.side);
        }
        if (!is_draw && o.thumbnail > 0) {
          res.stimulus_thumbs.push_back(cthumbs[static_cast<size_t>(cand[static_cast<size_t>(row)])]);
          res.reconstruction_thumbs.push_back(std::move(th));
        }
        tick();
      };
    };
    draw_faces(*generator, features, P, o, true, compare(false));
    if (reuse) {
      for (size_t m = 0; m < img.size(); ++m) img[m].draw = fc.draw_tables.at(m);
    } else {
      draw_faces(*generator, features, R, o, false, compare(true));
      fc.draw_tables.clear();
      for (const Table& t : img) fc.draw_tables.push_back(t.draw);
      fc.candidates = cand_z;
      fc.draws = o.draws;
      fc.filled = true;
    }
    res.thumbnail = o.thumbnail;
    const std::string size = fmt::format("{}x{}", o.image_size, o.image_size);
    res.metrics.push_back(own("image_r", "image Pearson r (luminance, " + size + ")", img[0], c));
    res.metrics.push_back(own("image_ssim", "image SSIM (luminance, " + size + ")", img[1], c));
    if (!paper_ssim.empty()) {
      // main.py's SSIM of the full-size faces; chance would need every prior face at full size
      // against every presented one (1000 x 36 comparisons of 1024 px RGB), so none is given.
      Metric m{"image_ssim_paper", fmt::format("image SSIM as the paper's code (RGB, {0}x{0}, 7x7 uniform window; no chance level)",
                                               generator->resolution())};
      m.items = paper_ssim;
      set_mean(m);
      res.metrics.push_back(m);
    }
    if (C >= 2) {
      res.metrics.push_back(identification("image_identification_pairwise", "image identification, pairwise", img[0], c, false));
      res.metrics.push_back(identification("image_identification_top1", fmt::format("image identification, top-1 of {}", C), img[0], c, true));
    }
    if (features) {
      res.metrics.push_back(own("feature_similarity_mse", "feature similarity 1/(1+MSE) (the paper's code)", img[3], c));
      res.metrics.push_back(own("feature_similarity", "feature similarity 1/(1+L2) (the paper's formula)", img[2], c));
    }
  }
  return res;
}

}  // namespace hyper

// `zscore`: each value minus its running mean over the run, over its running standard
// deviation (Welford's update, the current volume included; sample sd, n - 1). Outputs 0
// while a value has fewer than two volumes or no variance.
// With `fixed` = a .npy of shape (2, values) (row 0 means, row 1 sds), those statistics
// are used instead (e.g. the training data's, saved with a decoder).
#include <cmath>
#include <stdexcept>
#include <vector>

#include "io/npy.hpp"
#include "preprocess/stages.hpp"

namespace hyper {

namespace {

class ZScore : public Stage {
 public:
  explicit ZScore(const StageParams& p) : fixed_(p.get_string("fixed")) {}
  void preflight(const Spec& in, Spec& out) const override { out = in; }
  void initialize(const Spec& in) override {
    features_ = in.features;
    if (fixed_.empty()) return;
    NpyArray a;
    try {
      a = read_npy(fixed_);
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string("fixed: ") + e.what());
    }
    if (a.shape.size() != 2 || a.shape[0] != 2) throw std::invalid_argument("fixed: " + fixed_ + " must have shape (2, values)");
    const auto v = static_cast<size_t>(a.shape[1]);
    fixed_mean_.assign(a.data.begin(), a.data.begin() + static_cast<std::ptrdiff_t>(v));
    fixed_sd_.assign(a.data.begin() + static_cast<std::ptrdiff_t>(v), a.data.end());
  }
  std::vector<uint8_t> uses(const std::vector<uint8_t>& used) override { return used; }  // each value its own
  void start_run(const RunInfo&) override {
    n_ = 0;
    mean_.clear();
    m2_.clear();
  }
  void process(Tr& tr) override {
    const std::span<float> y = stage_values(tr, features_);
    if (!fixed_.empty()) {
      // A wrong length is a configuration fault found at the first volume: every output 0.
      const bool fits = fixed_mean_.size() == y.size();
      for (size_t v = 0; v < y.size(); ++v)
        y[v] = fits && fixed_sd_[v] > 0 ? (y[v] - fixed_mean_[v]) / fixed_sd_[v] : 0.0f;
      return;
    }
    if (mean_.size() != y.size()) mean_.assign(y.size(), 0.0), m2_.assign(y.size(), 0.0);  // first volume
    ++n_;
    const double n = static_cast<double>(n_);
    for (size_t v = 0; v < y.size(); ++v) {
      const double x = y[v], d = x - mean_[v];
      mean_[v] += d / n;
      m2_[v] += d * (x - mean_[v]);
      const double sd = n_ > 1 ? std::sqrt(m2_[v] / (n - 1)) : 0.0;
      y[v] = sd > 0 ? static_cast<float>((x - mean_[v]) / sd) : 0.0f;
    }
  }

 private:
  std::string fixed_;
  std::vector<float> fixed_mean_, fixed_sd_;
  bool features_ = false;
  int64_t n_ = 0;
  std::vector<double> mean_, m2_;
};

}  // namespace

void register_zscore(Registry& r) {
  r.add_stage({"zscore", "z-score per value: running over the run (Welford), or with fixed statistics",
               {{.key = "fixed", .type = SettingType::String, .def = std::string(""),
                 .help = "a .npy of shape (2, values): means and sds to use instead of the run's (empty: running)"}},
               [](const StageParams& p) { return std::make_unique<ZScore>(p); }});
}

}  // namespace hyper

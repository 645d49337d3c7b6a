// `zscore`: each value minus its running mean over the run, over its running standard
// deviation (Welford's update, the current volume included; sample sd, n - 1). Outputs 0
// while a value has fewer than two volumes or no variance.
#include <cmath>
#include <vector>

#include "preprocess/stages.hpp"

namespace hyper {

namespace {

class ZScore : public Stage {
 public:
  explicit ZScore(const StageParams&) {}
  void preflight(const Spec& in, Spec& out) const override { out = in; }
  void initialize(const Spec& in) override { features_ = in.features; }
  void start_run(const RunInfo&) override {
    n_ = 0;
    mean_.clear();
    m2_.clear();
  }
  void process(Tr& tr) override {
    const std::span<float> y = stage_values(tr, features_);
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
  bool features_ = false;
  int64_t n_ = 0;
  std::vector<double> mean_, m2_;
};

}  // namespace

void register_zscore(Registry& r) {
  r.add_stage({"zscore", "running z-score per value over the run (Welford)", {},
               [](const StageParams& p) { return std::make_unique<ZScore>(p); }});
}

}  // namespace hyper

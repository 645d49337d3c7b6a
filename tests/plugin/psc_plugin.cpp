// An example third-party stage, built against include/hyper only (README, "Writing a
// stage plugin"): percent signal change against the run's first volume.
#include <vector>

#include "hyper/registry.hpp"

namespace {

class PercentSignalChange : public hyper::Stage {
 public:
  explicit PercentSignalChange(const hyper::StageParams& p) : scale_(p.get_float("scale")) {}

  void preflight(const hyper::Spec& in, hyper::Spec& out) const override {
    if (scale_ == 0) throw std::invalid_argument("scale: must not be 0");
    out = in;
  }
  void initialize(const hyper::Spec& in) override { features_ = in.features; }
  void start_run(const hyper::RunInfo&) override { reference_.clear(); }
  // Voxel by voxel: the output at a voxel reads only that voxel (the default: every voxel).
  std::vector<uint8_t> uses(const std::vector<uint8_t>& used) override { return used; }
  void process(hyper::Tr& tr) override {
    std::vector<float>& y = features_ ? tr.features : tr.volume.data;
    if (reference_.empty()) reference_ = y;  // the run's first volume
    for (size_t i = 0; i < y.size(); ++i)
      y[i] = reference_[i] != 0 ? static_cast<float>(scale_ * (y[i] - reference_[i]) / reference_[i]) : 0.0f;
  }

 private:
  double scale_;
  bool features_ = false;
  std::vector<float> reference_;
};

}  // namespace

HYPER_PLUGIN(registry) {
  registry.add_stage({"psc", "percent signal change against the run's first volume",
                      {{.key = "scale", .type = hyper::SettingType::Float, .def = 100.0,
                        .help = "100 gives percent", .min = -1e6, .max = 1e6}},
                      [](const hyper::StageParams& p) { return std::make_unique<PercentSignalChange>(p); }});
}

// `mask`: keeps the voxels of a mask and turns the grid into a feature vector.
// The mask is a NIfTI file (non-zero voxels) or, with source = "auto", the voxels of the
// run's first volume brighter than `threshold` times its mean (as MURFI does).
#include <memory>
#include <numeric>
#include <stdexcept>

#include "io/nifti.hpp"
#include "preprocess/stages.hpp"

namespace hyper {

namespace {

class Mask : public Stage {
 public:
  explicit Mask(const StageParams& p) : source_(p.get_string("source")), threshold_(p.get_float("threshold")) {}

  void preflight(const Spec& in, Spec& out) const override {
    if (in.features) throw std::invalid_argument("source: mask needs a grid; put it before stages that make features");
    if (source_ != "auto") check_grid_file("source", source_, in);
    out.features = true;
  }

  void initialize(const Spec&) override {
    if (source_ == "auto") return;
    const NiftiRun m = read_nifti(source_);
    const Volume v = m.volume(0);
    auto idx = std::make_shared<std::vector<int64_t>>();
    for (int64_t i = 0; i < v.voxel_count(); ++i)
      if (v.data[static_cast<size_t>(i)] != 0) idx->push_back(i);
    if (idx->empty()) throw std::invalid_argument("source: " + source_ + " has no non-zero voxel");
    voxels_ = std::move(idx);
  }

  void start_run(const RunInfo&) override {
    if (source_ == "auto") voxels_.reset();  // made from this run's first volume
  }

  std::vector<uint8_t> uses(const std::vector<uint8_t>& used) override { return used; }  // a feature is its voxel

  void process(Tr& tr) override {
    const auto& data = tr.volume.data;
    if (!voxels_) {
      const double mean = std::accumulate(data.begin(), data.end(), 0.0) / static_cast<double>(data.size());
      auto idx = std::make_shared<std::vector<int64_t>>();
      for (size_t i = 0; i < data.size(); ++i)
        if (data[i] > threshold_ * mean) idx->push_back(static_cast<int64_t>(i));
      voxels_ = std::move(idx);
    }
    tr.features.resize(voxels_->size());
    for (size_t i = 0; i < voxels_->size(); ++i) tr.features[i] = data[static_cast<size_t>((*voxels_)[i])];
    tr.feature_voxels = voxels_;
  }

 private:
  std::string source_;
  double threshold_;
  std::shared_ptr<const std::vector<int64_t>> voxels_;
};

}  // namespace

void register_mask(Registry& r) {
  r.add_stage({"mask", "keep the voxels of a mask (a NIfTI file or automatic); the grid becomes a feature vector",
               {{.key = "source", .type = SettingType::String, .def = std::string("auto"),
                 .help = "a NIfTI mask (non-zero voxels kept), or \"auto\": the run's first volume above threshold x its mean"},
                {.key = "threshold", .type = SettingType::Float, .def = 0.125, .unit = "x mean intensity",
                 .help = "automatic mask threshold (MURFI's 0.125)", .min = 0.0, .max = 100.0}},
               [](const StageParams& p) { return std::make_unique<Mask>(p); }});
}

}  // namespace hyper

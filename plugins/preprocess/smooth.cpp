// `smooth`: isotropic Gaussian smoothing given as FWHM in mm (so anisotropic voxels get
// different widths in voxels per axis), zero outside the grid. Three 1D convolutions
// (separable_gaussian.hpp) by default: faster than the FFT (fft_gaussian.hpp) at every
// kernel the stage allows, 2.3-15x in hyper_bench_preprocess (README, "Preprocessing");
// `method = "fft"` keeps the FFT, which gives the same result to float rounding.
#include <memory>
#include <stdexcept>

#include "preprocess/fft_gaussian.hpp"
#include "preprocess/separable_gaussian.hpp"
#include "preprocess/stages.hpp"

namespace hyper {

namespace {

class Smooth : public Stage {
 public:
  Rebuild rebuild() const override { return Rebuild::Stateless; }
  explicit Smooth(const StageParams& p)
      : fwhm_(p.get_float("fwhm_mm")), truncate_(p.get_float("truncate")), fft_(p.get_string("method") == "fft"),
        threads_(static_cast<int>(p.get_int("threads"))) {}

  void preflight(const Spec& in, Spec& out) const override {
    if (in.features) throw std::invalid_argument("fwhm_mm: smooth needs a grid; put it before mask");
    out = in;
  }

  void initialize(const Spec& in) override {
    dims_ = in.dims;
    if (fwhm_ <= 0) return;
    if (fft_) {
      fft_gauss_ = std::make_unique<FftGaussian>();
      fft_gauss_->initialize(in.dims, in.voxel_mm, fwhm_, truncate_);
    } else {
      direct_.initialize(in.dims, in.voxel_mm, fwhm_, truncate_);
    }
  }

  // A voxel's smoothed value reads the voxels within the kernel's radius along each axis, in
  // turn: the cube around it (the FFT reads everything).
  std::vector<uint8_t> uses(const std::vector<uint8_t>& used) override {
    if (fwhm_ <= 0 || used.empty()) return used;
    if (fft_) return {};
    return dilate_cube(used, dims_, direct_.radius());
  }

  void process(Tr& tr) override {
    if (fwhm_ <= 0) return;
    float* v = tr.volume.data.data();
    if (fft_) fft_gauss_->apply(v, v);
    else direct_.apply(v, v, &WorkPool::of_this_thread(threads_));
  }

 private:
  double fwhm_, truncate_;
  bool fft_;
  std::array<int64_t, 3> dims_{};
  SeparableGaussian direct_;
  std::unique_ptr<FftGaussian> fft_gauss_;
  int threads_;
};

}  // namespace

void register_smooth(Registry& r) {
  r.add_stage({"smooth", "Gaussian smoothing (FWHM in mm), zero outside the grid",
               {{.key = "fwhm_mm", .type = SettingType::Float, .def = 5.0, .unit = "mm",
                 .help = "full width at half maximum; 0 passes volumes through", .min = 0.0, .max = 100.0},
                {.key = "truncate", .type = SettingType::Float, .def = 4.0, .unit = "sigmas",
                 .help = "kernel radius", .min = 1.0, .max = 10.0},
                {.key = "threads", .type = SettingType::Int, .def = int64_t{2},
                 .help = "threads sharing each volume (direct method; the same values with any number)", .min = 1.0, .max = 64.0,
                 .same_numbers = true},
                {.key = "method", .type = SettingType::String, .def = std::string("direct"),
                 .help = "direct: three 1D convolutions (faster at every width here); fft: FFTW, the same result to float "
                         "rounding", .choices = {"direct", "fft"}}},
               [](const StageParams& p) { return std::make_unique<Smooth>(p); }});
}

}  // namespace hyper

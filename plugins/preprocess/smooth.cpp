// `smooth`: isotropic Gaussian smoothing given as FWHM in mm (so anisotropic voxels get
// different widths in voxels per axis), by FFT (fft_gaussian.hpp): planned once at
// initialize, zero-padded so nothing wraps around.
#include <stdexcept>

#include "preprocess/fft_gaussian.hpp"
#include "preprocess/stages.hpp"

namespace hyper {

namespace {

class Smooth : public Stage {
 public:
  Rebuild rebuild() const override { return Rebuild::Stateless; }
  explicit Smooth(const StageParams& p) : fwhm_(p.get_float("fwhm_mm")), truncate_(p.get_float("truncate")) {}

  void preflight(const Spec& in, Spec& out) const override {
    if (in.features) throw std::invalid_argument("fwhm_mm: smooth needs a grid; put it before mask");
    out = in;
  }

  void initialize(const Spec& in) override {
    if (fwhm_ > 0) gauss_.initialize(in.dims, in.voxel_mm, fwhm_, truncate_);
  }

  void process(Tr& tr) override {
    if (fwhm_ > 0) gauss_.apply(tr.volume.data.data(), tr.volume.data.data());
  }

 private:
  double fwhm_, truncate_;
  FftGaussian gauss_;
};

}  // namespace
void register_smooth(Registry& r) {
  r.add_stage({"smooth", "Gaussian smoothing (FWHM in mm) by FFT, zero-padded so nothing wraps around",
               {{.key = "fwhm_mm", .type = SettingType::Float, .def = 5.0, .unit = "mm",
                 .help = "full width at half maximum; 0 passes volumes through", .min = 0.0, .max = 100.0},
                {.key = "truncate", .type = SettingType::Float, .def = 4.0, .unit = "sigmas",
                 .help = "kernel radius", .min = 1.0, .max = 10.0}},
               [](const StageParams& p) { return std::make_unique<Smooth>(p); }});
}

}  // namespace hyper

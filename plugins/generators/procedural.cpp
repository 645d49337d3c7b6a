// The `procedural` generator: a drawn face for demos and tests without GAN weights, labelled
// "procedural stand-in" wherever it is shown. The latent is projected on 24 fixed random
// unit directions (seeded; every one of the 512 dimensions enters every parameter), each
// projection N(0, 1) for latents from the prior, and the parameters set the face: shape,
// skin tone, hair colour and length, eye size, spacing and colour, brow tilt, nose, mouth
// width and smile, glasses, background. Shapes are signed distance functions of the pixel
// position with a one-pixel smooth edge (anti-aliased at any resolution), all in tensor
// ops on the whole batch, so it runs on CUDA as on the CPU. Every parameter moves the
// image smoothly: nearby latents give similar faces.
#include <torch/torch.h>


#include <spdlog/fmt/fmt.h>

#include "generators/generator.hpp"
#include "generators/torch_common.hpp"

namespace hyper {

namespace {

using torch::Tensor;

enum Param {
  kFaceWidth, kFaceHeight, kSkin, kSkinWarm, kHairDark, kHairRed, kHairLength, kHairVolume, kEyeSize, kEyeSpacing,
  kEyeHeight, kIris, kBrowTilt, kBrowHeight, kNoseLength, kNoseWidth, kMouthWidth, kSmile, kLipColour, kGlasses,
  kBackgroundHue, kBackgroundLight, kHeadTilt, kJaw, kParamCount
};

class Procedural : public Generator {
 public:
  explicit Procedural(const GeneratorOptions& o) : device_(o.device) {
    dtype_ = torch_dtype(o.dtype, device_);
    torch::set_num_threads(std::max(1, o.threads));
    resolution_ = o.resolution > 0 ? o.resolution : 256;
    if (resolution_ < 16) throw std::runtime_error(fmt::format("generator.resolution: {} is below 16 pixels", resolution_));
    // The fixed projection: its own seeded generator, so that the faces never depend on
    // anything else that draws random numbers.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(20221004);
    Tensor dirs = at::normal(0.0, 1.0, {512, kParamCount}, gen);
    directions_ = (dirs / dirs.norm(2, 0, true)).to(device_, dtype_);
    const Tensor axis = (torch::arange(resolution_, torch::kFloat64) + 0.5) / resolution_ * 2.0 - 1.0;  // pixel centres in [-1, 1]
    auto grid = torch::meshgrid({axis, axis}, "ij");
    gy_ = grid[0].unsqueeze(0).to(device_, dtype_);
    gx_ = grid[1].unsqueeze(0).to(device_, dtype_);
    aa_ = 2.0 / resolution_;  // one pixel of smooth edge
  }

  std::string describe() const override {
    return fmt::format("procedural stand-in (not a GAN) {}x{}, {} {}", resolution_, resolution_, device_.str(), c10::toString(dtype_));
  }
  int resolution() const override { return resolution_; }

  const ImageBatch& generate(const float* latents, int n) override {
    torch::InferenceMode guard;
    const Tensor z = torch::from_blob(const_cast<float*>(latents), {n, 512}, torch::kFloat32).to(device_, dtype_);
    return copy_images(draw(z.matmul(directions_)), out_);
  }

 private:
  // Parameter k of every face as [N, 1, 1], mapped smoothly into [lo, hi].
  Tensor param(const Tensor& p, int k, double lo, double hi) const {
    return (lo + (hi - lo) * torch::sigmoid(p.select(1, k))).view({-1, 1, 1});
  }
  // Coverage of the inside of a signed distance (negative inside), anti-aliased.
  Tensor cover(const Tensor& sdf) const { return torch::clamp(0.5 - sdf / aa_, 0.0, 1.0); }
  static Tensor ellipse(const Tensor& x, const Tensor& y, const Tensor& a, const Tensor& b) {
    return (torch::sqrt((x / a).square() + (y / b).square()) - 1.0) * torch::min(a, b);
  }
  // colour [N, 3] as [N, 3, 1, 1]
  static Tensor rgb(const Tensor& c) { return c.view({-1, 3, 1, 1}); }
  static Tensor paint(const Tensor& img, const Tensor& colour, const Tensor& alpha) {
    return torch::lerp(img, colour, alpha.unsqueeze(1));
  }
  Tensor mix3(const Tensor& t, std::array<double, 3> a, std::array<double, 3> b) const {
    const Tensor ca = torch::tensor({a[0], a[1], a[2]}, torch::TensorOptions().dtype(dtype_).device(device_));
    const Tensor cb = torch::tensor({b[0], b[1], b[2]}, torch::TensorOptions().dtype(dtype_).device(device_));
    return ca + (cb - ca) * t.view({-1, 1});  // t: [N, 1, 1] in [0, 1]
  }

  Tensor draw(const Tensor& p) const {
    const auto n = p.size(0);
    // The head turns a little: rotate the frame.
    const Tensor tilt = param(p, kHeadTilt, -0.15, 0.15);
    const Tensor x = gx_ * torch::cos(tilt) + (gy_ - 0.1) * torch::sin(tilt);
    const Tensor y = (gy_ - 0.1) * torch::cos(tilt) - gx_ * torch::sin(tilt);

    // Background: a soft colour with a vertical gradient.
    const Tensor hue = param(p, kBackgroundHue, 0, 1), light = param(p, kBackgroundLight, 0.35, 0.85);
    Tensor img = (mix3(hue, {0.35, 0.55, 0.8}, {0.85, 0.6, 0.45}).view({-1, 3, 1, 1}) * light.unsqueeze(1) *
                  (1.0 - 0.25 * gy_.unsqueeze(1)))
                     .expand({n, 3, resolution_, resolution_})
                     .clone();

    const Tensor fw = param(p, kFaceWidth, 0.42, 0.58), fh = param(p, kFaceHeight, 0.55, 0.7);
    // Hair behind the head: a larger ellipse, longer below with hair length.
    const Tensor hair_dark = param(p, kHairDark, 0, 1), hair_red = param(p, kHairRed, 0, 0.6);
    const Tensor hair = mix3(hair_dark, {0.85, 0.7, 0.4}, {0.12, 0.08, 0.06}) + mix3(hair_red, {0, 0, 0}, {0.35, 0.05, -0.05});
    const Tensor volume = param(p, kHairVolume, 1.05, 1.25), length = param(p, kHairLength, 0.0, 0.7);
    const Tensor hair_back = torch::min(ellipse(x, y + 0.08, fw * volume, fh * volume),
                                        torch::max(torch::abs(x) - fw * volume * 0.95, torch::abs(y - length * 0.5) - length * 0.5 - 0.05));
    img = paint(img, rgb(hair), cover(hair_back));
    // Neck, then the face (a jaw that narrows), then hair over the forehead.
    const Tensor skin = mix3(param(p, kSkin, 0, 1), {0.96, 0.8, 0.68}, {0.42, 0.27, 0.18}) +
                        mix3(param(p, kSkinWarm, 0, 1), {-0.03, 0, 0.03}, {0.05, 0.0, -0.04});
    img = paint(img, rgb(skin * 0.9), cover(torch::max(torch::abs(x) - fw * 0.45, torch::abs(y - fh - 0.2) - 0.3)));
    const Tensor jaw = param(p, kJaw, 0.65, 1.0);
    const Tensor width_at = fw * torch::where(y > 0, 1.0 - (1.0 - jaw) * (y / fh).clamp(0, 1), torch::ones_like(y));
    img = paint(img, rgb(skin), cover(ellipse(x, y, width_at, fh)));
    img = paint(img, rgb(hair), cover(torch::max(ellipse(x, y + 0.05, fw * 1.02, fh * 1.0), y + fh * 0.55)));

    // Eyes: white, iris, pupil; size, spacing, height and iris colour from the latent.
    const Tensor es = param(p, kEyeSize, 0.045, 0.075), sp = param(p, kEyeSpacing, 0.16, 0.24), eh = param(p, kEyeHeight, -0.16, -0.06);
    const Tensor iris = mix3(param(p, kIris, 0, 1), {0.25, 0.45, 0.75}, {0.3, 0.18, 0.08});
    for (double side : {-1.0, 1.0}) {
      const Tensor ex = x - side * sp, ey = y - eh;
      img = paint(img, rgb(torch::ones_like(iris) * 0.97), cover(ellipse(ex, ey, es * 1.5, es)));
      img = paint(img, rgb(iris), cover(ellipse(ex, ey, es * 0.8, es * 0.8)));
      img = paint(img, rgb(torch::zeros_like(iris) + 0.05), cover(ellipse(ex, ey, es * 0.35, es * 0.35)));
      // Brows: tilted bars above the eyes.
      const Tensor bt = param(p, kBrowTilt, -0.35, 0.35) * side, bh = param(p, kBrowHeight, 0.07, 0.13);
      const Tensor bx = ex, by = ey + bh + bt * ex;
      img = paint(img, rgb(hair * 0.8), cover(ellipse(bx, by, es * 1.7, es * 0.28)));
    }
    // Nose: a shaded ridge and its tip.
    const Tensor nl = param(p, kNoseLength, 0.12, 0.22), nw = param(p, kNoseWidth, 0.035, 0.07);
    img = paint(img, rgb(skin * 0.8), cover(ellipse(x, y - eh - nl * 0.55, nw * 0.45, nl * 0.55)) * 0.5);
    img = paint(img, rgb(skin * 0.75), cover(ellipse(x, y - eh - nl, nw, nw * 0.6)));
    // Mouth: a curved band; the smile bends it and widens it.
    const Tensor mw = param(p, kMouthWidth, 0.09, 0.16), smile = param(p, kSmile, -0.9, 2.2);
    const Tensor my = eh + nl + 0.12, mx = x / mw;
    const Tensor curve = y - my + smile * 0.05 * (1.0 - mx.square());
    const Tensor lips = mix3(param(p, kLipColour, 0, 1), {0.75, 0.35, 0.35}, {0.5, 0.2, 0.22});
    img = paint(img, rgb(lips), cover(torch::max(torch::abs(curve) - 0.018 * (1.0 - 0.5 * mx.square()), torch::abs(x) - mw)));
    // Glasses: two rims and a bridge, faded in smoothly with the parameter.
    const Tensor glasses = torch::sigmoid(4.0 * (p.select(1, kGlasses) - 0.3)).view({-1, 1, 1});
    Tensor rims = torch::full_like(x, 1e9);  // outside everywhere, to start
    for (double side : {-1.0, 1.0})
      rims = torch::min(rims, torch::abs(ellipse(x - side * sp, y - eh, es * 2.3, es * 1.8)) - 0.012);
    rims = torch::min(rims, torch::max(torch::abs(y - eh + es * 0.3) - 0.007, torch::abs(x) - (sp - es * 2.3)));
    img = paint(img, rgb(torch::zeros_like(hair) + 0.08), cover(rims) * glasses);
    return (img * 2.0 - 1.0).clamp(-1.0, 1.0);
  }

  torch::Device device_;
  torch::Dtype dtype_ = torch::kFloat32;
  int resolution_ = 256;
  double aa_ = 0;
  Tensor directions_, gx_, gy_;
  ImageBatch out_;
};

}  // namespace

void register_procedural(Registry& r) {
  r.add_generator({"procedural", "a drawn stand-in face, for runs without GAN weights",
                   [](const GeneratorOptions& o) -> std::unique_ptr<Generator> { return std::make_unique<Procedural>(o); }});
}

}  // namespace hyper

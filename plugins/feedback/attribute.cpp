// attribute: a direction in the latent space (feedback.direction, a .npy of 512 values, e.g.
// an InterFaceGAN boundary normal; used at unit length) and a base face. Each TR:
//   p_t   = mean over the last feedback.smooth_trs TRs of (decoded latent . d)
//   value = (p_t - mu) / sigma, mu and sigma: the mean and sd of (stimulus latent . d) over
//           the rows of feedback.latents
//   show  = base + feedback.gain * value * sigma * d: the base face moved along the direction
//           by the score (the face smiles more as the pattern strengthens)
//   bar   = (value + 3) / 6, clipped to 0..1
#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/settings.hpp"
#include "feedback/latent_space.hpp"
#include "feedback/protocol.hpp"
#include "io/npy.hpp"

namespace hyper {

namespace {

LatentVec read_direction(const Params& p) {
  const std::string file = p.get_string("feedback.direction");
  if (file.empty()) throw SettingsError("feedback.direction: the attribute protocol needs a direction (.npy, 512 values)");
  NpyArray a;
  try {
    a = read_npy(file);
  } catch (const std::exception& e) {
    throw SettingsError(std::string("feedback.direction: ") + e.what());
  }
  if (a.data.size() != static_cast<size_t>(kLatentDim))
    throw SettingsError(fmt::format("feedback.direction: {} holds {} values, a direction in the latent space has {}", file,
                                    a.data.size(), kLatentDim));
  LatentVec d = Eigen::Map<const LatentVec>(a.data.data());
  if (!(d.norm() > 0)) throw SettingsError("feedback.direction: " + file + " is all zeros");
  return d / d.norm();
}

class Attribute : public Protocol {
 public:
  explicit Attribute(const Params& p)
      : d_(read_direction(p)), base_(latent_by_row(p, feedback_latents(p), "feedback.base")),
        smooth_(static_cast<size_t>(p.get_int("feedback.smooth_trs"))), gain_(p.get_float("feedback.gain")) {
    const Eigen::VectorXf proj = feedback_latents(p) * d_;
    mu_ = proj.cast<double>().mean();
    sigma_ = std::sqrt(std::max(1e-12, (proj.cast<double>().array() - mu_).square().mean()));
  }
  void start_run() override { smooth_.clear(); }
  void step(Tr& tr) override {
    const double proj = Eigen::Map<const LatentVec>(tr.latent.data()).dot(d_);
    tr.feedback = (smooth_.add(proj) - mu_) / sigma_;
    tr.feedback_bar = bar_of(tr.feedback);
    tr.has_feedback = true;
    Eigen::Map<LatentVec>(tr.show.data()) = base_ + static_cast<float>(gain_ * tr.feedback * sigma_) * d_;
    tr.has_show = true;
  }

 private:
  LatentVec d_, base_;
  RunningMean smooth_;
  double gain_, mu_ = 0, sigma_ = 1;
};

}  // namespace

ProtocolInfo attribute_protocol() {
  using T = SettingType;
  return {"attribute", "the decoded latent's projection on a direction, z-scored; the base face moved along it",
          {{.key = "feedback.direction", .type = T::String, .def = std::string(""),
            .help = "the attribute's direction: a .npy of 512 values (e.g. an InterFaceGAN boundary normal)", .existing = true},
           {.key = "feedback.base", .type = T::Int, .def = int64_t{0},
            .help = "the face moved along the direction: a row of feedback.latents; -1: a random latent from feedback.seed", .min = -1.0},
           {.key = "feedback.gain", .type = T::Float, .def = 1.0,
            .help = "how far the face moves per sd of the score, in sds of the stimuli along the direction", .min = 0.0}},
          [](const Params& p) -> std::unique_ptr<Protocol> { return std::make_unique<Attribute>(p); }};
}

}  // namespace hyper

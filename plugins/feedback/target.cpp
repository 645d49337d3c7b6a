// target: a target face is shown for the run's first feedback.target_trs TRs; then the
// subject tries to bring the reconstruction toward it. Each TR:
//   c_t   = cos(decoded latent, target)
//   s_t   = mean of c over the last feedback.smooth_trs TRs
//   value = (s_t - mu) / sigma, mu and sigma: the mean and sd of cos(stimulus latent, target)
//           over the rows of feedback.latents other than the target: chance sits at 0
//   bar   = (value + 3) / 6, clipped to 0..1: chance at one half
// The screen shows the current reconstruction beside the thermometer.
#include <cmath>

#include "feedback/latent_space.hpp"
#include "feedback/protocol.hpp"

namespace hyper {

namespace {

class Target : public Protocol {
 public:
  explicit Target(const Params& p)
      : latents_(feedback_latents(p)), target_(latent_by_row(p, latents_, "feedback.target")),
        smooth_(static_cast<size_t>(p.get_int("feedback.smooth_trs"))), show_trs_(p.get_int("feedback.target_trs")) {
    const int64_t row = p.get_int("feedback.target");
    double sum = 0, sum2 = 0;
    int64_t n = 0;
    for (Eigen::Index i = 0; i < latents_.rows(); ++i) {
      if (i == row) continue;
      const LatentVec z = latents_.row(i).transpose();
      const double c = cosine(z.data(), target_.data());
      sum += c, sum2 += c * c, ++n;
    }
    mu_ = sum / static_cast<double>(n);
    sigma_ = std::sqrt(std::max(1e-12, sum2 / static_cast<double>(n) - mu_ * mu_));
  }
  void start_run() override { smooth_.clear(), seen_ = 0; }
  void step(Tr& tr) override {
    if (seen_++ < show_trs_) {  // the target, for the subject to see what to aim at
      std::copy(target_.data(), target_.data() + kLatentDim, tr.show.begin());
      tr.has_show = true;
    }
    const double s = smooth_.add(cosine(tr.latent.data(), target_.data()));
    tr.feedback = (s - mu_) / sigma_;
    tr.feedback_bar = bar_of(tr.feedback);
    tr.has_feedback = true;
  }

 private:
  Eigen::MatrixXf latents_;
  LatentVec target_;
  RunningMean smooth_;
  int64_t show_trs_, seen_ = 0;
  double mu_ = 0, sigma_ = 1;
};

}  // namespace

ProtocolInfo target_protocol() {
  using T = SettingType;
  return {"target", "similarity of the decoded latent to a target face, against chance; the reconstruction beside a bar",
          {{.key = "feedback.target", .type = T::Int, .def = int64_t{-1},
            .help = "the target: a row of feedback.latents; -1: a random latent from feedback.seed", .min = -1.0},
           {.key = "feedback.target_trs", .type = T::Int, .def = int64_t{4}, .unit = "TRs",
            .help = "the target face is shown for the run's first TRs", .min = 0.0}},
          [](const Params& p) -> std::unique_ptr<Protocol> { return std::make_unique<Target>(p); }};
}

}  // namespace hyper

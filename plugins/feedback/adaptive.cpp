// adaptive: a search for the face the subject is looking for (neuroadaptive generation,
// after Kangassalo, Spapé & Ruotsalo 2020, Sci Rep 10:14719). Trial k shows a face drawn
// around the current estimate m for feedback.trial_trs TRs:
//   z_k = rho * sqrt(512) * m / |m| + sqrt(1 - rho^2) * e_k,  e_k ~ N(0, I), rho = feedback.exploit
//         (rho = 0 until there is an estimate, and always with exploit 0: random faces, the baseline)
// Its response is read from the decoded latents of the TRs from onset + feedback.lag_s on
// (the HRF's delay), as many as the trial lasts; what is new in the face is e_k, so:
//   r_k = (mean decoded latent of those TRs - mean decoded latent of the run so far) . e_k / |e_k|^2
//         (how strongly the face's new part came back, as a gain: recognition raises it)
//   w_k = max(0, (r_k - mean r) / sd r), mean and sd over the recent trials (exponentially
//         weighted, about the last 10; 0 for the first 3)
//   m   = sum_k w_k e_k   (the directions the brain answered more than usual, less those it
//         answered less: a regression of the responses on the faces' new parts)
// Faces drawn nearer the estimate are more often recognised, so each trial tells more than a
// random face would. After feedback.trials trials the screen shows the estimate (scaled to
// sqrt(512)): the face found. Feedback each TR: the newest trial's w; bar (w + 3) / 6.
#include <cmath>

#include "core/rng.hpp"
#include "core/settings.hpp"
#include "feedback/latent_space.hpp"
#include "feedback/protocol.hpp"

namespace hyper {

namespace {

class Adaptive : public Protocol {
 public:
  explicit Adaptive(const Params& p)
      : trials_(p.get_int("feedback.trials")), trial_trs_(p.get_int("feedback.trial_trs")), lag_s_(p.get_float("feedback.lag_s")),
        exploit_(p.get_float("feedback.exploit")), seed_(static_cast<uint64_t>(p.get_int("feedback.seed"))),
        shown_(kLatentDim, trials_), new_(kLatentDim, trials_), sums_(kLatentDim, trials_), counts_(trials_) {}

  void start_run() override {
    rng_ = Rng(seed_, 11);
    n_ = 0, scored_ = 0, weight_ = 0, r_mean_ = 0, r_var_ = 0, value_ = 0;
    sums_.setZero(), counts_.setZero(), estimate_.setZero(), decoded_mean_.setZero();
  }

  void step(Tr& tr) override {
    const Eigen::Map<const LatentVec> d(tr.latent.data());
    decoded_mean_ += (d - decoded_mean_) / static_cast<float>(n_ + 1);
    // This TR's decoded latent answers the trial whose reading window holds it.
    const int64_t lag = std::llround(lag_s_ / tr.tr_s);
    const int64_t k = (n_ - 1 - lag) / trial_trs_;  // trial k's face went up after TR k * trial_trs
    if (n_ - 1 - lag >= 0 && k < trials_) {
      sums_.col(k) += d;
      if (++counts_(k) == trial_trs_) score(k);
    }
    // The face on screen after this TR.
    LatentVec show;
    if (n_ / trial_trs_ < trials_) {
      const int64_t j = n_ / trial_trs_;
      if (n_ % trial_trs_ == 0) draw(j);
      show = shown_.col(j);
    } else {
      show = face_norm() * estimate_.normalized();
    }
    std::copy(show.data(), show.data() + kLatentDim, tr.show.begin());
    tr.has_show = true;
    tr.feedback = value_;
    tr.feedback_bar = bar_of(value_);
    tr.has_feedback = true;
    ++n_;
  }

 private:
  static float face_norm() { return std::sqrt(static_cast<float>(kLatentDim)); }

  void draw(int64_t j) {
    // Explore first, exploit more as the estimate firms up: rho grows with the trials scored.
    const double rho = exploit_ * std::min(1.0, static_cast<double>(scored_) / (0.5 * static_cast<double>(trials_)));
    LatentVec e;
    for (int i = 0; i < kLatentDim; ++i) e(i) = static_cast<float>(rng_.normal());
    new_.col(j) = e;
    shown_.col(j) = static_cast<float>(std::sqrt(1 - rho * rho)) * e;
    if (rho > 0) shown_.col(j) += static_cast<float>(rho) * face_norm() * estimate_.normalized();
  }

  void score(int64_t k) {
    const LatentVec e = new_.col(k);
    const double r = static_cast<double>((sums_.col(k) / static_cast<float>(trial_trs_) - decoded_mean_).dot(e) / e.squaredNorm());
    const double sd = std::sqrt(r_var_);
    value_ = scored_ >= 3 && sd > 0 ? (r - r_mean_) / sd : 0;
    // The relevance's mean and variance over the recent trials (exponentially weighted, about
    // the last 10): faces drawn around a moving estimate are compared with their neighbours.
    const double alpha = scored_ == 0 ? 1.0 : std::max(0.1, 1.0 / static_cast<double>(scored_ + 1));
    const double delta = r - r_mean_;
    r_mean_ += alpha * delta;
    r_var_ = (1 - alpha) * (r_var_ + alpha * delta * delta);
    ++scored_;
    const double w = std::max(0.0, value_);
    estimate_ += static_cast<float>(w) * e;
    weight_ += w;
  }

  int64_t trials_, trial_trs_;
  double lag_s_, exploit_;
  uint64_t seed_;
  Rng rng_{1};
  Eigen::MatrixXf shown_, new_, sums_;  // 512 x trials: each trial's face, its new part, the decoded latents read for it
  Eigen::VectorXi counts_;
  LatentVec estimate_ = LatentVec::Zero(), decoded_mean_ = LatentVec::Zero();
  int64_t n_ = 0, scored_ = 0;
  double weight_ = 0, r_mean_ = 0, r_var_ = 0, value_ = 0;
};

}  // namespace

ProtocolInfo adaptive_protocol() {
  using T = SettingType;
  return {"adaptive", "a search: faces drawn around an estimate that moves toward the faces the brain answered most",
          {{.key = "feedback.trials", .type = T::Int, .def = int64_t{60}, .help = "adaptive: the search's trials, then the face found",
            .min = 1.0, .max = 10000.0},
           {.key = "feedback.trial_trs", .type = T::Int, .def = int64_t{3}, .unit = "TRs", .help = "adaptive: how long each face is shown",
            .min = 1.0, .max = 100.0},
           {.key = "feedback.lag_s", .type = T::Float, .def = 4.5, .unit = "s",
            .help = "adaptive: a face's response is read from this long after it went up (the HRF's delay)", .min = 0.0, .max = 30.0},
           {.key = "feedback.exploit", .type = T::Float, .def = 0.5,
            .help = "adaptive: how much of each new face is the estimate (0: random faces, the baseline; 1: the estimate only)",
            .min = 0.0, .max = 1.0}},
          [](const Params& p) -> std::unique_ptr<Protocol> { return std::make_unique<Adaptive>(p); }};
}

}  // namespace hyper

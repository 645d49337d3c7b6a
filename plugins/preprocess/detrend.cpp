// `detrend`: removes slow drift from every value, incrementally.
//
// mode "glm": a GLM per value refitted at every TR from its sufficient statistics X'X
// (p x p) and X'Y (p x values), updated in O(p V), output the newest volume's residual.
// Regressors, in this order: Legendre polynomials P0..P<order> of the volume's time in
// the run (scaled to [-1, 1] over the horizon); with cosine_cutoff_s > 0, the discrete
// cosines of SPM's high-pass filter (periods longer than the cutoff over the horizon);
// with motion = true, the six realignment parameters of the record (put realign first).
// Until the run has more volumes than regressors the fit is exact (or undetermined) and
// the output is 0: the first p volumes of a run output 0.
//
// mode "refit": the same GLM refitted at every TR from the whole history of the run (the
// volumes kept, X'X and X'Y recomputed: O(n p V) per TR, growing with the run). The same
// output as "glm" up to rounding; the baseline that `hyper bench` compares the
// incremental update with.
//
// mode "ema": the cheap alternative, y - m with m an exponential moving average
// (m = y on the run's first volume, then m += alpha (y - m)).
#include <Eigen/Dense>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "preprocess/stages.hpp"

namespace hyper {

namespace {

class Detrend : public Stage {
 public:
  explicit Detrend(const StageParams& p)
      : ema_(p.get_string("mode") == "ema"), refit_(p.get_string("mode") == "refit"), order_(static_cast<int>(p.get_int("order"))),
        horizon_(p.get_int("horizon_volumes")), cutoff_s_(p.get_float("cosine_cutoff_s")),
        motion_(p.get_bool("motion")), alpha_(p.get_float("ema_alpha")) {}

  void preflight(const Spec& in, Spec& out) const override {
    out = in;
    if (order_ < 0 || order_ > 5) throw std::invalid_argument("order: must be 0..5");
  }

  void initialize(const Spec& in) override {
    features_ = in.features;
    tr_s_ = in.tr_s;
  }

  std::vector<uint8_t> uses(const std::vector<uint8_t>& used) override { return used; }  // each value its own fit

  void start_run(const RunInfo& run) override {
    span_ = horizon_ > 0 ? horizon_ : run.n_volumes > 1 ? run.n_volumes : 600;
    const double tr = run.tr_s > 0 ? run.tr_s : tr_s_;
    // SPM's count of discrete cosines with periods above the cutoff: floor(2 T TR / cutoff).
    cosines_ = cutoff_s_ > 0 && tr > 0 ? static_cast<int>(std::floor(2.0 * static_cast<double>(span_) * tr / cutoff_s_)) : 0;
    p_ = order_ + 1 + cosines_ + (motion_ ? 6 : 0);
    first_index_ = -1;
    n_ = 0;
    xtx_.setZero(p_, p_);
    xty_.resize(0, 0);
    ema_state_.clear();
    history_x_.clear();
    history_y_.clear();
  }

  void process(Tr& tr) override {
    const std::span<float> y = stage_values(tr, features_);
    if (first_index_ < 0) first_index_ = tr.index;
    if (ema_) return process_ema(y);
    const Eigen::Index p = p_, V = static_cast<Eigen::Index>(y.size());
    if (xty_.cols() != V) xty_.setZero(p, V);  // the run's first volume
    const double k_t = static_cast<double>(tr.index - first_index_);
    const double t = span_ > 1 ? 2.0 * k_t / static_cast<double>(span_ - 1) - 1.0 : 0.0;
    Eigen::VectorXd x(p);
    // Legendre polynomials by their recurrence: (k + 1) P_{k+1} = (2k + 1) t P_k - k P_{k-1}.
    x(0) = 1;
    if (order_ >= 1) x(1) = t;
    for (int k = 1; k < order_; ++k) x(k + 1) = ((2.0 * k + 1) * t * x(k) - k * x(k - 1)) / (k + 1);
    for (int c = 1; c <= cosines_; ++c)
      x(order_ + c) = std::cos(std::numbers::pi * c * (k_t + 0.5) / static_cast<double>(span_));
    if (motion_)
      for (int m = 0; m < 6; ++m) x(order_ + 1 + cosines_ + m) = tr.motion[static_cast<size_t>(m)];
    ++n_;
    if (refit_) {  // from scratch over the run so far
      history_x_.push_back(x);
      history_y_.emplace_back(y.begin(), y.end());
      xtx_.setZero();
      xty_.setZero();
      for (size_t h = 0; h < history_x_.size(); ++h) {
        xtx_ += history_x_[h] * history_x_[h].transpose();
        double* s = xty_.data();
        for (Eigen::Index v = 0; v < V; ++v, s += p)
          for (Eigen::Index k = 0; k < p; ++k) s[k] += history_x_[h](k) * history_y_[h][static_cast<size_t>(v)];
      }
    } else {
      xtx_ += x * x.transpose();
      double* s = xty_.data();
      for (Eigen::Index v = 0; v < V; ++v, s += p)
        for (Eigen::Index k = 0; k < p; ++k) s[k] += x(k) * y[static_cast<size_t>(v)];
    }
    if (n_ <= p) {  // not yet more volumes than regressors
      std::fill(y.begin(), y.end(), 0.0f);
      return;
    }
    // c = (X'X)^-1 x, so that fit_v = c . (X'Y)_v costs O(p) per value.
    const Eigen::VectorXd c = xtx_.ldlt().solve(x);
    const double* s = xty_.data();
    for (Eigen::Index v = 0; v < V; ++v, s += p) {
      double fit = 0;
      for (Eigen::Index k = 0; k < p; ++k) fit += c(k) * s[k];
      y[static_cast<size_t>(v)] = static_cast<float>(y[static_cast<size_t>(v)] - fit);
    }
  }

 private:
  void process_ema(std::span<float> y) {
    if (ema_state_.size() != y.size()) ema_state_.assign(y.begin(), y.end());  // the run's first volume
    for (size_t v = 0; v < y.size(); ++v) {
      ema_state_[v] += alpha_ * (y[v] - ema_state_[v]);
      y[v] = static_cast<float>(y[v] - ema_state_[v]);
    }
  }

  bool ema_, refit_;
  int order_;
  int64_t horizon_;
  double cutoff_s_;
  bool motion_;
  double alpha_;
  bool features_ = false;
  double tr_s_ = 0;
  int cosines_ = 0;
  Eigen::Index p_ = 1;
  int64_t span_ = 600, first_index_ = -1, n_ = 0;
  Eigen::MatrixXd xtx_, xty_;  // xty_: p x values, one column per value
  std::vector<double> ema_state_;
  std::vector<Eigen::VectorXd> history_x_;       // refit mode: every volume's regressors
  std::vector<std::vector<float>> history_y_;    // and values
};

}  // namespace

void register_detrend(Registry& r) {
  r.add_stage({"detrend", "remove slow drift per value: an incremental GLM (residual of the newest volume) or an EMA high-pass",
               {{.key = "mode", .type = SettingType::String, .def = std::string("glm"),
                 .help = "glm: incremental least squares; refit: the same refitted from the run's history every TR (slow: "
                         "a benchmark baseline); ema: exponential moving average high-pass",
                 .choices = {"glm", "refit", "ema"}},
                {.key = "order", .type = SettingType::Int, .def = int64_t{2}, .help = "highest Legendre polynomial order",
                 .min = 0.0, .max = 5.0},
                {.key = "horizon_volumes", .type = SettingType::Int, .def = int64_t{0}, .unit = "volumes",
                 .help = "time axis scaled over this many volumes; 0: the run's length if known, else 600", .min = 0.0},
                {.key = "cosine_cutoff_s", .type = SettingType::Float, .def = 0.0, .unit = "s",
                 .help = "add SPM's discrete cosines with periods above this (0: none; SPM uses 128)", .min = 0.0},
                {.key = "motion", .type = SettingType::Bool, .def = false,
                 .help = "add the six realignment parameters as regressors (realign must come first)"},
                {.key = "ema_alpha", .type = SettingType::Float, .def = 0.05, .help = "ema mode: weight of the newest volume",
                 .min = 1e-6, .max = 1.0}},
               [](const StageParams& p) { return std::make_unique<Detrend>(p); }});
}

}  // namespace hyper

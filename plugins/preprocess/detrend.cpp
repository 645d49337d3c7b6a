// `detrend`: removes slow drift from every value, incrementally. A GLM per value with
// Legendre polynomials P0..P<order> of the volume's time in the run (scaled to [-1, 1]
// over `horizon_volumes`) is refitted at every TR from its sufficient statistics X'X
// (p x p) and X'Y (p x values), updated in O(p V); the output is the newest volume's
// residual. While the run has no more volumes than terms, the highest orders are left out
// (so a run's first volume outputs 0, and so does every volume up to p).
#include <Eigen/Dense>
#include <stdexcept>

#include "preprocess/stages.hpp"

namespace hyper {

namespace {

class Detrend : public Stage {
 public:
  explicit Detrend(const StageParams& p)
      : order_(static_cast<int>(p.get_int("order"))), horizon_(p.get_int("horizon_volumes")) {}

  void preflight(const Spec& in, Spec& out) const override {
    out = in;
    if (order_ < 0 || order_ > 5) throw std::invalid_argument("order: must be 0..5");
  }

  void initialize(const Spec& in) override { features_ = in.features; }

  void start_run(const RunInfo& run) override {
    span_ = horizon_ > 0 ? horizon_ : run.n_volumes > 1 ? run.n_volumes : 600;
    first_index_ = -1;
    n_ = 0;
    xtx_.setZero(order_ + 1, order_ + 1);
    xty_.resize(0, 0);
  }

  void process(Tr& tr) override {
    const std::span<float> y = stage_values(tr, features_);
    const Eigen::Index p = order_ + 1, V = static_cast<Eigen::Index>(y.size());
    if (first_index_ < 0) first_index_ = tr.index;
    if (xty_.cols() != V) xty_.setZero(p, V);  // the run's first volume
    // Legendre polynomials by their recurrence: (k + 1) P_{k+1} = (2k + 1) t P_k - k P_{k-1}.
    const double t = span_ > 1 ? 2.0 * static_cast<double>(tr.index - first_index_) / static_cast<double>(span_ - 1) - 1.0 : 0.0;
    Eigen::VectorXd x(p);
    x(0) = 1;
    if (p > 1) x(1) = t;
    for (Eigen::Index k = 1; k + 1 < p; ++k)
      x(k + 1) = ((2.0 * static_cast<double>(k) + 1) * t * x(k) - static_cast<double>(k) * x(k - 1)) / static_cast<double>(k + 1);
    ++n_;
    xtx_ += x * x.transpose();
    double* s = xty_.data();
    for (Eigen::Index v = 0; v < V; ++v, s += p)
      for (Eigen::Index k = 0; k < p; ++k) s[k] += x(k) * y[static_cast<size_t>(v)];
    // Terms the volumes so far can determine; c = (X'X)^-1 x on those.
    const Eigen::Index q = std::min<Eigen::Index>(p, n_);
    const Eigen::VectorXd c = xtx_.topLeftCorner(q, q).ldlt().solve(x.head(q));
    s = xty_.data();
    for (Eigen::Index v = 0; v < V; ++v, s += p) {
      double fit = 0;
      for (Eigen::Index k = 0; k < q; ++k) fit += c(k) * s[k];
      y[static_cast<size_t>(v)] = static_cast<float>(y[static_cast<size_t>(v)] - fit);
    }
  }

 private:
  int order_;
  int64_t horizon_;
  bool features_ = false;
  int64_t span_ = 600, first_index_ = -1, n_ = 0;
  Eigen::MatrixXd xtx_, xty_;  // xty_: p x values, one column per value
};

}  // namespace

void register_detrend(Registry& r) {
  r.add_stage({"detrend", "remove polynomial drift per value with an incremental GLM (residual of the newest volume)",
               {{.key = "order", .type = SettingType::Int, .def = int64_t{2}, .help = "highest Legendre polynomial order",
                 .min = 0.0, .max = 5.0},
                {.key = "horizon_volumes", .type = SettingType::Int, .def = int64_t{0}, .unit = "volumes",
                 .help = "time axis scaled to [-1, 1] over this many volumes; 0: the run's length if known, else 600",
                 .min = 0.0}},
               [](const StageParams& p) { return std::make_unique<Detrend>(p); }});
}

}  // namespace hyper

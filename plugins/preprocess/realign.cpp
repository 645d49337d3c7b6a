// `realign`: rigid-body (6 DOF) registration of every volume to a reference (the run's
// first volume, or a NIfTI file), then resampling onto it. Least squares on intensities
// of smoothed copies (three 1D convolutions), Gauss-Newton with the reference's Jacobian
// computed once per reference, as SPM's realign does: an iteration only warps and sums
// residuals (the saving of Baker & Matthews' inverse-compositional scheme; the update is
// additive in the parameters, as SPM's). Coarse to fine over sample lattices of stride 4,
// 2, 1 (`finest_stride`), each volume starting from the previous estimate. Writes the six parameters (SPM's
// convention, core/rigid.hpp) and the framewise displacement into the TR record. `threads`
// share the smoothing, each iteration's sums (over a fixed number of chunks, added in
// order: the same estimate with any thread count) and the resampling. The resampling covers
// only the voxels the later stages use (Stage::uses): with a decoder at the chain's end, its
// voxels and the smoothing's reach around them; elsewhere the volume keeps its values. A
// run's first volume is resampled whole: the automatic mask is made from its mean.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/rigid.hpp"
#include "io/nifti.hpp"
#include "preprocess/separable_gaussian.hpp"
#include "preprocess/stages.hpp"

namespace hyper {

namespace {

struct Level {
  std::vector<std::array<float, 3>> ijk;      // sample voxel coordinates
  std::vector<float> ref;                     // the smoothed reference there
  std::vector<std::array<float, 6>> jac;      // d(reference)/d(parameters) there
  Eigen::Matrix<double, 6, 6> inv_jtj;
};

class Realign : public Stage {
 public:
  explicit Realign(const StageParams& p)
      : reference_(p.get_string("reference")), fwhm_(p.get_float("fwhm_mm")),
        iterations_(static_cast<int>(p.get_int("iterations"))), tolerance_(p.get_float("tolerance")),
        resample_(p.get_bool("resample")), finest_stride_(p.get_int("finest_stride")), finest_fraction_(p.get_float("finest_fraction")), max_jump_mm_(p.get_float("max_jump_mm")),
        max_jump_rad_(p.get_float("max_jump_rad")), threads_(static_cast<int>(p.get_int("threads"))) {}

  void preflight(const Spec& in, Spec& out) const override {
    if (in.features) throw std::invalid_argument("reference: realign needs a grid; put it before mask");
    if (reference_ != "first") check_grid_file("reference", reference_, in);
    out = in;
  }

  void initialize(const Spec& in) override {
    gauss_.initialize(in.dims, in.voxel_mm, fwhm_);
    smoothed_.dims = in.dims;
    smoothed_.voxel_mm = in.voxel_mm;
    smoothed_.affine = in.affine;
    smoothed_.data.resize(static_cast<size_t>(in.dims[0] * in.dims[1] * in.dims[2]));
    file_levels_.clear();
    if (reference_ != "first") {
      Volume ref = read_nifti(reference_).volume(0);
      ref.affine = in.affine;
      file_levels_ = prepare(ref);
    }
  }

  // The estimate reads every voxel; the resampling only has to cover what the later stages
  // use (with a decoder at the chain's end: its voxels, widened by the smoothing's reach).
  std::vector<uint8_t> uses(const std::vector<uint8_t>& used) override {
    rows_.clear();
    only_rows_ = !used.empty();
    if (only_rows_) {
      rows_ = voxel_rows(used, smoothed_.dims);
      const auto n = std::ssize(used) - std::count(used.begin(), used.end(), uint8_t{0});  // any non-zero flag
      spdlog::info("realign: resampling the {} of {} voxels that the later stages use", n, used.size());
    }
    return {};
  }

  void start_run(const RunInfo& run) override {
    first_ = true;
    levels_ = file_levels_;
    m_ = previous_ = Motion{};
    run_ = run.run;
    jumps_ = 0;
  }
  void stop_run() override {
    if (jumps_ > 0)
      spdlog::warn("run {}: realign: {} volume(s) whose estimate jumped beyond {} mm / {} rad from the previous TR kept the "
                   "previous estimate (preprocess.realign.max_jump_mm, max_jump_rad)",
                   run_, jumps_, max_jump_mm_, max_jump_rad_);
  }

  void process(Tr& tr) override {
    // A run's first volume is resampled whole (when it is not itself the reference): an
    // automatic mask is made from it, from the mean of every voxel.
    const bool whole = first_ || !only_rows_;
    first_ = false;
    if (levels_.empty()) {  // the run's first volume is the reference
      levels_ = prepare(tr.volume);
      tr.motion = m_;
      tr.fd_mm = 0;
      return;
    }
    WorkPool& pool = WorkPool::of_this_thread(threads_);
    gauss_.apply(tr.volume.data.data(), smoothed_.data.data(), &pool);
    const Mat4 to_vox = mat_inverse(tr.volume.affine);
    for (const Level& level : levels_) {
      for (int it = 0; it < iterations_; ++it) {
        // Sample points y (voxels of the reference) map to M(m) y in this volume.
        const Mat4 map = mat_mul(to_vox, mat_mul(rigid_matrix(m_), tr.volume.affine));
        const GridSampler grid(smoothed_);
        // J^T e: each chunk's six sums in registers (not memory the compiler must assume
        // aliased), the chunks added in order.
        const size_t n = level.ijk.size();
        const std::array<float, 3>* ijk = level.ijk.data();
        const std::array<float, 6>* jac = level.jac.data();
        const float* ref = level.ref.data();
        std::array<std::array<double, 6>, kSumChunks> part{};
        const auto sum_chunk = [&](int64_t c) {
          const auto [first, last] = chunk_range(static_cast<int64_t>(n), kSumChunks, c);
          double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0;
          for (auto s = static_cast<size_t>(first); s < static_cast<size_t>(last); ++s) {
            const double x = ijk[s][0], y = ijk[s][1], z = ijk[s][2];
            const double px = map[0] * x + map[1] * y + map[2] * z + map[3], py = map[4] * x + map[5] * y + map[6] * z + map[7],
                         pz = map[8] * x + map[9] * y + map[10] * z + map[11];
            if (!grid.inside(px, py, pz)) continue;
            const double e = grid.at_inside(px, py, pz) - ref[s];
            const std::array<float, 6>& j = jac[s];
            b0 += j[0] * e, b1 += j[1] * e, b2 += j[2] * e, b3 += j[3] * e, b4 += j[4] * e, b5 += j[5] * e;
          }
          part[static_cast<size_t>(c)] = {b0, b1, b2, b3, b4, b5};
        };
        // Small (coarse) lattices stay on this thread: a wake-up would cost more than they do.
        if (n >= kShareAbove) pool.run(kSumChunks, sum_chunk);
        else for (int64_t c = 0; c < kSumChunks; ++c) sum_chunk(c);
        std::array<double, 6> sum{};
        for (const auto& pc : part)
          for (size_t q = 0; q < 6; ++q) sum[q] += pc[q];
        Eigen::Matrix<double, 6, 1> b;
        b << sum[0], sum[1], sum[2], sum[3], sum[4], sum[5];
        // e ~ J (m - m_true): step back by the least-squares solution.
        const Eigen::Matrix<double, 6, 1> step = level.inv_jtj * b;
        double biggest = 0;
        for (int k = 0; k < 6; ++k) {
          m_[static_cast<size_t>(k)] -= step(k);
          biggest = std::max(biggest, std::abs(step(k)));
        }
        if (biggest < tolerance_) break;
      }
    }
    if (!believable()) {  // a diverged fit must not become the next volume's start
      m_ = previous_;
      ++jumps_;
    }
    tr.motion = m_;
    tr.fd_mm = framewise_displacement(previous_, m_);
    previous_ = m_;
    if (resample_ && !whole) {
      resample_realigned_rows(tr.volume, m_, rows_, moved_.data, 0.0f, &pool);  // the other voxels stay as they came
    } else if (resample_) {
      resample_realigned(tr.volume, m_, moved_, 0.0f, &pool);
      std::swap(tr.volume.data, moved_.data);
    }
  }

 private:
  bool believable() const {
    for (size_t k = 0; k < 6; ++k) {
      const double d = std::abs(m_[k] - previous_[k]);
      if (!std::isfinite(d) || d > (k < 3 ? max_jump_mm_ : max_jump_rad_)) return false;
    }
    return true;
  }

  // Smooths the reference and computes, on lattices of stride 4, 2 and 1, its values and
  // derivatives with respect to the six parameters at voxels brighter than 1/8 its mean.
  std::vector<Level> prepare(const Volume& ref) {
    Volume rs = ref;
    gauss_.apply(ref.data.data(), rs.data.data(), &WorkPool::of_this_thread(threads_));
    const auto [nx, ny, nz] = rs.dims;
    double mean = 0;
    for (float v : rs.data) mean += v;
    mean /= static_cast<double>(rs.data.size());
    // World gradient = A^-T (voxel gradient); A the affine's 3x3 part.
    Eigen::Matrix3d a;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) a(r, c) = rs.affine[static_cast<size_t>(r * 4 + c)];
    const Eigen::Matrix3d a_inv_t = a.inverse().transpose();
    std::vector<Level> levels;
    for (int64_t stride : {4, 2, 1}) {
      if (stride < finest_stride_) break;
      struct Sample {
        std::array<float, 3> ijk;
        float v;
        std::array<double, 6> jr;
        double g2;  // the squared gradient: how much the sample says about motion
      };
      std::vector<Sample> samples;
      for (int64_t k = 1; k + 1 < nz; k += stride)
        for (int64_t j = 1; j + 1 < ny; j += stride)
          for (int64_t i = 1; i + 1 < nx; i += stride) {
            const float v = rs.at(i, j, k);
            if (v <= 0.125 * mean) continue;
            const Eigen::Vector3d g_vox(0.5 * (rs.at(i + 1, j, k) - rs.at(i - 1, j, k)), 0.5 * (rs.at(i, j + 1, k) - rs.at(i, j - 1, k)),
                                        0.5 * (rs.at(i, j, k + 1) - rs.at(i, j, k - 1)));
            const Eigen::Vector3d g = a_inv_t * g_vox;
            const auto& A = rs.affine;
            const double wx = A[0] * i + A[1] * j + A[2] * k + A[3], wy = A[4] * i + A[5] * j + A[6] * k + A[7],
                         wz = A[8] * i + A[9] * j + A[10] * k + A[11];
            // d(M y)/d(parameter) at m = 0 for SPM's T Rx Ry Rz: translations, then the
            // rotations' generators applied to y.
            samples.push_back({{static_cast<float>(i), static_cast<float>(j), static_cast<float>(k)}, v,
                               {g(0), g(1), g(2), g(1) * wz - g(2) * wy, g(0) * wz - g(2) * wx, g(0) * wy - g(1) * wx},
                               g.squaredNorm()});
          }
      // The finest lattice: only the steepest finest_fraction of it (flat samples add time, not information).
      double floor_g2 = -1;
      if (stride == 1 && finest_fraction_ < 1 && !samples.empty()) {
        std::vector<double> g2(samples.size());
        for (size_t q = 0; q < samples.size(); ++q) g2[q] = samples[q].g2;
        const auto cut = static_cast<size_t>((1 - finest_fraction_) * static_cast<double>(g2.size()));
        std::nth_element(g2.begin(), g2.begin() + static_cast<std::ptrdiff_t>(cut), g2.end());
        floor_g2 = g2[cut];
      }
      Level L;
      Eigen::Matrix<double, 6, 6> jtj = Eigen::Matrix<double, 6, 6>::Zero();
      for (const Sample& sm : samples) {
        if (sm.g2 < floor_g2) continue;
        Eigen::Matrix<double, 6, 1> jv;
        for (int q = 0; q < 6; ++q) jv(q) = sm.jr[static_cast<size_t>(q)];
        jtj += jv * jv.transpose();
        L.ijk.push_back(sm.ijk);
        L.ref.push_back(sm.v);
        L.jac.push_back({static_cast<float>(sm.jr[0]), static_cast<float>(sm.jr[1]), static_cast<float>(sm.jr[2]),
                         static_cast<float>(sm.jr[3]), static_cast<float>(sm.jr[4]), static_cast<float>(sm.jr[5])});
      }
      if (L.ijk.size() < 50) continue;  // too few samples at this stride
      L.inv_jtj = jtj.inverse();
      levels.push_back(std::move(L));
    }
    if (levels.empty()) throw std::invalid_argument("reference: the reference volume has too little signal to register to");
    return levels;
  }

  std::string reference_;
  double fwhm_;
  int iterations_;
  double tolerance_;
  bool resample_;
  int64_t finest_stride_;
  double finest_fraction_;
  double max_jump_mm_, max_jump_rad_;
  std::string run_;
  int64_t jumps_ = 0;
  SeparableGaussian gauss_;
  Volume smoothed_, moved_;
  std::vector<VoxelRow> rows_;  // where to resample (uses), when only_rows_
  bool only_rows_ = false, first_ = true;
  std::vector<Level> levels_, file_levels_;
  Motion m_{}, previous_{};
  int threads_;
  static constexpr int64_t kSumChunks = 8;        // fixed: the sums' order must not depend on the threads
  static constexpr size_t kShareAbove = 16384;  // samples in a lattice worth waking a helper for
};

}  // namespace

void register_realign(Registry& r) {
  r.add_stage({"realign", "rigid-body realignment to a reference (6 parameters and framewise displacement into the record)",
               {{.key = "reference", .type = SettingType::String, .def = std::string("first"),
                 .help = "\"first\": the run's first volume; or a NIfTI file (its first volume)"},
                {.key = "fwhm_mm", .type = SettingType::Float, .def = 6.0, .unit = "mm",
                 .help = "smoothing of the copies that are registered", .min = 0.1, .max = 50.0},
                {.key = "iterations", .type = SettingType::Int, .def = int64_t{20}, .help = "Gauss-Newton steps at most, per level",
                 .min = 1.0, .max = 200.0},
                {.key = "tolerance", .type = SettingType::Float, .def = 1e-3, .unit = "mm or rad",
                 .help = "stop a level when no parameter changes by more", .min = 0.0, .max = 1.0},
                {.key = "finest_stride", .type = SettingType::Int, .def = int64_t{1}, .unit = "voxels",
                 .help = "the finest sample lattice (levels go 4, 2, 1 voxels apart): 2 skips the last, 8x denser level",
                 .min = 1.0, .max = 4.0},
                {.key = "finest_fraction", .type = SettingType::Float, .def = 1.0,
                 .help = "at the finest lattice, the fraction of samples used: those where the reference is steepest",
                 .min = 0.01, .max = 1.0},
                {.key = "threads", .type = SettingType::Int, .def = int64_t{2},
                 .help = "threads sharing each volume's work (the estimate is the same with any number)", .min = 1.0, .max = 64.0,
                 .same_numbers = true},
                {.key = "resample", .type = SettingType::Bool, .def = true,
                 .help = "write the volume moved onto the reference (trilinear); false only estimates"},
                {.key = "max_jump_mm", .type = SettingType::Float, .def = 20.0, .unit = "mm",
                 .help = "an estimate translated further than this from the previous TR's (or not finite) is not believed: "
                         "the previous estimate is kept, counted and reported at the run's end",
                 .min = 0.0},
                {.key = "max_jump_rad", .type = SettingType::Float, .def = 0.3, .unit = "rad",
                 .help = "the same for rotations", .min = 0.0}},
               [](const StageParams& p) { return std::make_unique<Realign>(p); }});
}

}  // namespace hyper

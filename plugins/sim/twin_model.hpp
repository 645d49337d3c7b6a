#pragma once
// The twin's subject and scanner (README, "hyper simulate"), shared by the written dataset
// (sim/twin.cpp) and the live subject (sim/twin_subject.hpp): the anatomy and encoding
// model every run shares, and one run's scanner side volume by volume. The same config
// and seed give the same subject: a decoder trained on a written twin decodes the live one.

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "core/rigid.hpp"
#include "core/rng.hpp"
#include "sim/twin.hpp"

namespace hyper {

// What every run shares: the grid, the anatomy, the encoding model and the stimuli.
struct Anatomy {
  std::array<double, 16> affine{};
  int64_t n = 0;                      // voxels
  std::vector<float> baseline;        // intensity, all voxels
  std::vector<uint8_t> brain;         // brain mask
  std::vector<double> physio_phase;   // per voxel, radians
  std::vector<int64_t> visual;        // stimulus-driven voxel indices (F order), ascending
  std::vector<float> gain;            // per visual voxel
  Eigen::MatrixXf weights;            // 512 x visual: response = gain * (evoked + z . w)
  Eigen::MatrixXf latents;            // 1086 x 512
  double mean_brain = 0;
  double noise_sd = 0, signal_sd = 0;
};
Anatomy make_anatomy(const TwinConfig& c);

struct RunTruth {
  double drift_period_s = 0, drift_phase = 0;
  std::vector<Motion> motion;
  std::vector<std::pair<int, int>> spikes;  // volume, slice
  double slope = 1;
  int64_t clipped = 0;
};

// One run's scanner side: drift, rigid motion, physiological oscillation, AR(1) thermal
// noise, spikes and the int16 scaling, added volume by volume to the stimulus-driven signal
// of the visual voxels. Run r's random stream is its own: the same run, the same noise.
class TwinScan {
 public:
  TwinScan(const TwinConfig& c, const Anatomy& a, int run, int volumes);
  size_t volume_bytes() const { return static_cast<size_t>(a_.n) * (as_int16_ ? 2 : 4); }
  // Volume t (called for t = 0, 1, ... in order) with `signal` (a value per visual voxel)
  // added, as stored (int16 or float32, F order) into `raw`; the image before motion and
  // noise into `clean` when given.
  void volume(int t, const float* signal, std::byte* raw, float* clean);
  const RunTruth& truth() const { return truth_; }

 private:
  const TwinConfig& c_;
  const Anatomy& a_;
  Rng rng_;
  int volumes_;
  bool as_int16_;
  std::vector<std::array<float, 3>> drift_;
  std::vector<double> noise_;
  Volume clean_, moved_;
  RunTruth truth_;
};

}  // namespace hyper

#pragma once
// The twin as a live subject (`hyper simulate --live`, README "Closed-loop experiments"):
// it is told which face is on screen from when (a latent, in run time) and answers with
// volumes: the visual region's response to each face through the HRF, exactly as in the
// written twin, and the run's scanner side (TwinScan). With a hidden target, a face more
// like the target than most faces is recognised, and the visual response to it grows with
// its likeness beyond that point (a "recognition" gain, rectified like a neuron's rate):
//   response = gain_v * signal_sd * (evoked + z . w_v) * (1 + recognition * max(0, s(z) - threshold)),
//   s(z) = sqrt(512) * cos(z, target): the likeness in units of its chance sd (a random
//   face's s is about standard normal; threshold 1: one random face in six is recognised).

#include <cstddef>
#include <optional>
#include <vector>

#include <Eigen/Dense>

#include "sim/twin_model.hpp"

namespace hyper {

struct ShownFace {
  double onset_s = 0, duration_s = 0;  // run time; the duration ends at the next face or the run's last scan
  double likeness = 0;                 // s(z); 0 without a target
  std::vector<float> latent;           // empty: no face
};

class TwinSubject {
 public:
  TwinSubject(const TwinConfig& c, const Anatomy& a, int run, int volumes, std::optional<Eigen::VectorXf> target, double recognition,
              double threshold);
  // The face on screen from `onset_s` on (later than the last: an earlier onset is taken as
  // the last's); latent nullptr: no face (the fixation screen).
  void show(const float* latent, double onset_s);
  // Volume t (t = 0, 1, ... in order) as stored, into raw (TwinScan::volume_bytes()): the
  // faces on screen before its scan time t * TR are in it.
  void volume(int t, std::byte* raw);
  double likeness(const float* latent) const;
  const std::vector<ShownFace>& shown() const { return shown_; }
  const TwinScan& scan() const { return scan_; }

 private:
  void respond(const ShownFace& face, double from_s, double to_s);  // adds the response to [from, to)

  const TwinConfig& c_;
  const Anatomy& a_;
  TwinScan scan_;
  int volumes_;
  std::optional<Eigen::VectorXf> target_;
  double recognition_, threshold_;
  double unit_;
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> signal_;  // volumes x visual
  std::vector<ShownFace> shown_;
  double responded_to_ = 0;  // run time up to which the current face's response is in signal_
};

}  // namespace hyper

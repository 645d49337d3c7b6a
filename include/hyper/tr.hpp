#pragma once
// The record of one repetition (TR) as it flows from the receiver through the pipeline.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hyper/volume.hpp"

namespace hyper {

// The GAN's latent space (PGGAN, CelebA-HQ): what a decoder predicts and a generator draws.
inline constexpr int kLatentDim = 512;

// Timestamps are CLOCK_REALTIME nanoseconds (comparable across processes on one machine,
// and across machines only as well as their clocks agree); -1 means "not known".
struct TrStamps {
  int64_t t_acq = -1;   // scanner acquisition, if the publisher knows it
  int64_t t_sent = -1;  // publisher, just before the send call
  int64_t t_recv = -1;  // receiver, when the whole message was read from the socket
  int64_t t_ready = -1; // processing, after the chain (and the decode stage)
};

// Owned by one thread at a time; handed over through queues (no sharing).
struct Tr {
  std::string run;       // run id as published
  int64_t index = 0;     // 0-based volume index within the run
  int64_t n_volumes = -1;  // volumes in the run, if the publisher knows
  double tr_s = 0.0;     // repetition time, seconds
  Volume volume;
  TrStamps t;

  // Filled by the preprocessing chain. With a decoder in it, `volume` and `features` hold the
  // chain's values only at the decoder's voxels (and what the smoothing reads around them):
  // realign resamples only those (Stage::uses). Past a decoder, read `latent`.
  std::vector<float> features;  // after a mask: one value per masked voxel
  std::shared_ptr<const std::vector<int64_t>> feature_voxels;  // their voxel indices (NIfTI order)
  std::array<double, 6> motion{};  // realignment estimate: tx, ty, tz (mm), rx, ry, rz (rad)
  double fd_mm = 0;                // framewise displacement (Power et al.)
  std::vector<double> stage_ms;    // time spent in each chain stage, in chain order

  // Filled by the decode stage (a fixed array: decoding allocates nothing).
  std::array<float, kLatentDim> latent{};
  bool decoded = false;

  // Filled by a feedback protocol (a closed-loop run): the latent the screen shows for this
  // TR (else the decoded one) and the subject's feedback, its value and the bar's fill.
  std::array<float, kLatentDim> show{};
  bool has_show = false;
  bool has_feedback = false;
  double feedback = 0;      // the protocol's value (e.g. a z-score against chance)
  double feedback_bar = 0;  // 0..1: how full the thermometer beside the face is
};

}  // namespace hyper

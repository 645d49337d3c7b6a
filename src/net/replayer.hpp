#pragma once
// Publishing recorded runs as a simulated scanner stream (`hyper replay`): each run is
// loaded whole, announced with run_start, its volumes sent on absolute deadlines
// t0 + k * TR / speed (no drift from repeated sleeps), then closed with run_end.
// Runs on the calling thread; returns early, cleanly, on Ctrl-C.

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/stats.hpp"
#include "io/bids.hpp"
#include "io/nifti.hpp"
#include "net/protocol.hpp"
#include "net/publisher.hpp"

namespace hyper {

struct ReplayOptions {
  double tr_s = 0;   // > 0 overrides the sidecar and the header
  double speed = 1;  // 10: ten times faster; infinity: as fast as possible (--speed max)
  int64_t start = 0;    // first volume of each run
  int64_t count = -1;   // volumes per run, -1: to the end
  bool loop = false;    // start over after the last run, until Ctrl-C (runs renamed <id>.rep2, ...)
  std::chrono::milliseconds heartbeat{1000};  // while waiting between volumes
  // Called after each volume: run id, volumes sent, volumes in this pass, lateness (ms).
  std::function<void(const std::string&, int64_t, int64_t, double)> on_volume;
};

struct ReplayReport {
  std::string run;
  int64_t sent = 0;
  double tr_s = 0;
  LatencySummary lateness_ms;  // send start minus deadline
  double duration_s = 0;
};

// The header of a recorded run's volumes (index, t_sent, payload_bytes and crc32 are the
// sender's to fill).
VolumeHeader volume_header(const NiftiInfo& info, const std::string& run_id, double tr_s);

// Throws std::runtime_error naming the file or option on bad input.
std::vector<ReplayReport> replay(Publisher& pub, const std::vector<RunFile>& runs, const ReplayOptions& options);

}  // namespace hyper

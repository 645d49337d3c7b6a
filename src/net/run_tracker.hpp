#pragma once
// Per-run accounting on the receiving side: which indices arrived, gaps, duplicates,
// late (out-of-order) volumes, drops by reason and t_sent -> t_recv latency.
// Not thread-safe: owned by the receiver thread; summaries are copies handed onward.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/stats.hpp"
#include "net/protocol.hpp"

namespace hyper {

// What a run ended by: its run_end message, a volume of another run, silence, or shutdown.
enum class RunEndCause : uint8_t { RunEnd, NewRun, Timeout, Shutdown };
std::string_view run_end_cause_name(RunEndCause c);

struct RunSummary {
  std::string run;
  RunEndCause ended_by = RunEndCause::RunEnd;
  int64_t first_index = 0;     // expected first index
  int64_t expected = -1;       // volumes expected from first_index on, -1 unknown
  int64_t volumes_sent = -1;   // from run_end, -1 unknown
  int64_t received = 0;        // delivered to processing
  int64_t missing = 0;         // indices never delivered (gaps, plus the tail if the end is known)
  std::vector<std::pair<int64_t, int64_t>> gaps;  // inclusive ranges, first 100
  int64_t recovered = 0;       // delivered after a resend request (hyper/1.1), in order
  int64_t duplicates = 0;
  int64_t out_of_order = 0;
  std::array<int64_t, kRejectCount> dropped{};  // by reason, messages attributed to this run
  LatencySummary latency_ms;                    // t_sent -> t_recv
  double duration_s = 0;                        // first to last message of the run
  std::string link;                             // "curve", "loopback" or "insecure" (--insecure off loopback)

  int64_t dropped_total() const;
  bool complete() const;  // every expected volume arrived and nothing was dropped
};

nlohmann::json to_json(const RunSummary& s);
std::string format_summary(const RunSummary& s);  // a few lines for the terminal, no final newline

class RunTracker {
 public:
  // `first_index` and `count` come from run_start (else 0 and -1: unknown).
  RunTracker(std::string run, int64_t first_index, int64_t count);

  enum class Verdict : uint8_t { Accept, Duplicate, OutOfOrder };
  // Decides whether a volume with this index is delivered; records gaps as it goes.
  Verdict admit(int64_t index);
  // A volume below the receiver's reorder window (already delivered, or given up): counted.
  Verdict late(int64_t index);
  void count_recovered() { ++summary_.recovered; }
  void count_duplicate() { ++summary_.duplicates; }
  // The index after the run's last volume as far as known now (see finish), else next_index().
  int64_t expected_end() const;
  void mark_lost(int64_t index);  // an accepted volume that could not be handed on
  void record_latency_ms(double ms) { latency_ms_.push_back(ms); }
  void record_drop(Reject r) { ++summary_.dropped[static_cast<size_t>(r)]; }
  void touch(double now_s);  // a message of this run arrived at `now_s` (steady seconds)
  void set_announced(int64_t first_index, int64_t count);  // a run_start arriving late
  void set_total(int64_t n_volumes);  // a volume header's n_volumes: the end, if count is unknown
  void set_volumes_sent(int64_t n) { summary_.volumes_sent = n; }

  const std::string& run() const { return summary_.run; }
  int64_t next_index() const { return next_; }
  double last_seen_s() const { return last_s_; }
  RunSummary finish(RunEndCause cause) const;

 private:
  RunSummary summary_;
  int64_t next_ = 0;                 // the index expected next
  int64_t total_ = -1;               // n_volumes from volume headers
  std::vector<bool> seen_;           // delivered indices (bounded by kMaxVolumesPerRun)
  std::vector<double> latency_ms_;
  double first_s_ = -1, last_s_ = -1;
};

}  // namespace hyper

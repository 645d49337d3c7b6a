#pragma once
// A source of volumes for the live pipeline (DESIGN.md, "The job in one picture"): it turns
// outside input (a hyper/1 stream, a recorded run, later a Pyneal link or a DICOM folder)
// into run-start / volume / run-end events, in order, for the Session.
//
// Threads: start, next and stop are called by the Session's loop thread; dropped() may be
// read from any thread. A source that receives on a thread of its own hands events over
// through a bounded queue (and counts what it drops).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "hyper/tr.hpp"

namespace hyper {

// What a source knows of a run when it ends.
struct RunEnd {
  std::string run;
  std::string ended_by;          // "run_end", "new_run", "timeout", "shutdown", "end of file"...
  int64_t received = 0;          // volumes handed on
  int64_t missing = 0;           // volumes known to exist that never came
  int64_t dropped = 0;           // messages of this run refused (each with its reason in the log)
  std::string report;            // a few lines for the terminal ("" : none)
  std::string summary_json;      // the source's accounting as a JSON object, for summary.json ("" : none)
  // Filled by the Session for the sinks:
  std::string source_run;        // the run id as the source named it (run: as recorded, RUN.2 when reused)
  int64_t processed = 0;         // volumes through the chain
  int64_t decoded = 0;           // volumes with a latent
  int64_t late = 0;              // volumes ready later than the Session's lag bound after they were sent
  std::string chain_error;       // why the chain could not take this run (e.g. a decoder of another grid); "" none
  std::map<std::string, int64_t> rejected;  // volumes the Session refused at its entry, by reason (not in dropped)
  int64_t resumed_after = -1;    // a resumed record: the last index recorded before the stream stopped (-1: not resumed)
  int64_t rebuilt = 0;           // ... volumes up to it run through the chain again, to rebuild its state
};

struct SourceEvent {
  enum class Kind : uint8_t { RunStart, Volume, RunEnd };
  Kind kind = Kind::Volume;
  std::string run;
  // RunStart: what the run announced (count -1 and tr_s 0: not known).
  int64_t first_index = 0, count = -1;
  double tr_s = 0;
  // RunStart: false when the source joined the run in its middle (no run_start reached it):
  // only such a run continues an unfinished record (a publisher that starts a run anew,
  // even under an old id, makes a new run).
  bool announced = true;
  std::unique_ptr<Tr> tr;  // Volume: the record, t_sent and t_recv stamped
  RunEnd end;              // RunEnd
};

class Source {
 public:
  virtual ~Source() = default;
  virtual std::string describe() const = 0;  // "hyper/1 from tcp://127.0.0.1:5555": for the log
  virtual void start() {}
  // The next event; nothing when none came within `timeout` or the source is finished.
  virtual std::optional<SourceEvent> next(std::chrono::milliseconds timeout) = 0;
  // No event will come any more (a recorded run read to its end; a stopped receiver drained).
  virtual bool finished() const = 0;
  // Stops receiving; an open run gets its RunEnd; what is queued can still be taken.
  virtual void stop() {}
  virtual int64_t dropped() const { return 0; }  // messages refused so far, all runs
};

}  // namespace hyper

#pragma once
// The live pipeline's one loop (DESIGN.md, "The job in one picture"): events from a Source
// go through the preprocessing chain (and the decode stage) and every processed `Tr` fans
// out to the Sinks. `hyper stream`, `hyper bench` (both modes), `hyper demo` (through its
// stream), `hyper decode`, `hyper preprocess` and training all run volumes through here.
//
// Per run: the chain is initialized on the run's first volume (when its grid is known),
// started, fed every volume in order, stopped at the run's end; t_ready is stamped after
// the chain; each run's end is reported (the source's accounting, the chain's timings).
//
// Threads: run() is called on the main thread. With a MainThread sink (the screen) the loop
// runs on a processing thread and the main thread pumps that sink; otherwise (and always
// in serial mode) the loop runs on the calling thread. Sinks are added before run(), never
// after; publish_face may be called from any thread.

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/chain.hpp"
#include "core/logging.hpp"
#include "core/registry.hpp"
#include "hyper/sink.hpp"
#include "hyper/source.hpp"

namespace hyper {

// A run whose record the stream left unfinished (it was killed): the last index recorded,
// and the volumes as first received (the BOLD recording), to rebuild the stages' state.
struct ResumePoint {
  int64_t recorded_through = -1;
  std::function<std::optional<Volume>(int64_t index)> recorded;  // nothing: not recorded
  std::string from;  // where those volumes are, for the log
};

struct SessionOptions {
  int64_t max_runs = 0;   // stop after this many runs ended; 0: until the source is finished or Ctrl-C
  bool serial = false;    // one thread does everything in turn, main-thread sinks pumped after each volume
  bool strict = false;    // a run the chain cannot take, or a failing sink, is an error (offline) rather
                          // than a logged, skipped run (online: the scanner goes on)
  bool log_runs = true;   // log each run's start, its source's report and the chain's timings
  std::string out;        // the records' folder: a run id with a record there is recorded as RUN.2, ... ("" none)
  double max_abs_value = 1e6;  // a volume with a voxel beyond +-this is refused (out_of_range)
  double max_lag_trs = 2;      // a volume ready more than this many TRs after it was sent is late: warned once a run, counted
  // A run id with an unfinished record in `out` (README, "Resume after a crash"): its record
  // is continued when this says where it stopped; otherwise it is recorded as RUN.2.
  std::function<std::optional<ResumePoint>(const std::string& run)> resume;
};

class Session {
 public:
  Session(Chain& chain, SessionOptions options);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // What a sink's factory gets from this session.
  SinkContext context(const Params& settings, std::string out,
                      std::function<std::unique_ptr<Generator>(const GeneratorOptions&)> make_generator);
  void add(std::shared_ptr<Sink> sink);  // nullptr: ignored (a sink its settings leave off)
  size_t sink_count() const { return sinks_.size(); }

  // Runs `source` until it is finished, max_runs runs have ended, Ctrl-C, or a main-thread
  // sink was closed; then finishes every sink in the order added. Exceptions from the
  // chain or a sink end it only in strict mode.
  void run(Source& source);

  void publish_face(std::shared_ptr<const Face> face);  // to every sink's on_face; any thread
  int64_t runs_ended() const { return runs_ended_; }
  int64_t runs_failed() const { return runs_failed_; }  // ended runs the chain could not take
  // Stopped (Ctrl-C, a main-thread sink closed) while a run was open: the caller exits 130.
  bool cut_short() const { return cut_short_; }

 private:
  void loop(Source& source);
  void handle(SourceEvent& ev);
  // `announced`: the source saw the run begin (else it joined it late: a resumable run).
  void start_run(const std::string& run, int64_t first_index, int64_t count, bool announced);
  void process(Tr& tr);
  // A resumed run: the recorded volumes before `tr` that the chain has not seen go through it
  // (no sink sees them); true when `tr` itself was recorded before and only rebuilds state.
  bool rebuild_before(Tr& tr);
  // Why the entry check refuses this volume ("shape", "non_finite", "out_of_range"), or null.
  const char* refuse(const Tr& tr);
  void end_run(const RunEnd& end);
  bool pump_main(std::chrono::milliseconds wait);  // false: a main-thread sink asked to stop
  template <typename F>
  void each_sink(const char* what, F&& f);

  Chain& chain_;
  SessionOptions options_;
  std::vector<std::shared_ptr<Sink>> sinks_;
  std::atomic<Source*> source_{nullptr};
  RateLimitedLog failures_;  // a sink failing every TR must not flood the log
  std::atomic<bool> stop_{false};
  // Loop-thread state.
  std::string source_run_;            // the open run as the source names it ("" none)
  std::string run_;                   // ... and as it is processed and recorded
  std::set<std::string> used_runs_;   // every run id recorded in this session
  struct Counts {
    int64_t processed = 0, decoded = 0, late = 0;
    std::string chain_error;
    std::map<std::string, int64_t> rejected;
  } counts_;                          // the open run's
  bool chain_started_ = false, chain_ok_ = false;
  std::optional<ResumePoint> resume_;  // the open run continues a record
  int64_t rebuilt_next_ = 0, rebuilt_ = 0;  // the next index the chain has not seen; volumes rebuilt
  int64_t runs_ended_ = 0, runs_failed_ = 0;
  bool cut_short_ = false;
};

// Adds every registered sink that its settings turn on, in registration order.
void add_registered_sinks(Session& session, const PartRegistry& parts, const Settings& settings, const std::string& out);

// A sink that calls a function with each processed record (offline use, tests).
class FunctionSink : public Sink {
 public:
  explicit FunctionSink(std::function<void(const Tr&)> f) : f_(std::move(f)) {}
  void on_tr(const Tr& tr) override { f_(tr); }

 private:
  std::function<void(const Tr&)> f_;
};

}  // namespace hyper

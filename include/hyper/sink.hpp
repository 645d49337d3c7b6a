#pragma once
// A sink receives what the Session makes of each volume (DESIGN.md): the processed `Tr`,
// the faces drawn from it, and the runs' starts and ends. Run records, the results
// publisher, the generator thread, the screen and the progress line are sinks.
//
// Threads (declared by threading()):
//   Inline      on_* run on the Session's loop thread and must not block (a file line, a
//               non-blocking send): the loop waits for them.
//   OwnThread   on_tr only hands over (a latest-value slot or a bounded queue with counted
//               drops); the work happens on the sink's own thread.
//   MainThread  like OwnThread, and pump() is called on the program's main thread (SDL).
// on_face may come from any thread (the generator's, the main thread's): make it thread-safe.
// finish() runs on the main thread after the loop ended, in the order the sinks were added.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hyper/tr.hpp"

namespace hyper {

struct RunEnd;

struct RunStart {
  std::string run;
  int64_t first_index = 0, count = -1;  // as announced (-1: not known)
  std::vector<std::string> stages;      // the chain's stages: the names of tr.stage_ms
  std::string source_run;               // as the source named it (run: as recorded, RUN.2 when reused)
  // >= 0: the stream stopped (a crash) during this run and resumes its record: volumes up to
  // this index are recorded already, and a sink's files for the run are appended to.
  int64_t resume_after = -1;
};

// One face drawn from a decoded TR: handed to every sink when drawn (t_present -1) and
// again when it was shown on a screen (t_present set).
struct Face {
  std::string run;
  int64_t index = 0;         // the volume it was decoded from
  int64_t t_sent = -1;       // that volume's t_sent (CLOCK_REALTIME ns)
  int64_t t_generate = -1;   // the image was ready (CLOCK_REALTIME ns)
  int64_t t_present = -1;    // it was on screen (SDL_RenderPresent returned), -1 not shown
  double generate_ms = 0;    // the generator's time for it
  int64_t skipped = 0;       // latents replaced before they were drawn, this session so far
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;        // 8-bit RGB rows; empty when nobody needs pixels
  std::vector<uint8_t> truth_rgb;  // the face presented then (replays of a twin), same size
  bool has_feedback = false;       // a feedback protocol's thermometer beside the face
  double feedback = 0, feedback_bar = 0;
  // An early, coarser image of this face (stream.coarse_first: a level of the PGGAN, scaled
  // up to width x height), shown until the full face, which follows with the same index.
  bool coarse = false;
};

class Generator;
struct GeneratorOptions;
class Params;

// What a sink's factory gets.
struct SinkContext {
  const Params& settings;              // every resolved setting, by full key ("display.width")
  std::string out;                     // the session's output folder; "" records nothing
  bool decoding = false;               // the chain ends in the decode stage (tr.latent is filled)
  bool serial = false;                 // one thread does everything in turn (hyper bench --process in): no threads of a sink's own
  std::function<void(std::shared_ptr<const Face>)> publish_face;  // to every sink's on_face
  std::function<int64_t()> dropped;    // messages the source refused so far
  std::function<std::unique_ptr<Generator>(const GeneratorOptions&)> make_generator;  // by generator.kind
};

class Sink {
 public:
  enum class Threading : uint8_t { Inline, OwnThread, MainThread };
  virtual ~Sink() = default;
  virtual Threading threading() const { return Threading::Inline; }
  virtual void on_run_start(const RunStart& /*run*/) {}
  // Each volume as it arrived, before the chain changes it (realign and smooth work in place):
  // for recording the raw BOLD data. Then on_tr with the chain's results.
  virtual void on_received(const Tr& /*tr*/) {}
  virtual void on_tr(const Tr& tr) = 0;
  virtual void on_face(const std::shared_ptr<const Face>& /*face*/) {}
  virtual void on_run_end(const RunEnd& /*end*/) {}
  // MainThread sinks: events and drawing, waiting up to `wait` for work; false once the user
  // asked to stop (Esc, the window closed).
  virtual bool pump(std::chrono::milliseconds /*wait*/) { return true; }
  virtual void finish() {}
};

}  // namespace hyper

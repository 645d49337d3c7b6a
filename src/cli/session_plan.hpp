#pragma once
// `hyper session`'s plan and state (README, "Running an experiment"). The plan is a
// settings file (any section: [stream], [display], [trigger], [bold], [train]...) with one
// [[run]] table per run, in order:
//   kind    present (the design's faces, from the trigger; BOLD recorded), online (decoded
//           faces on the screen, from a decoder trained on the runs before), feedback (a
//           closed-loop protocol on the decoded latent, as online)
//   protocol feedback: the protocol (else [feedback] protocol)
//   design  present: the events.tsv to show
//   volumes the run's length (checked against the design; default session.run_volumes)
// What the session keeps on disk (session.json, the runs' files): cli/session_state.hpp.

#include <filesystem>
#include <string>
#include <vector>

#include "core/settings.hpp"
#include "io/bids.hpp"

namespace hyper {

struct PlannedRun {
  std::string kind;
  std::filesystem::path design;
  std::string protocol;       // feedback: the closed-loop protocol
  std::vector<Event> events;  // present: the design's
  int64_t volumes = 0;        // 0: not known
  int64_t early_faces = 0;    // present with a volume trigger: faces over before the trigger is known
  int64_t train_trials() const;
  std::string describe(double tr_s) const;  // "present: 8 faces (8 train) from run-02_events.tsv, 0:18"
};

// Reads and checks the [[run]] tables: an unknown kind, a missing design, a design longer
// than the run or with a stimulus beyond the latents throw SettingsError naming "run N: key".
std::vector<PlannedRun> read_plan(const std::filesystem::path& plan, const Settings& settings,
                                  const std::filesystem::path& latents);

// A run's settings: what the plan says of its kind (design, protocol, faces or not) over the session's.
Settings run_settings(const Settings& st, const PlannedRun& r, const std::filesystem::path& latents);
// "\n  in all: 4296 volumes, 1:47:24 of scanning" ("" when a run's length is not known).
std::string total_time(const std::vector<PlannedRun>& runs, double tr_s);
// The present runs with training trials among the first i: what a decoder for run i+1 is trained on.
size_t training_runs_before(const std::vector<PlannedRun>& runs, size_t i);
}  // namespace hyper

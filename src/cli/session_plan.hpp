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
// The state file <out>/session.json says which runs are done, so a rerun resumes.

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

struct SessionState {
  std::vector<std::string> status;  // per run: "" (not started), "started" (cut short or crashed), "done"
  std::string decoder;              // the newest decoder trained between runs
  size_t decoder_runs = 0;          // the recorded runs it was trained on
};
SessionState load_state(const std::filesystem::path& file, size_t runs);  // a fresh state when there is none
void save_state(const std::filesystem::path& file, const SessionState& state);
// A run's settings: what the plan says of its kind (design, protocol, faces or not) over the session's.
Settings run_settings(const Settings& st, const PlannedRun& r, const std::filesystem::path& latents);
// The resolved settings as <out>/settings.toml; a resume with other settings adds
// settings-resumed-<unix time>.toml beside it (the first start's are never written over).
void keep_settings(const std::filesystem::path& out, const std::string& toml);
// "\n  in all: 4296 volumes, 1:47:24 of scanning" ("" when a run's length is not known).
std::string total_time(const std::vector<PlannedRun>& runs, double tr_s);
// The present runs with training trials among the first i: what a decoder for run i+1 is trained on.
size_t training_runs_before(const std::vector<PlannedRun>& runs, size_t i);
// A run's files in the session folder (<stem>_*, <out>/presentation/<run>/) that exist.
std::vector<std::filesystem::path> run_outputs(const std::filesystem::path& out, const std::filesystem::path& stem);
// A present run's presentation that did not reach the design's end: why ("" when it did).
std::string presentation_incomplete(const std::filesystem::path& out, const std::filesystem::path& stem);
// A run cut short is repeated afresh: its files (<stem>_*, <out>/presentation/<run>/) go to
// <out>/sourcedata/cut-short/<run>-<unix time>/.
void set_aside_cut_short(const std::filesystem::path& out, const std::filesystem::path& stem);

}  // namespace hyper

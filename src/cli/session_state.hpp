#pragma once
// What `hyper session` keeps on disk (README, "Running an experiment"): the state file
// <out>/session.json (which runs are done, the newest decoder: a rerun resumes from it),
// the resolved settings, and each run's files (never written over; a run cut short is set
// aside whole).

#include <filesystem>
#include <string>
#include <vector>

namespace hyper {

struct SessionState {
  std::vector<std::string> status;  // per run: "" (not started), "started" (cut short or crashed), "done"
  std::string decoder;              // the newest decoder trained between runs
  size_t decoder_runs = 0;          // the recorded runs it was trained on
};
SessionState load_state(const std::filesystem::path& file, size_t runs);  // a fresh state when there is none
void save_state(const std::filesystem::path& file, const SessionState& state);
// The resolved settings as <out>/settings.toml; a resume with other settings adds
// settings-resumed-<unix time>.toml beside it (the first start's are never written over).
void keep_settings(const std::filesystem::path& out, const std::string& toml);
// A run's files in the session folder (<stem>_*, <out>/presentation/<run>/) that exist.
std::vector<std::filesystem::path> run_outputs(const std::filesystem::path& out, const std::filesystem::path& stem);
// A present run's presentation that did not reach the design's end: why ("" when it did).
std::string presentation_incomplete(const std::filesystem::path& out, const std::filesystem::path& stem);
// A run cut short is repeated afresh: its files (<stem>_*, <out>/presentation/<run>/) go to
// <out>/sourcedata/cut-short/<run>-<unix time>/.
void set_aside_cut_short(const std::filesystem::path& out, const std::filesystem::path& stem);

}  // namespace hyper

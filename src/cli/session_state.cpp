#include "cli/session_state.hpp"

#include <fstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "io/bids.hpp"
#include "io/files.hpp"

namespace hyper {

namespace fs = std::filesystem;

SessionState load_state(const fs::path& file, size_t runs) {
  SessionState s;
  s.status.assign(runs, "");
  if (!fs::exists(file)) return s;
  std::ifstream in(file);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("runs")) throw SettingsError(file.string() + ": not a session state file (session.json)");
  if (j["runs"].size() != runs)
    throw SettingsError(fmt::format("{}: the session there has {} runs, the plan {}: give another --out, or the plan it ran",
                                    file.string(), j["runs"].size(), runs));
  try {  // a state edited by hand: its mistake named, not a crash
    for (size_t i = 0; i < runs; ++i) {
      s.status[i] = j["runs"][i].at("status").get<std::string>();
      if (s.status[i] != "" && s.status[i] != "started" && s.status[i] != "done")
        throw std::invalid_argument("runs[" + std::to_string(i) + "].status is \"" + s.status[i] + "\", not \"\", started or done");
    }
    s.decoder = j.value("decoder", "");
    s.decoder_runs = j.value("decoder_runs", size_t{0});
  } catch (const std::exception& e) {
    throw SettingsError(file.string() + ": " + e.what() + " (each run is {\"status\": \"\" | \"started\" | \"done\"})");
  }
  return s;
}

void save_state(const fs::path& file, const SessionState& s) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& st : s.status) runs.push_back({{"status", st}});
  write_file_atomic(file, nlohmann::json{{"runs", runs}, {"decoder", s.decoder}, {"decoder_runs", s.decoder_runs}}.dump(2) + "\n");
}

// The files of a run cut short go to sourcedata/cut-short/: the repeat records afresh.
void keep_settings(const fs::path& out, const std::string& toml) {
  fs::path file = out / "settings.toml";
  if (fs::exists(file)) {
    std::ifstream in(file);
    const std::string first{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (first == toml) return;
    file = out / fmt::format("settings-resumed-{}.toml", realtime_ns() / 1000000000);
    spdlog::warn("the settings differ from the session's first start (settings.toml): these are in {}", file.string());
  }
  write_file_atomic(file, toml);
}

std::vector<fs::path> run_outputs(const fs::path& out, const fs::path& stem) {
  std::vector<fs::path> files = run_files(stem);
  std::error_code ec;
  if (fs::exists(out / "presentation" / stem.filename(), ec)) files.push_back(out / "presentation" / stem.filename());
  return files;
}

std::string presentation_incomplete(const fs::path& out, const fs::path& stem) {
  std::ifstream in(out / "presentation" / stem.filename() / "presentation.json");
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!in || j.is_discarded()) return "no trigger came: nothing was shown";
  const int64_t events = j.value("events", int64_t{0}), shown = j.value("events_shown", int64_t{0});
  if (shown + j.value("skipped_events", int64_t{0}) < events) return fmt::format("{} of its {} faces were shown", shown, events);
  return "";
}

void set_aside_cut_short(const fs::path& out, const fs::path& stem) {
  const fs::path dest = out / "sourcedata" / "cut-short" / fmt::format("{}-{}", stem.filename().string(), realtime_ns() / 1000000000);
  ensure_dir(dest);
  for (const fs::path& f : run_outputs(out, stem))
    fs::rename(f, dest / (f.parent_path().filename() == "presentation" ? fs::path("presentation") : f.filename()));
  spdlog::info("the files of the run cut short are in {}", dest.string());
}

}  // namespace hyper

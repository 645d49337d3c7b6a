#include "cli/session_plan.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>
#include <toml++/toml.h>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "io/files.hpp"
#include "io/npy.hpp"

namespace hyper {

namespace fs = std::filesystem;

int64_t PlannedRun::train_trials() const {
  return std::count_if(events.begin(), events.end(), [](const Event& e) { return e.trial_type == "train"; });
}

std::string PlannedRun::describe(double tr_s) const {
  std::string s = kind;
  if (kind == "present")
    s += fmt::format(": {} faces ({} train) from {}", events.size(), train_trials(), design.filename().string());
  if (kind == "online") s += ": decoded faces on the subject's screen";
  if (kind == "feedback") s += ": the " + protocol + " protocol on the decoded latent";
  if (volumes > 0) {
    const auto secs = static_cast<int64_t>(std::lround(static_cast<double>(volumes) * tr_s));
    s += fmt::format(", {} volumes ({}:{:02d})", volumes, secs / 60, secs % 60);
  }
  return s;
}

std::vector<PlannedRun> read_plan(const fs::path& plan, const Settings& st, const fs::path& latents) {
  toml::table root;
  try {
    root = toml::parse_file(plan.string());
  } catch (const toml::parse_error& e) {
    throw SettingsError(fmt::format("{}: {}", plan.string(), e.description()));
  }
  const toml::array* list = root["run"].as_array();
  if (!list || list->empty())
    throw SettingsError(plan.string() + ": no [[run]] tables: the plan lists its runs, each with kind = \"present\" or \"online\"");
  const double tr = st.get_float("session.tr");
  int64_t latent_rows = -1;
  if (!latents.empty() && fs::exists(latents)) latent_rows = read_npy(latents).shape.at(0);
  std::vector<PlannedRun> runs;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string where = fmt::format("{}: run {}", plan.string(), i + 1);
    const toml::table* t = list->get(i)->as_table();
    if (!t) throw SettingsError(where + ": each [[run]] is a table");
    for (const auto& [k, v] : *t)
      if (k.str() != "kind" && k.str() != "design" && k.str() != "volumes" && k.str() != "protocol")
        throw SettingsError(fmt::format("{}: unknown key '{}' (a run has kind, design, volumes, protocol)", where, k.str()));
    PlannedRun r;
    r.kind = t->get("kind") ? t->get("kind")->value_or(std::string()) : "";
    r.volumes = t->get("volumes") ? t->get("volumes")->value_or(int64_t{0}) : st.get_int("session.run_volumes");
    if (r.kind != "present" && r.kind != "online" && r.kind != "feedback")
      throw SettingsError(where + ": kind = \"" + r.kind + "\" is not a run kind: present (the design's faces, BOLD recorded), "
                                  "online (decoded faces) or feedback (a closed-loop protocol)");
    if (r.kind == "feedback") {
      r.protocol = t->get("protocol") ? t->get("protocol")->value_or(std::string()) : st.get_string("feedback.protocol");
      if (r.protocol.empty())
        throw SettingsError(where + ": protocol: a feedback run names its protocol (protocol = \"target\", or [feedback] protocol)");
    }
    if (r.kind == "present") {
      if (!t->get("design")) throw SettingsError(where + ": design: a present run names its events.tsv (design = \"...\")");
      r.design = t->get("design")->value_or(std::string());
      if (r.design.is_relative() && !fs::exists(r.design)) r.design = plan.parent_path() / r.design;  // beside the plan
      if (!fs::exists(r.design)) throw SettingsError(where + ": design: no such file: " + r.design.string());
      try {
        r.events = read_events(r.design);
      } catch (const std::exception& e) {
        throw SettingsError(where + ": design: " + e.what());
      }
      if (r.events.empty()) throw SettingsError(where + ": design: " + r.design.string() + " has no events");
      double end = 0;
      for (const Event& e : r.events) {
        end = std::max(end, e.onset + e.duration);
        if (e.stim_index < 0 || (latent_rows >= 0 && e.stim_index >= latent_rows))
          throw SettingsError(fmt::format("{}: design: the event at {} s shows stimulus {}, and {} has rows 0-{}", where, e.onset,
                                          e.stim_index, latents.string(), latent_rows - 1));
      }
      if (r.volumes > 0 && end > static_cast<double>(r.volumes) * tr + 1e-6)
        throw SettingsError(fmt::format("{}: volumes: the design ends at {:.1f} s, after the run's {} volumes of {} s ({:.1f} s)",
                                        where, end, r.volumes, tr, static_cast<double>(r.volumes) * tr));
    }
    runs.push_back(std::move(r));
  }
  return runs;
}

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
  for (size_t i = 0; i < runs; ++i) s.status[i] = j["runs"][i].value("status", "");
  s.decoder = j.value("decoder", "");
  s.decoder_runs = j.value("decoder_runs", size_t{0});
  return s;
}

void save_state(const fs::path& file, const SessionState& s) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& st : s.status) runs.push_back({{"status", st}});
  write_file_atomic(file, nlohmann::json{{"runs", runs}, {"decoder", s.decoder}, {"decoder_runs", s.decoder_runs}}.dump(2) + "\n");
}

// The files of a run cut short go to sourcedata/cut-short/: the repeat records afresh.
void set_aside_cut_short(const fs::path& out, const fs::path& stem) {
  const fs::path dest = out / "sourcedata" / "cut-short" / fmt::format("{}-{}", stem.filename().string(), realtime_ns() / 1000000000);
  ensure_dir(dest);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(stem.parent_path(), ec))
    if (e.path().filename().string().rfind(stem.filename().string() + "_", 0) == 0) fs::rename(e.path(), dest / e.path().filename());
  if (fs::exists(out / "presentation" / stem.filename())) fs::rename(out / "presentation" / stem.filename(), dest / "presentation");
  spdlog::info("the files of the run cut short are in {}", dest.string());
}

}  // namespace hyper

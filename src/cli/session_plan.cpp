#include "cli/session_plan.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/fmt/fmt.h>
#include <toml++/toml.h>

#include "io/npy.hpp"
#include "sinks/frame_schedule.hpp"

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
  if (early_faces > 0)
    s += fmt::format("; WARNING: {} faces end before the first volume can arrive, and a volume trigger will skip them", early_faces);
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
    for (const auto& [k, v] : *t) {
      if (k.str() != "kind" && k.str() != "design" && k.str() != "volumes" && k.str() != "protocol")
        throw SettingsError(fmt::format("{}: unknown key '{}' (a run has kind, design, volumes, protocol)", where, k.str()));
      if (k.str() == "volumes" ? !v.is_integer() || v.value_or(int64_t{0}) < 1 : !v.is_string())
        throw SettingsError(fmt::format("{}: {}: {} (e.g. {})", where, k.str(), k.str() == "volumes" ? "a whole number of volumes" : "a string in quotes",
                                        k.str() == "volumes" ? "volumes = 300" : std::string(k.str()) + " = \"...\""));
    }
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
      try {
        FrameSchedule(r.events, 1.0 / 60, 0);  // negative, zero or overlapping durations: caught now, not at the scanner
      } catch (const std::invalid_argument& e) {
        throw SettingsError(where + ": design: " + r.design.string() + ": " + e.what());
      }
      if (st.get_string("trigger.source") == "volume")  // known a TR and the export delay after the scanner's trigger
        for (const Event& e : r.events) r.early_faces += e.onset + e.duration <= tr + st.get_float("trigger.export_delay_s");
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

Settings run_settings(const Settings& st, const PlannedRun& r, const fs::path& latents) {
  Settings rs = st;
  const bool present = r.kind == "present";
  rs.apply_value("present.design", present ? r.design.string() : std::string(), "the plan");
  rs.apply_value("present.latents", latents.string(), "the plan");
  rs.apply_value("stream.faces", !present, "the plan");
  rs.apply_value("display.enabled", !present, "the plan");
  rs.apply_value("feedback.protocol", r.protocol, "the plan");
  if (st.get_string("feedback.latents").empty()) rs.apply_value("feedback.latents", latents.string(), "the plan");
  return rs;
}

std::string total_time(const std::vector<PlannedRun>& runs, double tr_s) {
  int64_t volumes = 0;
  for (const PlannedRun& r : runs) {
    if (r.volumes <= 0) return "";  // a run of unknown length: no total
    volumes += r.volumes;
  }
  const auto secs = static_cast<int64_t>(std::lround(static_cast<double>(volumes) * tr_s));
  return fmt::format("\n  in all: {} volumes, {}:{:02d}:{:02d} of scanning", volumes, secs / 3600, secs / 60 % 60, secs % 60);
}

size_t training_runs_before(const std::vector<PlannedRun>& runs, size_t i) {
  size_t n = 0;
  for (size_t k = 0; k < i && k < runs.size(); ++k) n += runs[k].kind == "present" && runs[k].train_trials() > 0;
  return n;
}

}  // namespace hyper

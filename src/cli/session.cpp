// `hyper session PLAN.toml`: a whole session at the scanner (README, "Running an experiment"):
// the plan's runs in order, each through the live pipeline (present runs show the design
// from the trigger and record BOLD and events; online runs decode), the decoder trained
// between runs from the session's own recordings, and a state file to resume from.
#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "cli/session_plan.hpp"
#include "cli/session_state.hpp"
#include "cli/stream.hpp"
#include "cli/train.hpp"
#include "core/interrupt.hpp"
#include "core/logging.hpp"
#include "decoders/decoder.hpp"
#include "feedback/protocol.hpp"
#include "io/files.hpp"
#include "sinks/dashboard.hpp"
#include "sinks/display.hpp"
#include "generators/generator_settings.hpp"
#include "sinks/presentation.hpp"
#include "sinks/stimulus_cache.hpp"
#include "sinks/trigger.hpp"

namespace hyper {

namespace fs = std::filesystem;

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "session.plan", .type = T::String, .def = std::string(""),
         .help = "the plan: settings and one [[run]] table per run (configs/session.toml)", .required = true});
  s.add_table("run");
  s.add({.key = "session.dry_run", .type = T::Bool, .def = false,
         .help = "check the plan, the screen and the trigger, print the timetable, and exit", .flag = "--dry-run"});
  s.add({.key = "session.tr", .type = T::Float, .def = 1.5, .unit = "s", .help = "the runs' TR (the timetable, the design's fit)",
         .min = 0.01});
  s.add({.key = "session.run_volumes", .type = T::Int, .def = int64_t{0}, .unit = "volumes",
         .help = "volumes per run unless its [[run]] says; 0: not checked", .min = 0.0});
  s.add({.key = "session.cut_short", .type = T::String, .def = std::string("repeat"),
         .help = "a run cut short (Esc, Ctrl-C, a crash) when the session resumes: repeat it (its files are kept in "
                 "sourcedata/cut-short) or keep it as it is",
         .flag = "--cut-short", .choices = {"repeat", "keep"}});
}

// The decoder for the next online run, from every recorded run whose events are all training trials.
std::string train_between(const Settings& st, const PartRegistry& parts, const fs::path& out, size_t after, const fs::path& latents) {
  std::vector<RunFile> runs;
  for (const RunFile& r : find_runs(out)) {
    std::error_code ec;
    if (fs::exists(events_path(r.path), ec) && is_training_run(r)) runs.push_back(r);
  }
  TrainOptions o = train_options(st);
  o.mode = "tr";  // the decode stage decodes every TR
  spdlog::info("training the decoder on the {} training runs recorded so far (chain {})", runs.size(),
               format_value(st.value("preprocess.chain")));
  Chain chain(parts, st);
  const Decoder d = train_decoder(chain, runs, read_latents(latents), o, [](const std::string& line) { spdlog::info("  {}", line); });
  const fs::path file = out / "decoders" / fmt::format("after-run-{:02d}.safetensors", after);
  ensure_dir(file.parent_path());
  save_decoder(file, d);
  std::string cv;
  for (size_t i = 0; i < d.penalties.size(); ++i) cv += fmt::format(" {}: {:.3f}", d.penalties[i], d.cv_correlation[i]);
  spdlog::info("decoder: {} ({} voxels, penalty {}{})", file.string(), d.voxels.size(), d.penalty,
               cv.empty() ? "" : "; cross-validated correlation by penalty:" + cv);
  return fs::absolute(file).string();  // the state file's decoder holds wherever the session is resumed from
}

// The screen and the trigger, opened and closed again: a plan that cannot reach them fails now.
void check_devices(const Settings& st) {
  DisplayOptions d = display_options(st);
  { Display screen(d); }
  const TriggerOptions t = trigger_options(st);
  if (t.source == "serial") SerialTrigger port(t);
  spdlog::info("the screen ({}) and the trigger ({}{}) answer", d.driver.empty() ? "SDL's driver" : d.driver, t.source,
               t.source == "serial" ? " on " + t.device : t.source == "key" ? " " + t.key : "");
}

int run(const Settings& st, const PartRegistry& parts) {
  // The session's folder and first decoder are the stream's (--out, --decoder): each run is a stream.
  const fs::path plan_file = st.get_string("session.plan"), out = st.get_string("stream.out");
  if (out.empty() && !st.get_bool("session.dry_run"))
    throw SettingsError("stream.out: a session records into a folder: give --out DIR (or [stream] out in the plan)");
  fs::path latents = st.get_string("present.latents");
  const std::vector<PlannedRun> runs = read_plan(plan_file, st, latents);
  for (const PlannedRun& r : runs)
    if (latents.empty() && r.kind == "present") latents = design_latents(r.design);
  if (latents.empty() || !fs::exists(latents))
    throw SettingsError("present.latents: the stimulus latents are needed (no stimuli/latents.npy beside the designs): set "
                        "[present] latents = \"FILE\" in the plan");
  const std::vector<PlannedRun> checked = read_plan(plan_file, st, latents);  // now with the stimuli's rows
  // Each decoding run's chain built now: a given decoder's preprocessing against the plan's, a protocol's settings.
  for (size_t i = 0; i < checked.size(); ++i) try {
      const Settings rs = run_settings(st, checked[i], latents);
      if (checked[i].kind == "present") continue;
      if (!st.get_string("stream.decoder").empty()) live_chain(parts, rs, st.get_string("stream.decoder"));
      else make_feedback_stage(rs);  // the decoder is trained before the run
    } catch (const SettingsError& e) {
      throw SettingsError(fmt::format("run {}: {}", i + 1, e.what()));
    }
  // Every online run needs a decoder: the given one, or runs with training trials before it.
  for (size_t i = 0; i < checked.size(); ++i) {
    const size_t train_runs = training_runs_before(checked, i);
    if (checked[i].kind == "present" || !st.get_string("stream.decoder").empty()) continue;
    if (train_runs == 0)
      throw SettingsError(fmt::format("stream.decoder: run {} decodes and no present run with training trials comes before it: "
                                      "give a decoder (--decoder FILE) or present training runs first", i + 1));
    if (train_runs < 2 && st.get_float("train.penalty") < 0)
      throw SettingsError(fmt::format("train.penalty: the decoder for run {} is trained on one run, and choosing the penalty by "
                                      "cross-validation needs two: set [train] penalty = 1000 in the plan", i + 1));
  }
  const double tr = st.get_float("session.tr");
  std::string table;
  std::vector<std::string> plan;  // for the dashboard
  for (size_t i = 0; i < checked.size(); ++i) plan.push_back(checked[i].describe(tr)), table += "\n  run " + std::to_string(i + 1) + ": " + plan.back();
  spdlog::info("session plan {}:{}{}", plan_file.string(), table, total_time(checked, tr));
  if (st.get_bool("session.dry_run")) {
    check_devices(st);
    spdlog::info("dry run: the plan is sound; run it without --dry-run{}", out.empty() ? ", with --out DIR (the session's folder)" : "");
    return 0;
  }
  ensure_dir(out);
  add_log_file(out / "hyper.log");
  keep_settings(out, st.to_toml(parts.session_sections()));
  const fs::path state_file = out / "session.json";
  SessionState state = load_state(state_file, checked.size());
  // Every face of the session drawn now, while the subject is not yet waiting: runs read them back.
  std::vector<int64_t> stims;
  for (size_t i = 0; i < checked.size(); ++i)
    if (state.status[i] != "done")
      for (const Event& e : checked[i].events) stims.push_back(e.stim_index);
  if (!stims.empty()) {
    cached_faces({present_cache_dir(st, out.string()), latents, generator_options(st), static_cast<int>(st.get_int("display.face_px"))}, stims, [&parts](const GeneratorOptions& o) { return parts.make_generator(o); });
  }
  for (size_t i = 0; i < checked.size(); ++i) {
    if (state.status[i] == "done") continue;
    const PlannedRun& r = checked[i];
    Settings rs = run_settings(st, r, latents);
    rs.apply_value("bold.run", static_cast<int64_t>(i + 1), "the plan's run number");
    const fs::path stem = bids_run_stem(out, st.get_string("bold.subject"), st.get_string("bold.session"), st.get_string("bold.task"),
                                        static_cast<int>(i + 1));
    if (state.status[i] == "started") {
      if (st.get_string("session.cut_short") == "keep") {
        spdlog::info("run {} was cut short: kept as it is (session.cut_short = keep)", i + 1);
        state.status[i] = "done";
        save_state(state_file, state);
        continue;
      }
      spdlog::info("run {} was cut short: repeating it (session.cut_short = repeat)", i + 1);
      set_aside_cut_short(out, stem);
    } else if (const auto found = run_outputs(out, stem); !found.empty()) {  // never written over
      throw SettingsError(fmt::format("run {}: {} exists, but {} does not record the run: move the run's files away or "
                                      "record the session into a new --out folder", i + 1, found[0].string(), state_file.string()));
    }
    const bool present = r.kind == "present";
    // A decoder trained on every recorded training run before this one (also after a resume).
    if (!present && training_runs_before(checked, i) > state.decoder_runs) {
      state.decoder = train_between(st, parts, out, i, latents);
      state.decoder_runs = training_runs_before(checked, i);
      save_state(state_file, state);
    }
    const std::string decoder = state.decoder.empty() ? st.get_string("stream.decoder") : state.decoder;
    rs.apply_value("stream.decoder", present ? std::string() : decoder, "the plan");
    dashboard_session_plan(plan, static_cast<int>(i));
    spdlog::info("run {} of {}: {}{}", i + 1, checked.size(), r.describe(tr),
                 present ? "; waiting for the trigger" : "; decoder " + decoder + "; waiting for the volumes");
    state.status[i] = "started";
    save_state(state_file, state);
    const StreamOutcome o = stream_runs(rs, parts, out.string(), 1);
    const std::string unshown = present && o.runs_ended > 0 ? presentation_incomplete(out, stem) : "";
    if (interrupted() || o.cut_short || o.runs_ended == 0 || !unshown.empty()) {
      spdlog::warn("run {} was cut short{}: `hyper session {} --out {}` resumes (session.cut_short: repeat or keep it)", i + 1,
                   unshown.empty() ? "" : " (" + unshown + ")", plan_file.string(), out.string());
      return kExitInterrupted;
    }
    state.status[i] = "done";
    save_state(state_file, state);
  }
  dashboard_session_plan(plan, static_cast<int>(checked.size()));
  spdlog::info("session complete: {} runs in {}", checked.size(), out.string());
  return 0;
}

}  // namespace

Command session_command() {
  return {.name = "session",
          .help = "run an experiment session from a plan: present runs in step with the scanner, training between runs, online runs",
          .sections = {"session"},  // [train] (penalty, voxels...) is read from the plan too, without flags
          .declare = declare,
          .run = run,
          .chain = true,
          .session = true,
          .example = "hyper session configs/session.toml --out sessions/sub-01 --dry-run   (check it; then without --dry-run)",
          .positional = "session.plan"};
}

}  // namespace hyper

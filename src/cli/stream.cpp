// `hyper stream`: the live pipeline (README, "hyper stream"). A registered source (the
// hyper/1 receiver by default) feeds the Session, which takes every volume in order through
// the preprocessing chain (and, with a decoder, the decode stage) and hands each processed
// TR to the sinks its settings turn on: run record, faces, screen, results, progress.
#include <spdlog/spdlog.h>

#include "cli/stream.hpp"

#include "cli/command.hpp"
#include "cli/stream_resume.hpp"
#include "core/interrupt.hpp"
#include "core/logging.hpp"
#include "core/session.hpp"
#include "decoders/decode_stage.hpp"
#include "feedback/protocol.hpp"
#include "io/files.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "stream.source", .type = T::String, .def = std::string("auto"),
         .help = "where volumes come from: a registered source (hyper1: a hyper/1 stream; pyneal: Pyneal Scanner; "
                 "watch: an export folder; nifti_run: a recorded run in this process); auto: watch with --watch, else "
                 "--protocol's",
         .flag = "--source"});
  s.add({.key = "stream.protocol", .type = T::String, .def = std::string("hyper1"),
         .help = "what speaks at --endpoint: hyper1 (hyper replay, a bridge; connected to) or pyneal (Pyneal Scanner; bound)",
         .flag = "--protocol", .choices = {"hyper1", "pyneal"}});
  s.add({.key = "stream.out", .type = T::String, .def = std::string(""),
         .help = "output folder: hyper.log, settings.toml, and per run <run>/tr.tsv, latents.npy, summary.json; "
                 "empty prints only",
         .flag = "--out"});
  s.add({.key = "stream.decoder", .type = T::String, .def = std::string(""),
         .help = "decoder file (hyper train --mode tr): its own preprocessing, then a latent every TR "
                 "(recorded in <out>/<run>/latents.npy)",
         .flag = "--decoder", .existing = true});
  s.add({.key = "stream.resume", .type = T::Bool, .def = true,
         .help = "a run whose record in --out is unfinished (the stream was killed) is continued: its stages' state rebuilt "
                 "from its BOLD recording and what the publisher resends, its files appended to; false: recorded as RUN.2"});
  s.add({.key = "stream.runs", .type = T::Int, .def = int64_t{0}, .unit = "runs",
         .help = "exit after this many runs have ended; 0 runs until Ctrl-C", .flag = "--runs", .min = 0.0});
  s.add({.key = "stream.max_abs_value", .type = T::Float, .def = 1e6,
         .help = "a volume with a voxel beyond +-this (after scaling) is refused as out_of_range, like one with NaN or "
                 "infinite voxels (non_finite): the run goes on as if it were missing",
         .min = 1.0});
  s.add({.key = "stream.max_lag_trs", .type = T::Float, .def = 2.0, .unit = "TRs",
         .help = "a volume ready later than this after it was sent is late: warned once a run, counted in summary.json",
         .min = 0.0});
}

int run(const Settings& st, const PartRegistry& parts) {
  const std::string out = st.get_string("stream.out");
  if (!out.empty()) {
    ensure_dir(out);
    add_log_file(std::filesystem::path(out) / "hyper.log");
    write_file_atomic(std::filesystem::path(out) / "settings.toml", st.to_toml(parts.session_sections()));
  }
  const StreamOutcome r = stream_runs(st, parts, out, st.get_int("stream.runs"));
  if (r.runs_ended > 0 && r.runs_failed == r.runs_ended) {
    spdlog::error("no run could be processed: the preprocessing chain refused every one (the reason is above and in each "
                  "summary.json's chain_error)");
    return kExitFailure;
  }
  if (r.cut_short && !interrupted()) spdlog::warn("stopped with a run still open: its record is incomplete");
  return interrupted() || r.cut_short ? kExitInterrupted : 0;
}

}  // namespace

Chain live_chain(const PartRegistry& parts, const Settings& st, const std::string& decoder_file) {
  Chain chain = decoder_file.empty()
                    ? Chain(parts, st)
                    : decoding_chain(parts, st, std::make_shared<const Decoder>(load_decoder(decoder_file)), decoder_file);
  if (auto feedback = make_feedback_stage(st)) {  // a closed-loop protocol: after decode, before the sinks
    if (decoder_file.empty())
      throw SettingsError("feedback.protocol: feedback is computed from the decoded latent: add --decoder FILE (hyper train --mode tr)");
    chain.append("feedback", std::move(feedback));
  }
  return chain;
}

StreamOutcome stream_runs(const Settings& st, const PartRegistry& parts, const std::string& out, int64_t max_runs) {
  // The chain's parameters are checked now, before any volume; its shapes (and the
  // decoder's grid and TR) at each run's first volume, when the grid is known.
  Chain chain = live_chain(parts, st, st.get_string("stream.decoder"));
  chain.preflight(Spec{});
  const std::string source_name = st.get_string("stream.source") != "auto" ? st.get_string("stream.source")
                                  : !st.get_string("watch.dir").empty() ? "watch"
                                                                        : st.get_string("stream.protocol");
  const SourceInfo& source_info = parts.source(source_name);
  Session session(chain, {.max_runs = max_runs, .out = out, .max_abs_value = st.get_float("stream.max_abs_value"),
                           .max_lag_trs = st.get_float("stream.max_lag_trs"),
                           .resume = out.empty() || !st.get_bool("stream.resume") ? nullptr : resume_from_records(out)});
  add_registered_sinks(session, parts, st, out);  // the screen opens here, on the main thread
  const auto source = source_info.make(st);
  spdlog::info("listening to {}{}", source->describe(), max_runs > 0 ? fmt::format(" for {} run(s)", max_runs) : "");
  session.run(*source);
  return {session.runs_ended(), session.runs_failed(), session.cut_short()};
}

Command stream_command() {
  return {.name = "stream",
          .help = "receive volumes from a source, preprocess and decode every one, hand each TR to the outputs",
          .sections = {"stream", "generator"},
          .declare = declare,
          .run = run,
          .chain = true,
          .session = true,
          .example = "hyper stream --decoder dec.safetensors --faces --display --out out   (then hyper replay --input twin in another terminal)"};
}

}  // namespace hyper

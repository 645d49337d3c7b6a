// `hyper stream`: receive a hyper/1 stream (README, "hyper stream"). This is the receiving
// side: the receiver thread validates and rebuilds volumes, the processing thread takes
// them in order through the preprocessing chain (and, with a decoder, the decode stage)
// and reports each run when it ends.
#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "cli/command.hpp"
#include "cli/stream_faces.hpp"
#include "core/clock.hpp"
#include "core/interrupt.hpp"
#include "core/logging.hpp"
#include "core/offline.hpp"
#include "core/progress.hpp"
#include "decoders/decode_stage.hpp"
#include "generators/generator_settings.hpp"
#include "io/run_record.hpp"
#include "io/files.hpp"
#include "net/receiver.hpp"
#include "net/results.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "stream.endpoint", .type = T::String, .def = std::string("tcp://127.0.0.1:5555"),
         .help = "ZeroMQ endpoint of the publisher (scanner export or hyper replay) to connect to",
         .flag = "--endpoint"});
  s.add({.key = "stream.out", .type = T::String, .def = std::string(""),
         .help = "output folder: hyper.log, settings.toml, and per run <run>/tr.tsv, latents.npy, summary.json; "
                 "empty prints only",
         .flag = "--out"});
  s.add({.key = "stream.decoder", .type = T::String, .def = std::string(""),
         .help = "decoder file (hyper train --mode tr): its own preprocessing, then a latent every TR "
                 "(recorded in <out>/<run>/latents.npy)",
         .flag = "--decoder"});
  s.add({.key = "stream.faces", .type = T::Bool, .def = false,
         .help = "draw the face of the newest decoded latent with [generator] (needs --decoder); recorded in "
                 "<out>/<run>/frames.tsv",
         .flag = "--faces"});
  s.add({.key = "stream.png_frames", .type = T::Bool, .def = false,
         .help = "also write each face as <out>/<run>/frames/INDEX.png", .flag = "--png-frames"});
  s.add({.key = "stream.test_face_delay_ms", .type = T::Float, .def = 0.0, .unit = "ms",
         .help = "for tests: added to every face's drawing time (a slow generator)", .min = 0.0, .max = 60000.0});
  s.add({.key = "stream.results", .type = T::String, .def = std::string(""),
         .help = "ZeroMQ endpoint to bind for results: one JSON message per processed TR (empty: none)",
         .flag = "--results"});
  s.add({.key = "stream.results_latent", .type = T::Bool, .def = false,
         .help = "include the 512 latent values in each result message"});
  s.add({.key = "stream.results_allow_remote", .type = T::Bool, .def = false,
         .help = "allow the results endpoint on an address other than loopback"});
  declare_display_settings(s);
  s.add({.key = "stream.runs", .type = T::Int, .def = int64_t{0}, .unit = "runs",
         .help = "exit after this many runs have ended; 0 runs until Ctrl-C", .flag = "--runs", .min = 0.0});
  s.add({.key = "stream.queue_capacity", .type = T::Int, .def = int64_t{64}, .unit = "volumes",
         .help = "volumes waiting between the receiver and processing", .min = 1.0, .max = 100000.0});
  s.add({.key = "stream.queue_timeout", .type = T::Float, .def = 2.0, .unit = "s",
         .help = "how long the receiver waits for room in that queue before dropping a volume", .min = 0.0,
         .max = 3600.0});
  s.add({.key = "stream.run_timeout", .type = T::Float, .def = 30.0, .unit = "s",
         .help = "an open run with no message (not even a heartbeat) for this long is ended", .min = 0.1});
  s.add({.key = "stream.max_volume_mb", .type = T::Float, .def = 1024.0, .unit = "MiB",
         .help = "larger messages are refused before they are read", .min = 0.001, .max = 65536.0});
}

void write_summary(const std::filesystem::path& out, const RunSummary& s) {
  const auto dir = out / s.run;
  ensure_dir(dir);
  write_file_atomic(dir / "summary.json", to_json(s).dump(2) + "\n");
}

int run(const Settings& st, const StageRegistry& stages) {
  // The chain's parameters are checked now, before any volume; its shapes (and the
  // decoder's grid and TR) at each run's first volume, when the grid is known.
  const std::string decoder_file = st.get_string("stream.decoder");
  Chain chain = decoder_file.empty()
                    ? Chain(stages, st)
                    : decoding_chain(stages, st, std::make_shared<const Decoder>(load_decoder(decoder_file)), decoder_file);
  chain.preflight(Spec{});
  const std::string out = st.get_string("stream.out");
  if (!out.empty()) {
    ensure_dir(out);
    add_log_file(std::filesystem::path(out) / "hyper.log");
    write_file_atomic(std::filesystem::path(out) / "settings.toml", st.to_toml({"log", "stream", "preprocess", "generator", "display"}));
  }
  // Faces (generator thread) and the screen (this, the main thread: SDL wants it).
  std::unique_ptr<FaceWorker> faces;
  std::unique_ptr<Display> display;
  LatestSlot<Face> screen;
  HudFeed hud;
  const auto hud_trs = static_cast<size_t>(st.get_int("display.hud_trs"));
  if (st.get_bool("stream.faces")) {
    if (decoder_file.empty()) throw SettingsError("stream.faces: drawing faces needs a decoder (--decoder FILE)");
    auto gen = make_generator(generator_options(st));
    const std::string described = gen->describe();
    spdlog::info("faces: {}", described);
    if (st.get_bool("display.enabled")) {
      DisplayOptions d = display_options(st);
      d.out = out;
      if (described.find("procedural stand-in") != std::string::npos) d.label_text = "procedural stand-in";
      display = std::make_unique<Display>(d);
    }
    const std::string truth = st.get_string("display.truth");
    faces = std::make_unique<FaceWorker>(std::move(gen), out, st.get_bool("stream.png_frames"), st.get_float("stream.test_face_delay_ms"),
                                         display ? &screen : nullptr, &hud,
                                         display && !truth.empty() ? twin_truth(truth) : FaceWorker::Truth{});
  } else if (st.get_bool("display.enabled")) {
    throw SettingsError("display.enabled: the screen shows faces: add --faces (and --decoder)");
  }

  ReceiverOptions ro;
  ro.endpoint = st.get_string("stream.endpoint");
  ro.queue_capacity = static_cast<size_t>(st.get_int("stream.queue_capacity"));
  ro.queue_timeout = std::chrono::milliseconds(static_cast<int64_t>(st.get_float("stream.queue_timeout") * 1000));
  ro.run_timeout = std::chrono::milliseconds(static_cast<int64_t>(st.get_float("stream.run_timeout") * 1000));
  ro.max_payload_bytes = static_cast<uint64_t>(st.get_float("stream.max_volume_mb") * 1024 * 1024);
  const int64_t max_runs = st.get_int("stream.runs");

  zmq::context_t ctx(1);
  std::unique_ptr<ResultsPublisher> results;
  if (!st.get_string("stream.results").empty()) {
    results = std::make_unique<ResultsPublisher>(ctx, st.get_string("stream.results"), st.get_bool("stream.results_allow_remote"),
                                                 st.get_bool("stream.results_latent"));
    spdlog::info("results: one JSON message per TR on {}", st.get_string("stream.results"));
  }
  hud.set_stages(chain.names());
  Receiver rx(ctx, ro);
  rx.start();
  spdlog::info("listening to {}{}", ro.endpoint, max_runs > 0 ? fmt::format(" for {} run(s)", max_runs) : "");

  // Processing thread: every volume, in order, through the preprocessing chain.
  std::atomic<bool> done{false};
  std::jthread processing([&] {
    ProgressLine progress;
    int64_t runs_ended = 0;
    bool run_open = false, run_ok = false;  // the chain started on this run's first volume
    std::unique_ptr<RunRecord> record;       // this run's files, written as it goes
    bool record_failed = false;
    while (true) {
      auto ev = rx.next(std::chrono::milliseconds(100));
      if (!ev) {
        if (rx.drained()) break;
        continue;
      }
      switch (ev->kind) {
        case StreamEvent::Kind::RunStart:
          run_open = false;
          record.reset();
          record_failed = false;
          spdlog::info("run {}: receiving{}", ev->run,
                       ev->start.count > 0 ? fmt::format(" {} volumes from index {}", ev->start.count,
                                                         ev->start.first_index)
                                           : "");
          break;
        case StreamEvent::Kind::Volume: {
          Tr& tr = *ev->tr;
          if (!run_open) {
            run_open = true;
            try {
              chain.initialize(spec_of(tr.volume, tr.tr_s));
              chain.start_run({tr.run, tr.tr_s, tr.n_volumes});
              run_ok = true;
            } catch (const std::exception& e) {
              run_ok = false;
              spdlog::error("run {}: the preprocessing chain cannot process it: {}", tr.run, e.what());
            }
          }
          if (run_ok && !chain.empty()) chain.process(tr);
          tr.t.t_ready = realtime_ns();
          if (!out.empty() && !record_failed) {
            try {
              if (!record) record = std::make_unique<RunRecord>(out, tr.run, tr.tr_s, chain.names());
              record->add(tr);
            } catch (const std::exception& e) {  // keep processing; what is written stays
              spdlog::error("run {}: recording stopped: {}", tr.run, e.what());
              record_failed = true;
            }
          }
          if (faces && tr.decoded) faces->offer(tr);
          if (display) hud.add(tr.run, {tr.index, ns_to_ms(tr.t.t_ready - tr.t.t_sent), tr.fd_mm, tr.stage_ms}, hud_trs);
          if (results) results->publish(tr);
          progress.update(fmt::format("{}  volume {}  {}x{}x{}  t_sent->t_recv {:.2f} ms", tr.run, tr.index,
                                      tr.volume.dims[0], tr.volume.dims[1], tr.volume.dims[2],
                                      ns_to_ms(tr.t.t_recv - tr.t.t_sent)));
          break;
        }
        case StreamEvent::Kind::RunEnd:
          progress.finish();
          spdlog::info("{}", format_summary(*ev->summary));
          if (run_open && run_ok && !chain.empty()) {
            chain.stop_run();
            spdlog::info("run {}: preprocessing per volume: {}", ev->run, chain.format_timings());
          }
          run_open = false;
          if (!out.empty()) {
            try {
              write_summary(out, *ev->summary);
            } catch (const std::exception& e) {
              spdlog::error("{}", e.what());  // keep receiving: the summary is also in the log
            }
          }
          record.reset();
          record_failed = false;
          if (max_runs > 0 && ++runs_ended >= max_runs) done = true;
          break;
      }
    }
  });

  while (!done && !interrupted()) {
    if (!display) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    int64_t dropped = 0;
    for (int64_t n : rx.dropped()) dropped += n;
    hud.set_dropped(dropped);
    if (!display->step(screen.take(std::chrono::milliseconds(10)), hud)) {
      spdlog::info("the display was closed: stopping");
      break;
    }
  }
  rx.stop();
  processing.join();
  if (faces) {
    const auto counts = faces->finish();  // draws the face still pending
    if (display) display->step(screen.take(std::chrono::milliseconds(0)), hud);  // and shows it
    for (const auto& [run, c] : counts)
      spdlog::info("run {}: {} decoded latents, {} faces drawn, {} skipped (the newest latent wins)", run, c.offered, c.drawn,
                   c.skipped);
  }

  const auto dropped = rx.dropped();
  int64_t total = 0;
  for (int64_t d : dropped) total += d;
  if (total > 0) {
    std::string by;
    for (size_t i = 0; i < kRejectCount; ++i)
      if (dropped[i] > 0) by += fmt::format(" {} {}", reject_name(static_cast<Reject>(i)), dropped[i]);
    spdlog::warn("dropped {} message(s) in this session:{}", total, by);
  }
  return interrupted() ? kExitInterrupted : 0;
}

}  // namespace

Command stream_command() {
  return {"stream", "receive a hyper/1 volume stream, validate it, preprocess every volume and report each run",
            {"stream", "generator", "display"}, declare, run, /*chain=*/true};
}

}  // namespace hyper

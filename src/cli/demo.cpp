// `hyper demo`: the whole system on a small twin in about a minute (README, "The demo"):
// simulate, train a per-TR decoder, replay a test run into `hyper stream` (a second process,
// over tcp loopback, as at a scanner), then report latency and reconstruction quality and
// write a contact sheet (true faces over reconstructions). Settings: configs/demo.toml,
// embedded; --config and --set change them.
#include <cstdlib>
#include <map>
#include <thread>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "cli/demo_config.hpp"
#include "cli/eval.hpp"
#include "cli/stream_child.hpp"
#include "cli/train.hpp"
#include "core/clock.hpp"
#include "core/interrupt.hpp"
#include "core/latency_report.hpp"
#include "decoders/decoder.hpp"
#include "io/files.hpp"
#include "io/npy.hpp"
#include "io/run_record.hpp"
#include "net/replayer.hpp"
#include "sim/twin.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "demo.out", .type = T::String, .def = std::string("hyper-demo"), .help = "folder for everything the demo writes",
         .flag = "--out"});
  s.add({.key = "demo.speed", .type = T::Float, .def = 10.0, .unit = "x", .help = "replay speed (x real time)", .min = 0.01});
  s.add({.key = "demo.count", .type = T::Int, .def = int64_t{160}, .unit = "volumes",
         .help = "volumes of the test run to replay; -1: all", .min = -1.0});
  s.add({.key = "demo.port", .type = T::Int, .def = int64_t{5555}, .help = "tcp port on 127.0.0.1 between replay and stream",
         .flag = "--port", .min = 1.0, .max = 65535.0});
  s.add({.key = "demo.dashboard", .type = T::String, .def = std::string(""),
         .help = "also serve the experimenter's dashboard while the test run streams: PORT or ADDR:PORT (hyper stream --dashboard)",
         .flag = "--dashboard"});
  s.add({.key = "demo.window", .type = T::String, .def = std::string("auto"),
         .help = "auto: a window when DISPLAY or WAYLAND_DISPLAY is set; on; off", .choices = {"auto", "on", "off"}});
}

int run(const Settings& st, const PartRegistry& parts) {
  const std::filesystem::path out = st.get_string("demo.out");
  std::filesystem::remove_all(out / "stream");
  ensure_dir(out);
  const auto t_start = SteadyClock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(SteadyClock::now() - t_start).count(); };

  // 1. The twin.
  const TwinConfig tc = twin_config(st);
  spdlog::info("demo 1/4: a twin of the experiment ({}x{}x{}, {} runs, SNR {}) in {}", tc.dims[0], tc.dims[1], tc.dims[2],
               tc.runs, tc.snr, (out / "twin").string());
  std::filesystem::remove_all(out / "twin");  // the demo's own: never mixed with an earlier one
  simulate_twin(tc, out / "twin", [](int64_t, int64_t) {});

  // 2. The decoder, from the training runs, with the chain the stream will run.
  std::vector<RunFile> train_runs, test_runs;
  for (const RunFile& r : find_runs(out / "twin")) (is_training_run(r) ? train_runs : test_runs).push_back(r);
  if (test_runs.empty()) throw SettingsError("twin.test_runs: the demo needs a test run");
  const Eigen::MatrixXf latents = read_latents(out / "twin/stimuli/latents.npy");
  spdlog::info("demo 2/4: training a {}-mode decoder on {} runs (chain {})", st.get_string("train.mode"), train_runs.size(),
               format_value(st.value("preprocess.chain")));
  Chain chain(parts, st);
  const Decoder dec = train_decoder(chain, train_runs, latents, train_options(st), [](const std::string& line) { spdlog::debug("{}", line); });
  const auto dec_file = out / "decoder.safetensors";
  save_decoder(dec_file, dec);
  spdlog::info("  {} voxels, penalty {}: {}", dec.voxels.size(), dec.penalty, dec_file.string());

  // 3. hyper stream in a second process; the test run replayed into it from this one.
  const std::string endpoint = fmt::format("tcp://127.0.0.1:{}", st.get_int("demo.port"));
  const std::string window = st.get_string("demo.window");
  const bool show = window == "on" || (window == "auto" && (std::getenv("DISPLAY") || std::getenv("WAYLAND_DISPLAY")));
  write_file_atomic(out / "stream.toml", st.to_toml(parts.session_sections()));
  std::vector<std::string> args{"--config", (out / "stream.toml").string(), "--endpoint", endpoint, "--runs", "1",
                                "--out", (out / "stream").string(), "--decoder", dec_file.string(), "--faces"};
  if (show || !st.get_string("demo.dashboard").empty()) args.insert(args.end(), {"--set", "display.truth=" + (out / "twin").string()});
  if (show) args.push_back("--display");
  if (!st.get_string("demo.dashboard").empty()) args.insert(args.end(), {"--dashboard", st.get_string("demo.dashboard")});
  const RunFile& test = test_runs.front();
  spdlog::info("demo 3/4: replaying {} into hyper stream at {}x ({}; its log: {})", test.run_id, st.get_float("demo.speed"),
               show ? "faces in a window" : "headless: no display found", (out / "stream.log").string());
  ReplayOptions ro;
  ro.speed = st.get_float("demo.speed");
  ro.count = st.get_int("demo.count");
  replay_into_stream(args, out / "stream.log", endpoint, test, ro, std::chrono::seconds(60));

  // 4. The report: latency from the run record, quality from hyper eval's scoring.
  const auto rec = out / "stream" / test.run_id;
  std::string table = "| latency | n | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n";
  const std::map<std::string, std::string> labels{{"sent -> ready", "sent -> ready (received, preprocessed, decoded)"},
                                                  {"sent -> image", "sent -> face image"}};
  for (const StageRow& row : summarize_bench(read_record_timings(rec, 0)).end_to_end)
    table += fmt::format("| {} | {} | {:.2f} | {:.2f} | {:.2f} |\n", labels.contains(row.name) ? labels.at(row.name) : row.name, row.s.n,
                         row.s.p50, row.s.p99, row.s.max);
  spdlog::info("demo 4/4: scoring the reconstructions (hyper eval) into {}", (out / "eval").string());
  const std::string quality =
      run_evaluation(st, parts, {{rec, events_path(test.path)}}, out / "twin/stimuli/latents.npy", out / "eval");

  std::printf("\nHYPER-RT demo: %s replayed and decoded, %.0f s in all\n\n%s\n%s\n", test.run_id.c_str(), elapsed(),
              table.c_str(), quality.c_str());
  std::printf("Outputs in %s:\n  eval/contact_sheet.png  presented faces (top rows) over reconstructions\n"
              "  eval/eval.md, eval.json, items.tsv\n  twin/              the simulated dataset\n  decoder.safetensors\n"
              "  stream/%s/  run.json, tr.tsv, latents.npy, frames.tsv%s, summary.json\n  stream.log, stream.toml\n",
              out.string().c_str(), test.run_id.c_str(), show ? ", presented.tsv" : "");
  return interrupted() ? kExitInterrupted : 0;
}

}  // namespace

Command demo_command() {
  return {.name = "demo",
          .help = "the whole system on a small twin: simulate, train, stream a test run, report",
          .sections = {"demo", "twin", "generator"},
          .declare = declare,
          .run = run,
          .chain = true,
          .base_toml = kDemoToml,
          .base_name = "embedded configs/demo.toml",
          .example = "hyper demo --out demo   (small twin, procedural faces, a few minutes on 2 cores)"};
}

}  // namespace hyper

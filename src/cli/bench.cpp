// `hyper bench`: end-to-end latency (README, "Latency"). A recorded or simulated run goes
// through the real pipeline, paced at its TR or flooded, and every volume's way is timed:
// transport, each preprocessing stage, the decode stage, the generator, the screen; then
// summarised per stage and end to end, for one or more variants side by side (the ratios
// are the claims), as bench.md, bench.json, per-variant timings.tsv and PNG plots.
//   process = two: `hyper stream` as a second process, the run replayed into it over tcp
//                  loopback (what runs at a scanner; its run record gives the times)
//   process = in:  one thread does everything in turn: encode and check the hyper/1
//                  message, the chain, the generator, the screen (no queues, no skipping:
//                  the pipeline's own cost)
#include <cmath>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "cli/display.hpp"
#include "cli/stream_child.hpp"
#include "core/clock.hpp"
#include "core/crc32.hpp"
#include "core/interrupt.hpp"
#include "core/latency_report.hpp"
#include "core/offline.hpp"
#include "core/rng.hpp"
#include "decoders/decode_stage.hpp"
#include "generators/generator_settings.hpp"
#include "io/files.hpp"
#include "io/nifti.hpp"
#include "net/replayer.hpp"
#include "sim/twin.hpp"

#ifndef HYPER_SOURCE_DIR
#define HYPER_SOURCE_DIR ""
#endif

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "bench.out", .type = T::String, .def = std::string("hyper-bench"),
         .help = "folder for bench.md, bench.json, per variant timings.tsv, plots", .flag = "--out"});
  s.add({.key = "bench.input", .type = T::String, .def = std::string(""),
         .help = "the run to send (4D NIfTI); empty: one twin run simulated with [twin] into OUT/twin", .flag = "--input"});
  s.add({.key = "bench.decoder", .type = T::String, .def = std::string(""),
         .help = "decoder file; empty: a random one of bench.voxels x 512 on the chain's output (latency does not depend on "
                 "its values)",
         .flag = "--decoder"});
  s.add({.key = "bench.voxels", .type = T::Int, .def = int64_t{4096}, .unit = "voxels", .help = "the random decoder's size",
         .min = 1.0});
  s.add({.key = "bench.mode", .type = T::String, .def = std::string("paced"),
         .help = "paced: one volume per TR / bench.speed; flood: as fast as the pipeline takes them (throughput)",
         .flag = "--mode", .choices = {"paced", "flood"}});
  s.add({.key = "bench.process", .type = T::String, .def = std::string("two"),
         .help = "two: hyper stream as a second process over tcp loopback; in: every step in turn in this process",
         .flag = "--process", .choices = {"two", "in"}});
  s.add({.key = "bench.speed", .type = T::Float, .def = 1.0, .unit = "x", .help = "paced mode: x real time", .min = 0.01});
  s.add({.key = "bench.volumes", .type = T::Int, .def = int64_t{60}, .unit = "volumes", .help = "volumes measured per variant",
         .flag = "--volumes", .min = 1.0});
  s.add({.key = "bench.warmup", .type = T::Int, .def = int64_t{5}, .unit = "volumes",
         .help = "volumes sent first and reported apart (caches, allocations, the generator's first call)", .min = 0.0});
  s.add({.key = "bench.budget_ms", .type = T::Float, .def = 200.0, .unit = "ms",
         .help = "a closed loop's latency budget: volumes over it are counted", .min = 0.0});
  s.add({.key = "bench.faces", .type = T::Bool, .def = true, .help = "draw the face every TR (the generator)"});
  s.add({.key = "bench.variants", .type = T::StringList, .def = std::vector<std::string>{},
         .help = "variants to run side by side, each [NAME:] KEY=VALUE[;KEY=VALUE...] over the settings; empty: one",
         .flag = "--variants"});
  s.add({.key = "bench.plots", .type = T::Bool, .def = true,
         .help = "PNG plots with tools/plot_bench.py (python3-matplotlib)"});
  s.add({.key = "bench.port", .type = T::Int, .def = int64_t{5570}, .help = "tcp port on 127.0.0.1 (process = two)", .min = 1.0,
         .max = 65535.0});
}

struct Variant {
  std::string name;
  Settings settings;
};

std::vector<Variant> variants_of(const Settings& st) {
  std::vector<Variant> out;
  for (std::string spec : st.get_list("bench.variants")) {
    Settings v = st;
    // "NAME: KEY=VALUE;..." names the variant; else the assignments are its name.
    std::string name = spec;
    const size_t colon = spec.find(':'), eq = spec.find('=');
    if (colon != std::string::npos && colon < eq) {
      name = spec.substr(0, colon);
      spec = spec.substr(spec.find_first_not_of(' ', colon + 1) == std::string::npos ? spec.size() : spec.find_first_not_of(' ', colon + 1));
    }
    size_t start = 0;
    while (start <= spec.size()) {
      const size_t end = std::min(spec.find(';', start), spec.size());
      if (end > start) v.apply_assignment(spec.substr(start, end - start), "bench.variants");
      start = end + 1;
    }
    out.push_back({name, v});
  }
  if (out.empty()) out.push_back({"baseline", st});
  return out;
}

// A folder name for a variant.
std::string slug(size_t i, const std::string& name) {
  std::string s = fmt::format("{:02d}-", i + 1);  // sorts in order
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  return s.substr(0, 60);
}

// The decoder to time: the user's, or a random one of the paper's size on this variant's
// chain output (its voxels spread evenly over the chain's output).
std::filesystem::path decoder_for(const Settings& st, const StageRegistry& stages, const RunFile& run, const NiftiRun& nifti,
                                  double tr_s, const std::filesystem::path& dir) {
  if (!st.get_string("bench.decoder").empty()) return st.get_string("bench.decoder");
  Chain chain(stages, st);
  Tr tr;
  tr.run = run.run_id;
  tr.tr_s = tr_s;
  tr.volume = nifti.volume(0);
  if (!chain.empty()) {
    chain.initialize(spec_of(tr.volume, tr_s));
    chain.start_run({run.run_id, tr_s, nifti.info.dims[3]});
    chain.process(tr);
    chain.stop_run();
  }
  std::vector<int64_t> all;
  if (tr.feature_voxels) all = *tr.feature_voxels;
  else
    for (int64_t i = 0; i < static_cast<int64_t>(tr.volume.data.size()); ++i) all.push_back(i);
  const auto k = std::min<int64_t>(st.get_int("bench.voxels"), static_cast<int64_t>(all.size()));
  Decoder d;
  d.dims = {nifti.info.dims[0], nifti.info.dims[1], nifti.info.dims[2]};
  d.tr_s = tr_s;
  for (int64_t i = 0; i < k; ++i) d.voxels.push_back(all[static_cast<size_t>(i * static_cast<int64_t>(all.size()) / k)]);
  d.feature_mean.assign(static_cast<size_t>(k), 0.f);
  d.feature_sd.assign(static_cast<size_t>(k), 1.f);
  Rng rng(7);
  d.weights.resize(k, kLatentDim);
  for (Eigen::Index i = 0; i < d.weights.size(); ++i) d.weights.data()[i] = static_cast<float>(rng.normal() / std::sqrt(static_cast<double>(k)));
  d.intercept = Eigen::VectorXf::Zero(kLatentDim);
  d.mode = "tr";
  d.preprocessing = st.to_toml({"preprocess"});
  d.inputs_hash = "random (hyper bench)";
  const auto file = dir / "decoder-random.safetensors";
  save_decoder(file, d);
  return file;
}

// From the settings, so that no generator is built (and its weights loaded) just to be named.
std::string setup_line(const Settings& st, double tr_s) {
  const bool flood = st.get_string("bench.mode") == "flood";
  const GeneratorOptions g = generator_options(st);
  const std::string generator = fmt::format("{} {}, {} {}{}", g.kind, g.resolution > 0 ? std::to_string(g.resolution) + " px" : "at its largest",
                                            g.device, g.dtype, g.device == "cpu" ? fmt::format(", {} thread(s)", g.threads) : "");
  return fmt::format("{}; {}; chain {} + decode; faces: {}{}", st.get_string("bench.process") == "two" ? "two processes, tcp loopback" : "in-process",
                     flood ? "flood (as fast as taken)" : fmt::format("paced at TR {} s / {}", tr_s, st.get_float("bench.speed")),
                     format_value(st.value("preprocess.chain")), st.get_bool("bench.faces") ? generator : "off",
                     st.get_bool("display.enabled") ? "; shown with SDL" : "");
}

// process = two: hyper stream as a child, the run replayed into it; times from its record.
BenchRecord run_two_process(const Settings& st, const RunFile& run, const std::filesystem::path& decoder, double tr_s,
                            const std::filesystem::path& dir, int64_t count) {
  write_file_atomic(dir / "stream.toml", st.to_toml({"log", "preprocess", "generator", "display", "stream"}));
  const std::string endpoint = fmt::format("tcp://127.0.0.1:{}", st.get_int("bench.port"));
  std::vector<std::string> args{"--config", (dir / "stream.toml").string(), "--endpoint", endpoint, "--runs", "1",
                                "--out", (dir / "stream").string(), "--decoder", decoder.string()};
  if (st.get_bool("bench.faces")) args.push_back("--faces");
  if (st.get_bool("display.enabled")) {
    args.push_back("--display");
    if (!std::getenv("DISPLAY") && st.origin("display.driver") == "default") args.insert(args.end(), {"--set", "display.driver=offscreen"});
  }
  std::filesystem::remove_all(dir / "stream");
  ReplayOptions ro;
  ro.speed = st.get_string("bench.mode") == "flood" ? std::numeric_limits<double>::infinity() : st.get_float("bench.speed");
  ro.count = count;
  ro.tr_s = tr_s;
  replay_into_stream(args, dir / "stream.log", endpoint, run, ro, std::chrono::seconds(120) + std::chrono::milliseconds(count * 50));

  return read_record_timings(dir / "stream" / run.run_id, static_cast<int>(st.get_int("bench.warmup")));
}

// process = in: each volume through every step in turn, on this thread.
BenchRecord run_in_process(const Settings& st, const StageRegistry& stages, const RunFile& run, const NiftiRun& nifti,
                           const std::filesystem::path& decoder, double tr_s, int64_t count) {
  Chain chain = decoding_chain(stages, st, std::make_shared<const Decoder>(load_decoder(decoder)), decoder.string());
  chain.preflight(Spec{});
  std::unique_ptr<Generator> gen = st.get_bool("bench.faces") ? make_generator(generator_options(st)) : nullptr;
  std::unique_ptr<Display> display;
  HudFeed hud;
  if (st.get_bool("display.enabled")) {
    DisplayOptions o = display_options(st);
    if (!std::getenv("DISPLAY") && st.origin("display.driver") == "default") o.driver = "offscreen";
    display = std::make_unique<Display>(o);
  }
  BenchRecord r;
  r.stages = chain.names();
  VolumeHeader h = volume_header(nifti.info, run.run_id, tr_s);
  const bool flood = st.get_string("bench.mode") == "flood";
  const auto period = std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(tr_s / st.get_float("bench.speed")));
  const auto t0 = SteadyClock::now();
  int64_t first_sent = 0, last_ns = 0;
  for (int64_t k = 0; k < count && !interrupted(); ++k) {
    if (!flood) std::this_thread::sleep_until(t0 + k * period);
    // The message as the publisher makes it and the receiver checks and converts it.
    const auto payload = nifti.volume_raw(k);
    h.index = k;
    h.payload_bytes = payload.size();
    h.crc32 = crc32(payload);
    h.t_sent = realtime_ns();
    const std::string header = encode_volume_header(h);
    const std::span<const std::byte> frames[3] = {std::as_bytes(std::span(kTopicVolume)), std::as_bytes(std::span(header)), payload};
    const Decoded d = decode_message(frames);
    if (!std::holds_alternative<VolumeMessage>(d)) throw std::runtime_error("hyper bench: our own message was refused: " + std::get<Rejection>(d).detail);
    const VolumeMessage& m = std::get<VolumeMessage>(d);
    Tr tr;
    tr.run = m.header.run;
    tr.index = m.header.index;
    tr.n_volumes = m.header.n_volumes;
    tr.tr_s = m.header.tr_s;
    tr.volume = to_volume(m.header, m.payload);
    tr.t = TrStamps{m.header.t_acq, m.header.t_sent, realtime_ns()};
    if (k == 0) {
      chain.initialize(spec_of(tr.volume, tr_s));
      chain.start_run({tr.run, tr_s, tr.n_volumes});
    }
    chain.process(tr);
    tr.t.t_ready = realtime_ns();
    TrTiming t;
    t.index = k;
    t.transport_ms = ns_to_ms(tr.t.t_recv - tr.t.t_sent);
    t.stage_ms = tr.stage_ms;
    t.ready_ms = ns_to_ms(tr.t.t_ready - tr.t.t_sent);
    last_ns = tr.t.t_ready;
    if (gen) {
      const auto g0 = SteadyClock::now();
      const ImageBatch& b = gen->generate(tr.latent.data(), 1);
      t.generate_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - g0).count();
      Face f{tr.run, tr.index, tr.t.t_sent, b.width, b.height, to_rgb8(b, 0), {}};
      last_ns = realtime_ns();
      t.image_ms = ns_to_ms(last_ns - tr.t.t_sent);
      if (display) {
        display->step(f, hud);
        last_ns = realtime_ns();
        t.present_ms = ns_to_ms(last_ns - tr.t.t_sent);
      }
    }
    if (k == st.get_int("bench.warmup")) first_sent = tr.t.t_sent;
    r.trs.push_back(t);
    ++r.sent;
  }
  chain.stop_run();
  if (first_sent > 0) r.wall_s = static_cast<double>(last_ns - first_sent) * 1e-9;
  return r;
}

// The run to send: the user's, or one twin run (simulated once into OUT/twin).
RunFile bench_run(const Settings& st, const std::filesystem::path& out) {
  if (!st.get_string("bench.input").empty()) return find_runs(st.get_string("bench.input")).at(0);
  const auto twin = out / "twin";
  if (!std::filesystem::exists(twin / "dataset_description.json")) {
    Settings t = st;
    if (t.origin("twin.runs") == "default") t.apply_value("twin.runs", int64_t{1}, "hyper bench: one run");
    if (t.origin("twin.test_runs") == "default") t.apply_value("twin.test_runs", int64_t{1}, "hyper bench: one run");
    const TwinConfig tc = twin_config(t);
    spdlog::info("simulating a twin run ({}x{}x{}) into {}", tc.dims[0], tc.dims[1], tc.dims[2], twin.string());
    simulate_twin(tc, twin);
  }
  return find_runs(twin).at(0);
}

int run(const Settings& st, const StageRegistry& stages) {
  const std::filesystem::path out = st.get_string("bench.out");
  ensure_dir(out);
  const RunFile run = bench_run(st, out);
  const NiftiRun nifti = read_nifti(run.path);
  const double tr_s = run_tr(run, nifti.info.tr_s, nifti.info.time_unit);
  const int64_t count = st.get_int("bench.warmup") + st.get_int("bench.volumes");
  if (count > nifti.info.dims[3])
    throw SettingsError(fmt::format("bench.volumes: {} + {} warm-up volumes, but {} has {}", st.get_int("bench.volumes"),
                                    st.get_int("bench.warmup"), run.path.string(), nifti.info.dims[3]));
  std::vector<BenchRecord> records;
  std::vector<BenchSummary> summaries;
  nlohmann::json j = nlohmann::json::array();
  std::string report;
  const auto variants = variants_of(st);
  for (size_t i = 0; i < variants.size() && !interrupted(); ++i) {
    const Variant& v = variants[i];
    const auto dir = out / slug(i, v.name);
    ensure_dir(dir);
    const auto decoder = decoder_for(v.settings, stages, run, nifti, tr_s, dir);
    spdlog::info("variant {}/{} '{}': {} volumes ({} warm-up) of {}", i + 1, variants.size(), v.name, count,
                 v.settings.get_int("bench.warmup"), run.run_id);
    BenchRecord r = v.settings.get_string("bench.process") == "two" ? run_two_process(v.settings, run, decoder, tr_s, dir, count)
                                                                     : run_in_process(v.settings, stages, run, nifti, decoder, tr_s, count);
    r.variant = v.name;
    r.setup = setup_line(v.settings, tr_s);
    r.warmup = static_cast<int>(v.settings.get_int("bench.warmup"));
    r.tr_s = tr_s;
    r.budget_ms = v.settings.get_float("bench.budget_ms");
    const BenchSummary s = summarize_bench(r);
    write_file_atomic(dir / "timings.tsv", timings_tsv(r));
    j.push_back(to_json(r, s));
    report += bench_markdown(r, s);
    records.push_back(std::move(r));
    summaries.push_back(s);
  }
  std::string md = fmt::format("# hyper bench: {} ({}x{}x{}, TR {} s)\n\n", run.run_id, nifti.info.dims[0], nifti.info.dims[1],
                               nifti.info.dims[2], tr_s);
  if (records.size() > 1) md += "## Side by side\n\n" + compare_markdown(records, summaries) + "\n";
  md += "## Per variant\n\n" + report;
  write_file_atomic(out / "bench.md", md);
  write_file_atomic(out / "bench.json", nlohmann::json{{"format", "hyper-bench/1"}, {"run", run.run_id}, {"variants", j}}.dump(2) + "\n");
  write_file_atomic(out / "settings.toml", st.to_toml({"bench", "twin", "preprocess", "generator", "display"}));
  std::printf("\n%s", md.c_str());
  if (st.get_bool("bench.plots")) {
    const std::filesystem::path script = std::filesystem::path(HYPER_SOURCE_DIR) / "tools/plot_bench.py";
    std::string cmd = "/usr/bin/python3 '" + script.string() + "' '" + out.string() + "'";
    if (!std::filesystem::exists(script)) spdlog::warn("no plots: {} not found", script.string());
    else if (std::system(cmd.c_str()) != 0) spdlog::warn("no plots: {} failed (python3-matplotlib installed?)", script.string());
    else spdlog::info("plots: {}/*.png", out.string());
  }
  return interrupted() ? kExitInterrupted : 0;
}

}  // namespace

Command bench_command() {
  return {"bench", "end-to-end latency: per stage and end to end, paced or flooded, variants side by side",
          {"bench", "twin", "generator", "display"}, declare, run, /*chain=*/true};
}

}  // namespace hyper

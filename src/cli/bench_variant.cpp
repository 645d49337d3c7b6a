// How one variant of `hyper bench` is measured (see bench.cpp): two processes or in-process.
#include "cli/bench_variant.hpp"

#include <cstdlib>
#include <limits>

#include "cli/bench_browsers.hpp"
#include "cli/stream.hpp"
#include "cli/stream_child.hpp"
#include "core/session.hpp"
#include "decoders/decode_stage.hpp"
#include "io/files.hpp"
#include "io/run_record.hpp"
#include "sinks/timings.hpp"

namespace hyper {

namespace {

// The stream's settings for this variant: faces as bench.faces says; headless, the
// screen on SDL's offscreen driver unless one was chosen.
Settings stream_settings(const Settings& st) {
  Settings s = st;
  s.apply_value("stream.faces", st.get_bool("bench.faces"), "bench.faces");
  if (st.get_bool("display.enabled") && !std::getenv("DISPLAY") && st.origin("display.driver") == "default")
    s.apply_value("display.driver", std::string("offscreen"), "hyper bench: no DISPLAY");
  return s;
}

}  // namespace

// The decoder to time: the user's, or a random one of the paper's size on this variant's
// chain output (the voxels the chain gives for the run's first volume).
std::filesystem::path decoder_for(const Settings& st, const PartRegistry& parts, const Input& in, const std::filesystem::path& dir) {
  if (!st.get_string("bench.decoder").empty()) return st.get_string("bench.decoder");
  Chain chain(parts, st);
  const auto file = dir / "decoder-random.safetensors";
  save_decoder(file, random_decoder(chain, in.file, in.nifti, in.tr_s, st.get_int("bench.voxels"), st.to_toml({"preprocess"})));
  return file;
}

// process = two: hyper stream as a child, the run replayed into it; times from its record.
BenchRecord run_two_process(const Settings& st, const PartRegistry& parts, const Input& in, const std::filesystem::path& decoder,
                            const std::filesystem::path& dir, int64_t count, const std::function<void(int64_t)>& sent) {
  write_file_atomic(dir / "stream.toml", stream_settings(st).to_toml(parts.session_sections()));
  const std::string endpoint = fmt::format("tcp://127.0.0.1:{}", st.get_int("bench.port"));
  std::filesystem::remove_all(dir / "stream");
  ReplayOptions ro;
  ro.speed = st.get_string("bench.mode") == "flood" ? std::numeric_limits<double>::infinity() : st.get_float("bench.speed");
  ro.count = count;
  ro.tr_s = in.tr_s;
  ro.on_volume = [&](const std::string&, int64_t i, int64_t, double) { sent(i); };
  BenchBrowsers browsers(st.get_string("dashboard.listen"), static_cast<int>(st.get_int("bench.browsers")));
  replay_into_stream({"--config", (dir / "stream.toml").string(), "--endpoint", endpoint, "--runs", "1", "--out",
                      (dir / "stream").string(), "--decoder", decoder.string()},
                     dir / "stream.log", endpoint, in.file, ro, std::chrono::seconds(120) + std::chrono::milliseconds(count * 50));
  if (browsers.messages() > 0) spdlog::info("  {} browsers got {} dashboard messages", st.get_int("bench.browsers"), browsers.messages());
  return read_record_timings(dir / "stream" / in.file.run_id, static_cast<int>(st.get_int("bench.warmup")));
}

// process = in: the Session in serial mode over the run, with the variant's sinks.
BenchRecord run_in_process(const Settings& st, const PartRegistry& parts, const Input& in, const std::filesystem::path& decoder,
                           int64_t count, const std::function<void(int64_t)>& sent) {
  Chain chain = live_chain(parts, st, decoder.string());
  chain.preflight(Spec{});
  const Settings sinks = stream_settings(st);
  Session session(chain, {.serial = true, .strict = true, .log_runs = false});
  add_registered_sinks(session, parts, sinks, "");
  auto timing = std::make_shared<TimingSink>(static_cast<int>(st.get_int("bench.warmup")));
  session.add(timing);
  session.add(std::make_shared<FunctionSink>([&, k = int64_t{0}](const Tr&) mutable { sent(++k); }));
  BenchBrowsers browsers(st.get_string("dashboard.listen"), static_cast<int>(st.get_int("bench.browsers")));
  NiftiRunSource source(in.nifti, in.file.run_id, in.tr_s,
                        {.speed = st.get_string("bench.mode") == "flood" ? 0.0 : st.get_float("bench.speed"), .count = count, .codec = true});
  session.run(source);
  return timing->record();
}

}  // namespace hyper

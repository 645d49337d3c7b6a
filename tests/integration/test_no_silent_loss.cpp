// Nothing lost, poisoned or erased silently (README, "Reliability and security"): bad
// volumes are refused at the Session's entry and the run goes on as if they were missing,
// records are never overwritten, a restarted publisher makes a new run, usage errors exit 2.
#include <doctest/doctest.h>

#include <cmath>
#include <csignal>
#include <thread>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "decoders/decoder.hpp"
#include "io/bids.hpp"
#include "io/npy.hpp"
#include "net/publisher.hpp"
#include "net/replayer.hpp"
#include "stream_support.hpp"
#include "support.hpp"
#include "twin_support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

nlohmann::json read_json(const std::filesystem::path& p) { return nlohmann::json::parse(std::ifstream(p)); }

// Sends `run` as float32 volumes into a `hyper stream` started with `stream_args`, leaving
// out the indices in `skip` and spoiling those in `nan`, `inf` (every voxel) and `overflow`
// (scl_slope 1e300: every voxel overflows float when scaled).
void stream_run(const test::TempDir& d, const std::string& tag, const RunFile& file, std::vector<std::string> stream_args,
                const std::set<int64_t>& skip, int64_t nan = -1, int64_t inf = -1, int64_t overflow = -1) {
  const int port = test::free_tcp_port();
  std::vector<std::string> args = test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--runs", "1"});
  args.insert(args.end(), stream_args.begin(), stream_args.end());
  test::Process stream(args, d / (tag + ".log"));
  const NiftiRun run = read_nifti(file.path);
  zmq::context_t ctx(1);
  Publisher pub(ctx, test::loopback(port));
  REQUIRE(pub.wait_for_subscribers(1, 30s) == 1);
  const int64_t n = run.info.dims[3];
  VolumeHeader h = volume_header(run.info, "r1", 1.5);
  h.dtype = DType::Float32;
  h.scl_slope = 1;
  h.scl_inter = 0;
  pub.send_control({.type = ControlType::RunStart, .run = "r1", .count = n, .tr_s = 1.5});
  for (int64_t k = 0; k < n; ++k) {
    if (skip.count(k)) continue;
    std::vector<float> v = run.volume(k).data;
    if (k == nan) std::fill(v.begin(), v.end(), std::numeric_limits<float>::quiet_NaN());
    if (k == inf) std::fill(v.begin(), v.end(), std::numeric_limits<float>::infinity());
    h.index = k;
    h.scl_slope = k == overflow ? 1e300 : 1.0;
    REQUIRE(pub.send_volume(h, std::as_bytes(std::span(v))));
    std::this_thread::sleep_for(5ms);
  }
  pub.send_control({.type = ControlType::RunEnd, .run = "r1", .volumes_sent = n - static_cast<int64_t>(skip.size())});
  const int rc = stream.wait(120s);
  INFO(stream.output());
  REQUIRE(rc == 0);
}

}  // namespace

TEST_CASE("bad volumes (all NaN, all Inf, a scl_slope that overflows) are refused with their reason, the rest decodes as without them") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  // A decoder of random weights on the chain realign, mask, detrend, zscore (what it
  // decodes is beside the point: online == online without the bad volumes is).
  test::random_decoder_file(file, "[\"realign\", \"mask\", \"detrend\", \"zscore\"]", d / "dec.safetensors");
  const NiftiRun nifti = read_nifti(file.path);
  const std::vector<std::string> common{"--decoder", (d / "dec.safetensors").string(), "--log-level", "info"};

  auto with = [&](std::vector<std::string> a) {
    a.insert(a.end(), common.begin(), common.end());
    return a;
  };
  const std::set<int64_t> bad{5, 9, 13};
  stream_run(d, "spoiled", file, with({"--out", (d / "spoiled").string()}), {}, 5, 9, 13);
  stream_run(d, "clean", file, with({"--out", (d / "clean").string()}), bad);

  const NpyArray a = read_npy(d / "spoiled/r1/latents.npy"), b = read_npy(d / "clean/r1/latents.npy");
  const int64_t n = nifti.info.dims[3];
  REQUIRE(b.shape[0] == n - 3);
  REQUIRE(a.shape == b.shape);  // the three bad volumes decoded nothing
  double worst = 0, scale = 0;
  bool finite = true;
  for (size_t i = 0; i < a.data.size(); ++i) {
    finite &= std::isfinite(a.data[i]);
    worst = std::max<double>(worst, std::abs(a.data[i] - b.data[i]));
    scale = std::max<double>(scale, std::abs(b.data[i]));
  }
  CHECK(finite);
  MESSAGE("largest difference from the run sent without the bad volumes: " << worst << " (largest latent value " << scale << ")");
  // Relative to the latents' scale: the two streams are two processes, and FFTW_MEASURE may
  // plan realign's smoothing differently in each (float rounding, seen up to 1.5e-5 here
  // under load; 0 when idle). A poisoned run differs by orders of magnitude more.
  CHECK(worst <= 1e-5 * std::max(1.0, scale));
  const auto s = read_json(d / "spoiled/r1/summary.json");
  CHECK(s["complete"] == false);
  CHECK(s["dropped"]["non_finite"] == 3);
  CHECK(s["dropped_total"] == 3);
  CHECK(s["processed"] == n - 3);
  CHECK(s["decoded"] == n - 3);
  const std::string log = test::read_text(d / "spoiled.log");
  CHECK(log.find("volume 5 refused (non_finite)") != std::string::npos);
  CHECK(log.find("volumes refused at the entry (treated as missing): non_finite 3") != std::string::npos);
  // The record has no line for them: tr.tsv's indices skip exactly 5, 9 and 13.
  std::ifstream tsv(d / "spoiled/r1/tr.tsv");
  std::string line;
  std::getline(tsv, line);
  std::vector<int64_t> indices;
  while (std::getline(tsv, line)) indices.push_back(std::stoll(line.substr(0, line.find('\t'))));
  for (int64_t k : bad) CHECK(std::find(indices.begin(), indices.end(), k) == indices.end());
  CHECK(static_cast<int64_t>(indices.size()) == n - 3);
}

TEST_CASE("a record is never overwritten: the same run id again, in a later stream or the same one, gets RUN.2") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  auto play = [&](const std::string& tag) {
    return test::run(test::hyper_cmd({"stream", "--source", "nifti_run", "--set", "nifti_run.input=" + file.path.string(), "--set",
                                      "nifti_run.speed=0", "--out", (d / "out").string(), "--runs", "1"}),
                     d / (tag + ".log"));
  };
  REQUIRE(play("first") == 0);
  const auto first = d / "out" / file.run_id;
  const std::string tsv = test::read_text(first / "tr.tsv"), summary = test::read_text(first / "summary.json");
  REQUIRE(play("second") == 0);
  CHECK(test::read_text(first / "tr.tsv") == tsv);  // byte for byte
  CHECK(test::read_text(first / "summary.json") == summary);
  const auto second = d / "out" / (file.run_id + ".2");
  CHECK(std::filesystem::exists(second / "tr.tsv"));
  CHECK(read_json(second / "summary.json")["recorded_as"] == file.run_id + ".2");
  CHECK(test::read_text(d / "second.log").find("this run is recorded as " + file.run_id + ".2") != std::string::npos);
  // The BOLD recordings: the next free run number each time; an explicit one already taken is refused.
  const auto bold = d / "out/sub-01/func";
  CHECK(std::filesystem::exists(bold / "sub-01_task-faces_run-01_bold.nii.gz"));
  CHECK(std::filesystem::exists(bold / "sub-01_task-faces_run-02_bold.nii.gz"));
  const std::string recorded = test::read_text(bold / "sub-01_task-faces_run-01_bold.json");
  CHECK(test::run(test::hyper_cmd({"stream", "--source", "nifti_run", "--set", "nifti_run.input=" + file.path.string(), "--out",
                                   (d / "out").string(), "--runs", "1", "--set", "bold.run=1"}),
                  d / "taken.log") == 2);
  CHECK(test::read_text(d / "taken.log").find("bold.run: run 1 is already recorded") != std::string::npos);
  CHECK(test::read_text(bold / "sub-01_task-faces_run-01_bold.json") == recorded);

  // A publisher restarted with the same run id, into one stream: both runs processed and recorded.
  const int port = test::free_tcp_port();
  test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--runs", "2", "--out", (d / "twice").string()}),
                       d / "twice.log");
  for (int pass = 0; pass < 2; ++pass)
    REQUIRE(test::run(test::hyper_cmd({"replay", "--input", file.path.string(), "--endpoint", test::loopback(port), "--speed", "max"}),
                      d / ("replay" + std::to_string(pass) + ".log")) == 0);
  REQUIRE(stream.wait(60s) == 0);
  const int64_t n = read_nifti_info(file.path).dims[3];
  for (const std::string& run : {file.run_id, file.run_id + ".2"}) {
    const auto s = read_json(d / "twice" / run / "summary.json");
    CHECK(s["received"] == n);
    CHECK(s["complete"] == true);
  }
}

TEST_CASE("a subscriber that never reads does not hold up a paced replay, and the stream says when it falls behind") {
  test::TempDir d;
  // 60 volumes of 576 KiB: far more than the kernel's socket buffers hold.
  test::make_run(d / "big.nii", {"--dims", "64", "64", "36", "60", "--dtype", "float32"});
  const int64_t n = 60;
  const int port = test::free_tcp_port();
  // A subscriber that connects, subscribes and never reads a message.
  zmq::context_t ctx(1);
  zmq::socket_t stalled(ctx, zmq::socket_type::sub);
  stalled.set(zmq::sockopt::subscribe, "");
  stalled.set(zmq::sockopt::rcvhwm, 1);
  stalled.set(zmq::sockopt::rcvbuf, 4096);
  stalled.connect(test::loopback(port));
  const double speed = 30;
  const int rc = test::run(test::hyper_cmd({"replay", "--input", (d / "big.nii").string(), "--endpoint", test::loopback(port), "--speed",
                                            fmt::format("{}", speed), "--set", "replay.send_hwm=2"}),
                           d / "replay.log", 60s);
  const std::string log = test::read_text(d / "replay.log");
  INFO(log);
  REQUIRE(rc == 0);
  // "sent N volumes in S s": the run kept its pace, (n - 1) TR / speed.
  const auto at = log.find(fmt::format("sent {} volumes in ", n));
  REQUIRE(at != std::string::npos);
  const double took = std::stod(log.substr(at + fmt::format("sent {} volumes in ", n).size()));
  const double expected = static_cast<double>(n - 1) * 1.5 / speed;
  MESSAGE("replay took " << took << " s, pace " << expected << " s");
  CHECK(took <= expected * 1.1);
  CHECK(log.find("blocked") == std::string::npos);
  // Ctrl-C ends a replay within a second, stalled subscriber or not, with 130.
  test::Process slow(test::hyper_cmd({"replay", "--input", (d / "big.nii").string(), "--endpoint", test::loopback(port), "--set",
                                      "replay.send_hwm=2"}),
                     d / "slow.log");
  std::this_thread::sleep_for(2s);
  slow.signal(SIGINT);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(slow.wait(5s) == 130);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);

  // A stream that cannot keep up with a flood says so once, processes every volume, and
  // its summary counts the late ones.
  const RunFile file = test::small_twin(d);
  const int64_t volumes = read_nifti_info(file.path).dims[3];
  const int port2 = test::free_tcp_port();
  test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port2), "--runs", "1", "--out", (d / "out").string(),
                                        "--set", "preprocess.chain=[\"realign\"]", "--set", "stream.max_lag_trs=0.001"}),
                       d / "stream.log");
  REQUIRE(test::run(test::hyper_cmd({"replay", "--input", file.path.string(), "--endpoint", test::loopback(port2), "--speed", "max"}),
                    d / "flood.log") == 0);
  REQUIRE(stream.wait(60s) == 0);
  const std::string slog = test::read_text(d / "stream.log");
  CHECK(slog.find("processing is behind the scanner") != std::string::npos);
  CHECK(slog.find("processing is behind the scanner", slog.find("processing is behind the scanner") + 1) == std::string::npos);
  const auto s = read_json(d / "out" / file.run_id / "summary.json");
  CHECK(s["received"] == volumes);
  CHECK(s["processed"] == volumes);
  CHECK(s["late"].get<int64_t>() > 0);
}

TEST_CASE("waiting is said: a stream with no publisher says what it waits for, replay checks its input before waiting") {
  test::TempDir d;
  test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(test::free_tcp_port())}), d / "stream.log");
  std::this_thread::sleep_for(6s);
  stream.signal(SIGINT);
  CHECK(stream.wait(10s) == 130);
  CHECK(stream.output().find("waiting for volumes from hyper/1 from tcp://127.0.0.1:") != std::string::npos);

  std::ofstream(d / "broken.nii") << "not a NIfTI file";
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(test::run(test::hyper_cmd({"replay", "--input", (d / "broken.nii").string(), "--endpoint", test::loopback(test::free_tcp_port())}),
                  d / "replay.log") == 1);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);  // not after the 30 s wait for a subscriber
  CHECK(test::read_text(d / "replay.log").find("broken.nii") != std::string::npos);
}

namespace {
// The resident set of a process now, MiB (0 once it is gone).
double rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}
}  // namespace

TEST_CASE("a flood faster than processing keeps the stream's memory bounded, and every volume is processed") {
  test::TempDir d;
  const int64_t n = 400;  // 225 MiB of 576 KiB volumes
  test::make_run(d / "flood.nii", {"--dims", "64", "64", "36", std::to_string(n), "--dtype", "float32"});
  const int port = test::free_tcp_port();
  test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--runs", "1", "--out", (d / "out").string(),
                                        "--set", "preprocess.chain=[\"realign\"]"}),
                       d / "stream.log");
  test::Process replay(test::hyper_cmd({"replay", "--input", (d / "flood.nii").string(), "--endpoint", test::loopback(port), "--speed", "max"}),
                       d / "replay.log");
  double peak = 0;
  for (int i = 0; i < 1200 && rss_mib(stream.pid()) > 0; ++i) {  // until the stream exits (2 min at most)
    peak = std::max(peak, rss_mib(stream.pid()));
    std::this_thread::sleep_for(100ms);
  }
  CHECK(replay.wait(30s) == 0);
  REQUIRE(stream.wait(10s) == 0);
  MESSAGE("peak resident set of hyper stream under the flood: " << peak << " MiB");
  // The README states 249 MiB for 500 such volumes (its queue and ZeroMQ's hold 128 of them,
  // 72 MiB); without the bound it grew with the flood (460 MiB at 500).
  CHECK(peak < 320);
  const auto s = read_json(d / "out/flood/summary.json");
  CHECK(s["received"] == n);
  CHECK(s["processed"] == n);
  CHECK(s["dropped_total"] == 0);
  CHECK(s["late"].get<int64_t>() > 0);
}

TEST_CASE("stream.when_behind = catch_up draws no face while processing is behind, and says how many it left out") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  test::random_decoder_file(file, "[\"realign\", \"mask\"]", d / "dec.safetensors");
  const int64_t n = read_nifti_info(file.path).dims[3];
  const int port = test::free_tcp_port();
  for (const std::string policy : {"draw", "catch_up"}) {
    test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--runs", "1", "--out", (d / policy).string(),
                                          "--decoder", (d / "dec.safetensors").string(), "--faces", "--generator", "procedural",
                                          "--resolution", "64", "--set", "stream.max_lag_trs=0.0001", "--set",
                                          "stream.when_behind=" + policy}),
                         d / (policy + ".log"));
    REQUIRE(test::run(test::hyper_cmd({"replay", "--input", file.path.string(), "--endpoint", test::loopback(port), "--speed", "max"}),
                      d / "replay.log") == 0);
    REQUIRE(stream.wait(60s) == 0);
    const std::string log = test::read_text(d / (policy + ".log"));
    INFO(log);
    std::ifstream frames(d / policy / file.run_id / "frames.tsv");
    std::string line;
    int64_t drawn = frames ? -1 : 0;  // -1: the header line; no file: no face
    while (std::getline(frames, line)) ++drawn;
    const auto s = read_json(d / policy / file.run_id / "summary.json");
    CHECK(s["processed"] == n);  // every volume processed and recorded either way
    CHECK(s["decoded"] == n);
    if (policy == "draw") {
      CHECK(drawn > 0);
    } else {
      CHECK(drawn == 0);  // every volume was late by 0.15 ms
      CHECK(log.find(fmt::format("{} not drawn while behind (stream.when_behind = catch_up)", n)) != std::string::npos);
    }
  }
}


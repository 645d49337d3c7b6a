// Per-TR decoding: `hyper train --mode tr`, the decode stage inside `hyper stream`, and
// `hyper decode` of the same file, which must agree; decoders that do not fit are refused.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/fmt/fmt.h>

#include <stb_image.h>

#include "decoders/decoder.hpp"
#include "io/npy.hpp"
#include "stream_support.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

TEST_CASE("online per-TR decoding of a replayed run equals hyper decode of the file, and misfits are refused") {
  test::TempDir d;
  REQUIRE(test::run(test::hyper_cmd({"simulate", "--out", (d / "twin").string(), "--preset", "small", "--log-level", "warn", "--set",
                               "twin.runs=7", "--set", "twin.test_runs=1", "--set", "twin.trials_per_run=175", "--set",
                               "twin.snr=50", "--set", "twin.visual_fraction=0.3", "--set", "twin.motion_step_mm=0", "--set",
                               "twin.motion_step_deg=0", "--set", "twin.jerk_rate=0"}),
                    d / "sim.log") == 0);
  const auto dec = (d / "dec.safetensors").string();
  const int rc = test::run(test::hyper_cmd({"train", "--dataset", (d / "twin").string(), "--out", dec, "--mode", "tr", "--voxels",
                                      "800", "--penalty", "10", "--set", "preprocess.chain=[\"mask\", \"detrend\"]"}),
                           d / "train.log", 300s);
  INFO(test::read_text(d / "train.log"));
  REQUIRE(rc == 0);
  REQUIRE(load_decoder(dec).mode == "tr");

  // Offline: every volume of the test run through the decoder's chain and the decode stage.
  const std::string run_id = "sub-01_task-faces_run-01_bold";
  const auto run = d / ("twin/sub-01/func/" + run_id + ".nii.gz");
  REQUIRE(test::run(test::hyper_cmd({"decode", "--input", run.string(), "--decoder", dec, "--out", (d / "offline.npy").string()}),
                    d / "decode.log") == 0);
  const NpyArray offline = read_npy(d / "offline.npy");
  REQUIRE(offline.shape.size() == 2);
  REQUIRE(offline.shape[1] == 512);

  // Online: the same file replayed over tcp into hyper stream with the decoder.
  const int port = test::free_tcp_port();
  test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--runs", "1", "--out",
                                  (d / "out").string(), "--decoder", dec}),
                       d / "stream.log");
  test::Process replay(test::hyper_cmd({"replay", "--input", run.string(), "--endpoint", test::loopback(port), "--speed", "max"}),
                       d / "replay.log");
  CHECK(replay.wait(60s) == 0);
  REQUIRE(stream.wait(60s) == 0);
  INFO(stream.output());
  const NpyArray online = read_npy(d / "out" / run_id / "latents.npy");
  REQUIRE(online.shape == offline.shape);
  double worst = 0;
  for (size_t i = 0; i < online.data.size(); ++i) worst = std::max<double>(worst, std::abs(online.data[i] - offline.data[i]));
  MESSAGE("largest online - offline difference: " << worst);
  CHECK(worst <= 1e-5);
  // The run record: one tr.tsv line per volume, in order, each decoded.
  {
    std::ifstream tsv(d / "out" / run_id / "tr.tsv");
    std::string line;
    std::getline(tsv, line);
    CHECK(line.rfind("index\tt_acq_ns\tt_sent_ns\tt_recv_ns\tt_ready_ns\tsent_to_ready_ms\tmask_ms\tdetrend_ms\tdecode_ms\t", 0) == 0);
    int64_t expected = 0;
    while (std::getline(tsv, line)) {
      CHECK(std::stoll(line.substr(0, line.find('\t'))) == expected++);
      CHECK(line.substr(line.size() - 2) == "\t1");
    }
    CHECK(expected == offline.shape[0]);
  }

  // Killed mid-run (SIGKILL): every TR recorded before the kill stays readable, and numpy
  // reads latents.npy with one row per tr.tsv line.
  {
    const int port3 = test::free_tcp_port();
    test::Process s3(test::hyper_cmd({"stream", "--endpoint", test::loopback(port3), "--out", (d / "killed").string(),
                                      "--decoder", dec}),
                     d / "killed.log");
    test::Process r3(test::hyper_cmd({"replay", "--input", run.string(), "--endpoint", test::loopback(port3), "--speed", "50"}),
                     d / "replay_killed.log");
    std::this_thread::sleep_for(2500ms);
    s3.signal(SIGKILL);
    s3.wait(10s);
    r3.signal(SIGINT);
    r3.wait(10s);
    const auto dir = d / "killed" / run_id;
    std::ifstream tsv(dir / "tr.tsv");
    std::string line;
    int64_t lines = -1;  // the header
    while (std::getline(tsv, line)) ++lines;
    MESSAGE("volumes recorded before the kill: " << lines);
    CHECK(lines > 5);
    CHECK(lines < offline.shape[0]);
    const NpyArray part = read_npy(dir / "latents.npy");
    CHECK((part.shape[0] == lines || part.shape[0] == lines - 1));  // killed between the two writes at most
    CHECK(test::run({test::python(), "-c", "import numpy,sys; a=numpy.load(sys.argv[1]); print(a.shape)", (dir / "latents.npy").string()},
                    d / "numpy.log") == 0);
    CHECK(test::read_text(d / "numpy.log").find(", 512)") != std::string::npos);
    // Its rows are the offline latents of the same volumes.
    float worst_part = 0;
    for (size_t i = 0; i < part.data.size(); ++i) worst_part = std::max(worst_part, std::abs(part.data[i] - offline.data[i]));
    CHECK(worst_part <= 1e-5f);
  }

  // A generator slower than the volumes: every volume is still processed and recorded, and
  // the latents not drawn are exactly the ones counted as skipped.
  {
    const int port4 = test::free_tcp_port();
    test::Process s4(test::hyper_cmd({"stream", "--endpoint", test::loopback(port4), "--runs", "1", "--out",
                                      (d / "slow").string(), "--decoder", dec, "--faces", "--generator", "procedural",
                                      "--resolution", "32", "--png-frames", "--set", "stream.test_face_delay_ms=120"}),
                     d / "slow.log");
    REQUIRE(test::run(test::hyper_cmd({"replay", "--input", run.string(), "--endpoint", test::loopback(port4), "--speed",
                                       "50", "--count", "120"}),
                      d / "replay_slow.log") == 0);
    REQUIRE(s4.wait(60s) == 0);
    const std::string log = test::read_text(d / "slow.log");
    INFO(log);
    auto count_lines = [](const std::filesystem::path& p) {
      std::ifstream f(p);
      std::string line;
      int64_t n = -1;  // the header
      while (std::getline(f, line)) ++n;
      return n;
    };
    const auto dir = d / "slow" / run_id;
    CHECK(count_lines(dir / "tr.tsv") == 120);
    const int64_t drawn = count_lines(dir / "frames.tsv");
    MESSAGE("faces drawn of 120 latents with a 120 ms generator and volumes every 30 ms: " << drawn);
    CHECK(drawn >= 5);
    CHECK(drawn < 60);
    CHECK(log.find(fmt::format("120 decoded latents, {} faces drawn, {} skipped", drawn, 120 - drawn)) != std::string::npos);
    int64_t pngs = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir / "frames")) pngs += e.path().extension() == ".png";
    CHECK(pngs == drawn);
  }

  // On screen (SDL's dummy driver, headless): each face presented and stamped, the
  // captured screen shows the fixation cross over a face on the background.
  {
    const int port5 = test::free_tcp_port();
    test::Process s5(test::hyper_cmd({"stream", "--endpoint", test::loopback(port5), "--runs", "1", "--out",
                                      (d / "screen").string(), "--decoder", dec, "--faces", "--generator", "procedural",
                                      "--resolution", "64", "--display", "--set", "display.driver=dummy", "--set",
                                      "display.capture=true", "--set", "display.width=480", "--set", "display.height=240",
                                      "--set", "display.face_px=128", "--set", "display.fixation_px=20", "--set",
                                      "display.truth=" + (d / "twin").string()}),
                     d / "screen.log");
    REQUIRE(test::run(test::hyper_cmd({"replay", "--input", run.string(), "--endpoint", test::loopback(port5), "--speed",
                                       "20", "--count", "12"}),
                      d / "replay_screen.log") == 0);
    REQUIRE(s5.wait(60s) == 0);
    INFO(test::read_text(d / "screen.log"));
    const auto dir = d / "screen" / run_id;
    std::ifstream presented(dir / "presented.tsv");
    std::string line;
    int rows = -1;
    while (std::getline(presented, line)) ++rows;
    CHECK(rows >= 1);
    CHECK(rows <= 12);
    int w = 0, h = 0, channels = 0;
    unsigned char* px = stbi_load((dir / "screen/000011.png").c_str(), &w, &h, &channels, 3);
    REQUIRE(px != nullptr);
    CHECK(w == 480);
    CHECK(h == 240);
    auto at = [&](int x, int y) { return std::array<int, 3>{px[(y * w + x) * 3], px[(y * w + x) * 3 + 1], px[(y * w + x) * 3 + 2]}; };
    // The layout at 480x240 with the truth view: shown x 104-231, decoded x 248-375, y 56-183.
    CHECK(at(312, 120) == std::array<int, 3>{255, 0, 0});  // the cross on the decoded face's centre
    CHECK(at(5, 235) == std::array<int, 3>{128, 128, 128});  // background
    CHECK(at(240, 120) == std::array<int, 3>{128, 128, 128});  // between the two faces
    CHECK(at(312 - 40, 120 + 40) != std::array<int, 3>{128, 128, 128});  // inside the decoded face
    stbi_image_free(px);
    // With display.truth, the face shown at the time is drawn left of the decoded one.
    int with_truth = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir / "screen")) {
      unsigned char* p = stbi_load(e.path().c_str(), &w, &h, &channels, 3);
      REQUIRE(p != nullptr);
      with_truth += p[(120 * w + 168) * 3] != 128 || p[(120 * w + 168) * 3 + 1] != 128;
      stbi_image_free(p);
    }
    CHECK(with_truth >= 1);
  }

  // And they decode: per TR, the prediction follows the HRF-weighted latent target. (With
  // the causal detrend in the chain it does less well on the twin: README, "hyper train".)
  const auto dec_mask = (d / "dec_mask.safetensors").string();
  REQUIRE(test::run(test::hyper_cmd({"train", "--dataset", (d / "twin").string(), "--out", dec_mask, "--mode", "tr", "--voxels",
                               "1500", "--penalty", "10", "--set", "preprocess.chain=[\"mask\"]"}),
                    d / "train2.log", 300s) == 0);
  REQUIRE(test::run(test::hyper_cmd({"decode", "--input", run.string(), "--decoder", dec_mask, "--out", (d / "mask.npy").string()}),
                    d / "decode2.log") == 0);
  const NpyArray pred = read_npy(d / "mask.npy");
  const NpyArray lat = read_npy(d / "twin/stimuli/latents.npy");
  const Eigen::MatrixXf latents =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(lat.data.data(), lat.shape[0], 512);
  const auto T = static_cast<int>(pred.shape[0]);
  const TrTargets target = tr_targets(read_events(events_path(run)), latents, T, 1.5, -1);
  double r = 0;
  int used = 0;
  for (int t = 0; t < T; ++t) {
    if (!target.use[static_cast<size_t>(t)]) continue;
    const Eigen::VectorXd p = Eigen::Map<const Eigen::VectorXf>(pred.data.data() + t * 512, 512).cast<double>();
    const Eigen::VectorXd y = target.y.row(t).transpose();
    const Eigen::VectorXd a = p.array() - p.mean(), b = y.array() - y.mean();
    if (b.squaredNorm() < 1e-6) continue;  // at a first onset the target is still 0
    r += a.dot(b) / std::sqrt(a.squaredNorm() * b.squaredNorm());
    ++used;
  }
  REQUIRE(used > 100);
  MESSAGE("mean per-TR correlation with the HRF-weighted target: " << r / used);
  CHECK(r / used > 0.95);

  // Closed loop, the target protocol on the replayed test run: the feedback follows the true
  // similarity of what the twin saw to the target; for a target never shown it stays at chance.
  {
    const auto events = read_events(events_path(run));
    const int T = static_cast<int>(offline.shape[0]);  // the decoder of the mask-only chain (above)
    const TrTargets truth = tr_targets(events, latents, T, 1.5, -1);
    std::set<int64_t> shown;
    for (const Event& e : events) shown.insert(e.stim_index);
    int64_t unseen = 0;
    while (shown.count(unseen)) ++unseen;
    const auto feedback_of = [&](const std::vector<std::string>& protocol, const std::string& tag) {
      const int port6 = test::free_tcp_port();
      std::vector<std::string> cmd = test::hyper_cmd({"stream", "--endpoint", test::loopback(port6), "--runs", "1", "--out",
                                                      (d / tag).string(), "--decoder", dec_mask, "--set",
                                                      "feedback.latents=" + (d / "twin/stimuli/latents.npy").string()});
      cmd.insert(cmd.end(), protocol.begin(), protocol.end());
      test::Process s6(cmd, d / (tag + ".log"));
      REQUIRE(test::run(test::hyper_cmd({"replay", "--input", run.string(), "--endpoint", test::loopback(port6), "--speed", "max"}),
                        d / (tag + "_replay.log")) == 0);
      REQUIRE(s6.wait(60s) == 0);
      std::ifstream tsv(d / tag / run_id / "feedback.tsv");
      std::string line;
      std::getline(tsv, line);
      CHECK(line == "index\tt_ready_ns\tfeedback\tbar\tshown");
      std::vector<double> values;
      while (std::getline(tsv, line)) {
        std::stringstream ss(line);
        std::string index, t_ready, value;
        std::getline(ss, index, '\t'), std::getline(ss, t_ready, '\t'), std::getline(ss, value, '\t');
        values.push_back(std::stod(value));
      }
      REQUIRE(static_cast<int>(values.size()) == T);
      return values;
    };
    const int64_t target = events.front().stim_index;
    const auto fb = feedback_of({"--feedback", "target", "--set", "feedback.target=" + std::to_string(target)}, "target");
    // The true similarity, smoothed as the protocol smooths (3 TRs), where the target is defined.
    const Eigen::VectorXf tz = latents.row(target).transpose();
    std::vector<double> x, y, window;
    for (int t = 0; t < T; ++t) {
      const Eigen::VectorXf yt = truth.y.row(t).transpose().cast<float>();
      window.push_back(yt.norm() > 0 ? yt.dot(tz) / (yt.norm() * tz.norm()) : 0.0);
      if (window.size() > 3) window.erase(window.begin());
      if (!truth.use[static_cast<size_t>(t)] || yt.norm() == 0) continue;
      x.push_back(std::accumulate(window.begin(), window.end(), 0.0) / static_cast<double>(window.size()));
      y.push_back(fb[static_cast<size_t>(t)]);
    }
    const auto pearson = [](const std::vector<double>& a, const std::vector<double>& b) {
      const double ma = std::accumulate(a.begin(), a.end(), 0.0) / a.size(), mb = std::accumulate(b.begin(), b.end(), 0.0) / b.size();
      double ab = 0, aa = 0, bb = 0;
      for (size_t i = 0; i < a.size(); ++i) ab += (a[i] - ma) * (b[i] - mb), aa += (a[i] - ma) * (a[i] - ma), bb += (b[i] - mb) * (b[i] - mb);
      return ab / std::sqrt(aa * bb);
    };
    const double r = pearson(x, y);
    MESSAGE("target protocol: correlation of the feedback with the true similarity to the target " << r);
    CHECK(r > 0.9);  // the issue asks 0.5; this decoder does far better
    const auto chance = feedback_of({"--feedback", "target", "--set", "feedback.target=" + std::to_string(unseen)}, "unseen");
    const double mean = std::accumulate(chance.begin(), chance.end(), 0.0) / static_cast<double>(chance.size());
    MESSAGE("target protocol, a target never shown: mean feedback " << mean << " (chance: 0)");
    CHECK(std::abs(mean) < 1.0);

    // The attribute protocol with a direction fitted by hyper train --attribute from the twin's
    // attribute values: the direction is the twin's hidden one, and the feedback follows the
    // true projection of what the twin saw on it.
    REQUIRE(test::run(test::hyper_cmd({"train", "--dataset", (d / "twin").string(), "--attribute", "smile", "--out",
                                       (d / "smile.npy").string()}),
                      d / "smile.log") == 0);
    const NpyArray fitted = read_npy(d / "smile.npy"), hidden = read_npy(d / "twin/derivatives/twin/attribute_smile.npy");
    REQUIRE(fitted.data.size() == 512);
    const Eigen::Map<const Eigen::VectorXf> df(fitted.data.data(), 512), dh(hidden.data.data(), 512);
    MESSAGE("attribute direction fitted from the twin's values: cos with the hidden one " << df.dot(dh));
    CHECK(df.dot(dh) > 0.85);
    const auto afb = feedback_of({"--feedback", "attribute", "--set", "feedback.direction=" + (d / "smile.npy").string()}, "attribute");
    std::vector<double> ax, ay;
    window.clear();
    for (int t = 0; t < T; ++t) {
      const Eigen::VectorXf yt = truth.y.row(t).transpose().cast<float>();
      window.push_back(yt.dot(dh));
      if (window.size() > 3) window.erase(window.begin());
      if (!truth.use[static_cast<size_t>(t)] || yt.norm() == 0) continue;
      ax.push_back(std::accumulate(window.begin(), window.end(), 0.0) / static_cast<double>(window.size()));
      ay.push_back(afb[static_cast<size_t>(t)]);
    }
    const double ra = pearson(ax, ay);
    MESSAGE("attribute protocol: correlation of the feedback with the true projection on the hidden direction " << ra);
    CHECK(ra > 0.5);
  }


  // Volumes of another grid, or at another TR: the run is refused, naming the mismatch.
  test::make_run(d / "other.nii.gz", {"--dims", "8", "8", "4", "5"});
  const int port2 = test::free_tcp_port();
  test::Process stream2(test::hyper_cmd({"stream", "--endpoint", test::loopback(port2), "--runs", "2", "--decoder", dec}),
                        d / "stream2.log");
  CHECK(test::run(test::hyper_cmd({"replay", "--input", (d / "other.nii.gz").string(), "--endpoint", test::loopback(port2),
                             "--speed", "max"}),
                  d / "replay2.log") == 0);
  CHECK(test::run(test::hyper_cmd({"replay", "--input", run.string(), "--endpoint", test::loopback(port2), "--speed", "max",
                             "--count", "3", "--tr", "2"}),
                  d / "replay3.log") == 0);
  CHECK(stream2.wait(60s) == 1);  // no run could be decoded: not a success
  const std::string log2 = test::read_text(d / "stream2.log");
  INFO(log2);
  CHECK(log2.find("no run could be processed") != std::string::npos);
  CHECK(log2.find("was trained on grid 32x32x16, these volumes are 8x8x4") != std::string::npos);
  CHECK(log2.find("was trained at TR 1.5 s, these volumes come every 2 s") != std::string::npos);

  // A trial-mode decoder, or preprocessing that differs from the decoder's, before any volume.
  Decoder trial = load_decoder(dec);
  trial.mode = "trial";
  save_decoder(d / "trial.safetensors", trial);
  CHECK(test::run(test::hyper_cmd({"stream", "--decoder", (d / "trial.safetensors").string()}), d / "s3.log") == 2);
  CHECK(test::read_text(d / "s3.log").find("trained in 'trial' mode") != std::string::npos);
  CHECK(test::run(test::hyper_cmd({"stream", "--decoder", dec, "--set", "preprocess.chain=[\"mask\"]"}), d / "s4.log") == 2);
  CHECK(test::read_text(d / "s4.log").find("differs from the [\"mask\", \"detrend\"] that") !=
        std::string::npos);
  // A thread count says how, not what (the same numbers with any): set against the decoder's
  // 2, it is taken, not refused with "retrain", and the latents are the same, bit for bit
  // (the decode stage's product on one thread here, on two above).
  REQUIRE(test::run(test::hyper_cmd({"decode", "--input", run.string(), "--decoder", dec, "--out", (d / "threads.npy").string(),
                                     "--set", "preprocess.realign.threads=1", "--set", "preprocess.smooth.threads=3",
                                     "--set", "preprocess.decode_threads=1"}),
                    d / "threads.log") == 0);
  CHECK(read_npy(d / "threads.npy").data == offline.data);
}

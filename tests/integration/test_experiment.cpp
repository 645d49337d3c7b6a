// `hyper session`: the twin plays the scanner for a short session (two present runs, one
// online run; SDL's dummy driver; the first volume as the trigger), is killed during run 2
// and resumed. What a lab relies on is checked against independent references: the BOLD
// files against the twin's own runs (nibabel), events against the flips, and the decoder
// trained between runs against chance (a permutation test).
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "decoders/decoder.hpp"
#include <spdlog/fmt/fmt.h>

#include "io/npy.hpp"
#include "presentation_support.hpp"
#include "stream_support.hpp"
#include "support.hpp"

// After Eigen: cpp-httplib brings <resolv.h>, whose _res macro breaks Eigen's headers.
#include <httplib.h>
#include <nlohmann/json.hpp>

using namespace hyper;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

bool wait_for(const test::Process& p, const std::string& text, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (p.output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// Mean per-TR correlation of decoded latents with their HRF-weighted targets.
double mean_r(const NpyArray& pred, const TrTargets& target, const std::vector<int>& order) {
  double r = 0;
  int used = 0;
  for (int t = 0; t < static_cast<int>(pred.shape[0]); ++t) {
    const int u = order[static_cast<size_t>(t)];
    if (!target.use[static_cast<size_t>(u)]) continue;
    const Eigen::VectorXd p = Eigen::Map<const Eigen::VectorXf>(pred.data.data() + t * 512, 512).cast<double>();
    const Eigen::VectorXd y = target.y.row(u).transpose();
    const Eigen::VectorXd a = p.array() - p.mean(), b = y.array() - y.mean();
    if (b.squaredNorm() < 1e-6) continue;
    r += a.dot(b) / std::sqrt(a.squaredNorm() * b.squaredNorm());
    ++used;
  }
  return used ? r / used : 0;
}

}  // namespace

TEST_CASE("a session at the twin-scanner: present, present, online, killed in run 2 and resumed: BOLD, events and the decoder hold") {
  test::TempDir d;
  const double tr = 0.5;
  REQUIRE(test::run(test::hyper_cmd({"simulate", "--out", (d / "twin").string(), "--preset", "small", "--log-level", "warn",
                                     "--set", "twin.runs=3", "--set", "twin.test_runs=1", "--set", "twin.trials_per_run=16",
                                     "--set", "twin.tr=0.5", "--set", "twin.face_s=0.5", "--set", "twin.blank_s=1.0", "--set",
                                     "twin.lead_in_s=3", "--set", "twin.lead_out_s=4", "--set", "twin.snr=50", "--set",
                                     "twin.visual_fraction=0.3", "--set", "twin.motion_step_mm=0", "--set",
                                     "twin.motion_step_deg=0", "--set", "twin.jerk_rate=0"}),
                    d / "sim.log") == 0);
  const auto func = d / "twin/sub-01/func";
  const auto twin_run = [&](int r) { return func / fmt::format("sub-01_task-faces_run-{:02d}_bold.nii.gz", r); };
  const int port = test::free_tcp_port();
  const fs::path plan = d / "plan.toml", out = d / "sess";
  std::ofstream(plan) << fmt::format(R"([session]
tr = 0.5
run_volumes = 62
[bold]
session = "01"
[stream]
endpoint = "{}"
[trigger]
source = "volume"
[display]
driver = "dummy"
face_px = 32
[generator]
kind = "procedural"
resolution = 32
[train]
penalty = 10
voxels = 800
[preprocess]
chain = ["mask"]
[[run]]
kind = "present"
design = "{}"
[[run]]
kind = "present"
design = "{}"
[[run]]
kind = "online"
[[run]]
kind = "feedback"
protocol = "target"
)",
                                     test::loopback(port), (func / "sub-01_task-faces_run-02_events.tsv").string(),
                                     (func / "sub-01_task-faces_run-03_events.tsv").string());
  const auto replay = [&](int r) {
    return test::hyper_cmd({"replay", "--input", twin_run(r).string(), "--endpoint", test::loopback(port), "--log-level", "warn",
                            "--wait-timeout", "120"});
  };
  const fs::path bids = out / "sub-01/ses-01/func";
  const auto name = [](int r, const char* suffix) { return fmt::format("sub-01_ses-01_task-faces_run-{:02d}_{}", r, suffix); };

  // Run 1 whole, then killed (SIGKILL) a few seconds into run 2.
  {
    test::Process session(test::hyper_cmd({"session", plan.string(), "--out", out.string()}), d / "session1.log");
    REQUIRE(wait_for(session, "run 1 of 4: present", 30s));
    REQUIRE(test::run(replay(2), d / "replay1.log", 120s) == 0);
    REQUIRE(wait_for(session, "run 2 of 4: present", 60s));
    test::Process r2(replay(3), d / "replay2.log");
    REQUIRE(wait_for(session, "presentation: trigger (volume) received", 60s));
    std::this_thread::sleep_for(2s);
    session.signal(SIGKILL);
    session.wait(10s);
    r2.signal(SIGINT);
    r2.wait(10s);
  }
  CHECK(test::read_text(out / "session.json").find("\"started\"") != std::string::npos);
  REQUIRE(fs::exists(bids / name(1, "bold.nii.gz")));
  CHECK(test::tsv_rows(bids / name(1, "events.tsv")).size() == 17);
  CHECK(fs::exists(bids / name(2, "bold.nii")));  // the killed run's recording, readable

  // Rerun: resumes at run 2 (repeated; the killed attempt set aside), trains, decodes run 3;
  // the dashboard, kept across the runs, shows the plan with the current run.
  {
    const int dash = test::free_tcp_port();
    test::Process session(test::hyper_cmd({"session", plan.string(), "--out", out.string(), "--dashboard", std::to_string(dash)}),
                          d / "session2.log");
    REQUIRE(wait_for(session, "run 2 of 4: present", 60s));
    CHECK(session.output().find("run 1 of 4: present") == std::string::npos);
    CHECK(session.output().find("run 2 was cut short: repeating it") != std::string::npos);
    REQUIRE(test::run(replay(3), d / "replay3.log", 120s) == 0);
    REQUIRE(wait_for(session, "run 3 of 4: online", 120s));
    {
      httplib::Client web("127.0.0.1", dash);
      const auto r = web.Get("/api/state");
      REQUIRE(r);
      const auto st = nlohmann::json::parse(r->body);
      CHECK(st["plan"].size() == 4);
      CHECK(st["plan_current"] == 2);
      CHECK(st["runs"].size() == 1);  // run 2 (present) ended in this process, on the same dashboard
    }
    REQUIRE(test::run(replay(1), d / "replay4.log", 120s) == 0);
    REQUIRE(wait_for(session, "run 4 of 4: feedback: the target protocol", 60s));
    REQUIRE(test::run(replay(1), d / "replay5.log", 120s) == 0);
    const int rc = session.wait(60s);
    INFO(session.output());
    REQUIRE(rc == 0);
    CHECK(session.output().find("training the decoder on the 2 training runs recorded so far") != std::string::npos);
  }
  int set_aside = 0;
  for (const auto& e : fs::directory_iterator(out / "sourcedata/cut-short")) set_aside += fs::exists(e.path() / name(2, "bold.nii"));
  CHECK(set_aside == 1);
  CHECK(fs::exists(out / "decoders/after-run-02.safetensors"));
  // The feedback run: a value every TR (feedback.tsv), the target (a random latent) shown first.
  const auto feedback = test::tsv_rows(out / "sub-01_task-faces_run-01_bold.2/feedback.tsv");
  REQUIRE(feedback.size() == 63);
  CHECK(feedback[1][4] == "protocol");
  CHECK(feedback[10][4] == "decoded");
  CHECK(std::isfinite(std::stod(feedback[30][2])));

  // The BOLD files hold the volumes the twin sent, as nibabel reads both.
  for (const auto& [mine, theirs] : {std::pair{1, 2}, std::pair{2, 3}, std::pair{3, 1}}) {
    const int rc = test::run({test::python(), "-c",
                              "import nibabel as nib, numpy as np, sys\n"
                              "a = nib.load(sys.argv[1]).get_fdata(); b = nib.load(sys.argv[2]).get_fdata()\n"
                              "assert a.shape == b.shape, (a.shape, b.shape)\n"
                              "d = np.abs(a - b).max(); print('largest difference', d); assert d < 1e-3",
                              (bids / name(mine, "bold.nii.gz")).string(), twin_run(theirs).string()},
                             d / fmt::format("nib{}.log", mine));
    INFO(test::read_text(d / fmt::format("nib{}.log", mine)));
    CHECK(rc == 0);
  }

  // events.tsv: each onset is its first flip's stamp from the first trigger, within a frame of the plan.
  for (int r = 1; r <= 2; ++r) {
    const auto events = test::tsv_rows(bids / name(r, "events.tsv"));
    const auto record = out / "presentation" / name(r, "").substr(0, name(r, "").size() - 1);
    const auto flips = test::tsv_rows(record / "flips.tsv");
    const int64_t t0 = std::stoll(test::tsv_rows(record / "triggers.tsv").at(1).at(1));
    REQUIRE(events.size() == 17);
    for (size_t i = 1; i < events.size(); ++i) {
      const double onset = std::stod(events[i][0]), planned = std::stod(events[i][4]);
      CHECK(std::abs(onset - planned) <= 1.0 / 60 + 0.005);
      CHECK(std::abs(std::stod(events[i][1]) - std::stod(events[i][5])) <= 1.0 / 60 + 0.002);
      for (size_t f = 1; f < flips.size(); ++f)
        if (flips[f][3] == std::to_string(i - 1)) {
          CHECK(std::abs(static_cast<double>(std::stoll(flips[f][1]) - t0) * 1e-9 - onset) < 1e-3);
          break;
        }
    }
  }

  // The online run, decoded by the decoder trained minutes before: above chance (200 permutations of the TRs).
  const NpyArray pred = read_npy(out / "sub-01_task-faces_run-01_bold/latents.npy");
  const NpyArray lat = read_npy(d / "twin/stimuli/latents.npy");
  const Eigen::MatrixXf latents = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      lat.data.data(), lat.shape[0], 512);
  const int T = static_cast<int>(pred.shape[0]);
  REQUIRE(T == 62);
  const TrTargets target = tr_targets(read_events(func / "sub-01_task-faces_run-01_events.tsv"), latents, T, tr, -1);
  std::vector<int> order(static_cast<size_t>(T));
  for (int t = 0; t < T; ++t) order[static_cast<size_t>(t)] = t;
  const double observed = mean_r(pred, target, order);
  std::mt19937 rng(7);
  int above = 0;
  for (int k = 0; k < 200; ++k) {
    std::shuffle(order.begin(), order.end(), rng);
    above += mean_r(pred, target, order) >= observed;
  }
  const double p = (1.0 + above) / 201.0;
  MESSAGE("online run: mean per-TR correlation " << observed << ", permutation p " << p);
  CHECK(observed > 0);
  CHECK(p < 0.05);

  // A state file that forgets run 3 (its files still there): the session refuses to write over them.
  const std::string done = test::read_text(out / "session.json");
  const auto state = [&](const std::string& s3, const std::string& s4) {
    std::ofstream(out / "session.json") << R"({"runs": [{"status": "done"}, {"status": "done"}, {"status": ")" << s3
                                        << R"("}, {"status": ")" << s4 << R"("}], "decoder": "", "decoder_runs": 0})";
  };
  state("finished", "done");  // a hand-edited state's mistake is named
  CHECK(test::run(test::hyper_cmd({"session", plan.string(), "--out", out.string()}), d / "state.log") == 2);
  CHECK(test::read_text(d / "state.log").find("session.json: runs[2].status is \"finished\"") != std::string::npos);
  state("", "done");
  CHECK(test::run(test::hyper_cmd({"session", plan.string(), "--out", out.string()}), d / "overwrite.log") == 2);
  CHECK(test::read_text(d / "overwrite.log").find("run 3: " + (bids / name(3, "bold.json")).string() + " exists, but") !=
        std::string::npos);
  CHECK(fs::exists(bids / name(3, "bold.nii.gz")));
  // Killed after run 3 and before its decoder was saved: the resumed run 4 gets a decoder trained anew.
  state("done", "started");
  {
    test::Process session(test::hyper_cmd({"session", plan.string(), "--out", out.string()}), d / "session3.log");
    REQUIRE(wait_for(session, "run 4 of 4: feedback", 120s));
    session.signal(SIGINT);
    session.wait(30s);
    CHECK(session.output().find("training the decoder on the 2 training runs recorded so far") != std::string::npos);
  }
  CHECK(test::read_text(out / "session.json").find("after-run-03.safetensors") != std::string::npos);
  // --dry-run with a given decoder: its preprocessing is checked against the plan's.
  CHECK(test::run(test::hyper_cmd({"session", plan.string(), "--dry-run", "--decoder", (out / "decoders/after-run-02.safetensors").string(),
                                   "--set", R"(preprocess.chain=["mask","detrend"])"}),
                  d / "chain.log") == 2);
  CHECK(test::read_text(d / "chain.log").find("run 3: preprocess.chain = [\"mask\", \"detrend\"]") != std::string::npos);
  CHECK(done.find("after-run-02.safetensors") != std::string::npos);
}

TEST_CASE("configs/session.toml checks out against a twin, and a plan's mistakes stop the session before anything is shown") {
  test::TempDir d;
  REQUIRE(test::run(test::hyper_cmd({"simulate", "--out", (d / "twin").string(), "--preset", "small", "--log-level", "warn",
                                     "--set", "twin.runs=9", "--set", "twin.test_runs=3", "--set", "twin.trials_per_run=175"}),
                    d / "sim.log", 300s) == 0);
  const std::string example = std::string(HYPER_SOURCE_DIR) + "/configs/session.toml";
  // The example as written (its designs are relative to where it runs), on a headless screen.
  const auto dry = [&](std::vector<std::string> extra, const std::string& log) {
    std::vector<std::string> args = test::hyper_cmd({"session", example, "--dry-run", "--set", "display.driver=dummy", "--set",
                                                     "display.screen=0", "--set", "display.experimenter_screen=-1"});
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string cmd = "cd " + d.path().string() + " && exec " + [&] {
      std::string s;
      for (const auto& a : args) s += "'" + a + "' ";
      return s;
    }();
    return test::run({"/bin/sh", "-c", cmd}, d / log);
  };
  CHECK(dry({}, "ok.log") == 0);
  const std::string ok = test::read_text(d / "ok.log");
  INFO(ok);
  CHECK(ok.find("run 8: online") != std::string::npos);
  CHECK(ok.find("run 1: present: 175 faces (175 train) from sub-01_task-faces_run-04_events.tsv, 537 volumes (13:26)") != std::string::npos);
  CHECK(ok.find("dry run: the plan is sound") != std::string::npos);
  CHECK(ok.find(" of scanning") != std::string::npos);

  // A design longer than the run, a trigger port that does not open: exit 2, the key named.
  CHECK(dry({"--set", "session.run_volumes=400"}, "short.log") == 2);
  CHECK(test::read_text(d / "short.log").find("run 1: volumes: the design ends at 790.5 s, after the run's 400 volumes") != std::string::npos);
  CHECK(dry({"--set", "trigger.source=serial", "--set", "trigger.device=/dev/no-such-port"}, "port.log") == 2);
  CHECK(test::read_text(d / "port.log").find("trigger.device: cannot open /dev/no-such-port") != std::string::npos);
  CHECK(dry({"--set", "trigger.key=q"}, "key.log") == 2);
  CHECK(test::read_text(d / "key.log").find("trigger.key: 'q' is one of the window's own keys") != std::string::npos);
  // A missing design, an unknown run kind, feedback (not built), an online run with nothing to train on.
  const std::vector<std::pair<std::string, std::string>> plans{
      {"kind = \"present\"\ndesign = \"nope_events.tsv\"", "run 1: design: no such file"},
      {"kind = \"rest\"", "kind = \"rest\" is not a run kind"},
      {"kind = \"feedback\"", "run 1: protocol: a feedback run names its protocol"},
      {"kind = \"feedback\"\nprotocol = \"smile\"", "run 1: feedback.protocol: no protocol named 'smile' (there are reconstruction, target"},
      {"kind = \"present\"\ndesign = 5", "run 1: design: a string in quotes"},
      {"kind = \"online\"\nvolumes = \"300\"", "run 1: volumes: a whole number of volumes"},
      {"kind = \"online\"", "stream.decoder: run 1 decodes and no present run with training trials comes before it"},
      {"kind = \"present\"\ndesign = \"" + (d / "overlap_events.tsv").string() + "\"", "overlap_events.tsv: the events at 2 s and 3 s overlap"}};
  std::ofstream(d / "overlap_events.tsv") << "onset\tduration\ttrial_type\tstim_index\n2\t1.5\ttrain\t0\n3\t1.5\ttrain\t1\n";
  for (const auto& [run, message] : plans) {
    std::ofstream(d / "bad.toml") << "[present]\nlatents = \"" << (d / "twin/stimuli/latents.npy").string() << "\"\n[[run]]\n" << run << "\n";
    CHECK(test::run(test::hyper_cmd({"session", (d / "bad.toml").string(), "--out", (d / "bad").string()}), d / "bad.log") == 2);
    const std::string log = test::read_text(d / "bad.log");
    INFO(log);
    CHECK(log.find(message) != std::string::npos);
    CHECK(!fs::exists(d / "bad"));  // nothing recorded, nothing shown
  }
}

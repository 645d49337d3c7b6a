// `hyper simulate`: determinism, and the dataset checked against an independent Python
// reference of the twin's model (tests/integration/twin_reference.py, numpy + nibabel).
#include <doctest/doctest.h>

#include <algorithm>

#include "io/bids.hpp"
#include "io/nifti.hpp"
#include "stream_support.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Runs `hyper simulate --out DIR` with these settings; REQUIREs success.
void simulate(const fs::path& out, const std::vector<std::string>& sets, const std::string& preset = "small") {
  std::vector<std::string> args{test::hyper_binary().string(), "simulate", "--out", out.string(), "--preset", preset,
                                "--log-level", "warn"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  const auto log = out.string() + ".log";
  const int rc = test::run(args, log);
  INFO(test::read_text(log));
  REQUIRE(rc == 0);
}

// Runs the Python reference's checks on a dataset; each must print "<check>: OK".
void reference(const fs::path& dataset, const std::vector<std::string>& checks) {
  std::vector<std::string> args{test::python(), (test::source_dir() / "tests/integration/twin_reference.py").string(),
                                dataset.string()};
  args.insert(args.end(), checks.begin(), checks.end());
  const auto log = dataset.string() + ".reference.log";
  const int rc = test::run(args, log, 300s);
  const std::string out = test::read_text(log);
  INFO(out);
  CHECK(rc == 0);
  for (const auto& c : checks) CHECK(out.find(c + ": OK") != std::string::npos);
}

std::vector<std::pair<std::string, std::string>> files_of(const fs::path& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.emplace_back(fs::relative(e.path(), dir).string(), test::read_text(e.path()));
  std::sort(out.begin(), out.end());
  return out;
}

// A grid so small that the full nine-run design takes a second.
const std::vector<std::string> kTinyGrid{"twin.nx=16", "twin.ny=16", "twin.nz=8", "twin.voxel_mm=8"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("the same seed writes byte-identical files, another seed other data") {
  test::TempDir d;
  simulate(d / "a", {"twin.seed=5"});
  simulate(d / "b", {"twin.seed=5", "twin.threads=1"});  // thread count must not matter
  simulate(d / "c", {"twin.seed=6"});
  const auto a = files_of(d / "a"), b = files_of(d / "b"), c = files_of(d / "c");
  REQUIRE(a.size() == 20);  // with stimuli/attributes.tsv and its hidden direction
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second == b[i].second);
  }
  const auto bold = "sub-01/func/sub-01_task-faces_run-01_bold.nii.gz";
  auto find = [&](const auto& files) {
    return std::find_if(files.begin(), files.end(), [&](const auto& f) { return f.first == bold; })->second;
  };
  CHECK(find(a) != find(c));
}

TEST_CASE("the paper's design: 9 runs, 3 of test faces repeated, 6 of the 1050 training faces once") {
  test::TempDir d;
  simulate(d / "t", kTinyGrid, "default");
  reference(d / "t", {"events"});
  const auto runs = find_runs(d / "t");  // the dataset is valid BIDS for the rest of HYPER-RT
  REQUIRE(runs.size() == 9);
  CHECK(runs[0].sidecar_tr_s == 1.5);
  const NiftiInfo info = read_nifti_info(runs[4].path);
  CHECK(info.dims == std::array<int64_t, 4>{16, 16, 8, 537});
  CHECK(info.dtype == DType::Int16);
  CHECK(info.slope != 1.0);
}

TEST_CASE("a noise-free twin is baseline + drift + HRF-convolved latent responses, moved by the recorded motion") {
  test::TempDir d;
  simulate(d / "t", {"twin.noiseless=true", "twin.save_clean=true", "twin.dtype=float32"});
  reference(d / "t", {"signal", "motion"});
}

TEST_CASE("the motion recorded is the motion applied: the brain's centre and axes follow it") {
  test::TempDir d;
  simulate(d / "t", {"twin.noiseless=true", "twin.snr=0", "twin.drift_pct=0", "twin.dtype=float32", "twin.jerk_rate=0.05",
                     "twin.jerk_mm=0.5", "twin.jerk_deg=0.5", "twin.voxel_mm=3", "twin.nx=48", "twin.ny=48", "twin.nz=32"});
  reference(d / "t", {"moments"});
}

TEST_CASE("a GLM with the true HRF recovers a high-SNR voxel's encoding weights (r > 0.99)") {
  test::TempDir d;
  simulate(d / "t", with(kTinyGrid, {"twin.runs=6", "twin.test_runs=0", "twin.trials_per_run=175", "twin.snr=20",
                                     "twin.motion_step_mm=0", "twin.motion_step_deg=0", "twin.jerk_rate=0"}));
  reference(d / "t", {"glm"});
}

TEST_CASE("a twin replays into the receiver like any recorded dataset") {
  test::TempDir d;
  simulate(d / "t", {});
  const int port = test::free_tcp_port();
  test::TestReceiver receiver({.endpoint = test::loopback(port)});
  test::Process replay({test::hyper_binary().string(), "replay", "--input", (d / "t").string(), "--endpoint",
                        test::loopback(port), "--speed", "max"},
                       d / "replay.log");
  const auto c = test::collect(receiver.rx, 2);
  CHECK(replay.wait(60s) == 0);
  REQUIRE(c.summaries.size() == 2);
  for (const auto& s : c.summaries) {
    CHECK(s.complete());
    CHECK(s.received == 72);
  }
  CHECK(c.volumes.front()->volume.dims == std::array<int64_t, 3>{32, 32, 16});
}

TEST_CASE("bad twin settings are refused before anything is written") {
  test::TempDir d;
  CHECK(test::run({test::hyper_binary().string(), "simulate", "--out", (d / "x").string(), "--preset", "small", "--set",
                   "twin.test_runs=5"},
                  d / "a.log") == 2);
  CHECK(test::read_text(d / "a.log").find("twin.test_runs (5) must not exceed twin.runs (2)") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "x"));
  CHECK(test::run({test::hyper_binary().string(), "simulate"}, d / "b.log") == 2);
  CHECK(test::read_text(d / "b.log").find("--out") != std::string::npos);
  CHECK(test::run({test::hyper_binary().string(), "simulate", "--out", (d / "y").string(), "--preset", "huge"},
                  d / "c.log") != 0);
}

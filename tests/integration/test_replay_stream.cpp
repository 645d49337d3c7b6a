// `hyper replay` (a child process) into the library's Receiver over tcp loopback.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include "io/npy.hpp"
#include "stream_support.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

// Every volume arrived once, in order, with nibabel's values bit for bit.
void check_run(const test::Collected& c, const std::filesystem::path& expected, int64_t first, int64_t count,
               size_t offset = 0) {
  const NpyArray ref = read_npy(expected);
  for (int64_t k = 0; k < count; ++k) {
    const Tr& tr = *c.volumes.at(offset + static_cast<size_t>(k));
    CHECK(tr.index == first + k);
    const float* r = ref.data.data() + tr.index * ref.shape[1];
    REQUIRE(tr.volume.data.size() == static_cast<size_t>(ref.shape[1]));
    CHECK(std::equal(tr.volume.data.begin(), tr.volume.data.end(), r));
    CHECK(tr.t.t_recv >= tr.t.t_sent);
  }
}

}  // namespace

TEST_CASE("replay --speed max delivers all 50 volumes bit-identical and in order, none lost at the start") {
  test::TempDir d;
  test::make_run(d / "run.nii.gz", {"--dims", "20", "24", "10", "50", "--dtype", "int16", "--expected",
                                    (d / "run.npy").string()});
  const int port = test::free_tcp_port();
  test::TestReceiver receiver({.endpoint = test::loopback(port)});
  Receiver& rx = receiver.rx;
  test::Process replay({test::hyper_binary().string(), "replay", "--input", (d / "run.nii.gz").string(),
                        "--endpoint", test::loopback(port), "--speed", "max"},
                       d / "replay.log");
  const auto c = test::collect(rx, 1);
  CHECK(replay.wait(30s) == 0);
  INFO(replay.output());
  REQUIRE(c.summaries.size() == 1);
  REQUIRE(c.volumes.size() == 50);
  check_run(c, d / "run.npy", 0, 50);
  const RunSummary& s = c.summaries[0];
  CHECK(s.run == "run");
  CHECK(s.complete());
  CHECK(s.received == 50);
  CHECK(s.volumes_sent == 50);
  CHECK(s.ended_by == RunEndCause::RunEnd);
  CHECK(s.latency_ms.n == 50);
  const Tr& first = *c.volumes.front();
  CHECK(first.tr_s == doctest::Approx(1.5));
  CHECK(first.n_volumes == 50);
  CHECK(first.volume.dims == std::array<int64_t, 3>{20, 24, 10});
  CHECK(first.volume.voxel_mm == std::array<double, 3>{3, 3, 3.5});
  CHECK(first.volume.affine[3] == doctest::Approx(90));
}

TEST_CASE("replay waits for a subscriber that joins late") {
  test::TempDir d;
  test::make_run(d / "run.nii", {"--dims", "8", "8", "6", "30", "--dtype", "float32", "--expected",
                                 (d / "run.npy").string()});
  const int port = test::free_tcp_port();
  test::Process replay({test::hyper_binary().string(), "replay", "--input", (d / "run.nii").string(),
                        "--endpoint", test::loopback(port), "--speed", "max"},
                       d / "replay.log");
  std::this_thread::sleep_for(1500ms);  // replay is bound and waiting by now
  test::TestReceiver receiver({.endpoint = test::loopback(port)});
  Receiver& rx = receiver.rx;
  const auto c = test::collect(rx, 1);
  CHECK(replay.wait(30s) == 0);
  REQUIRE(c.volumes.size() == 30);
  check_run(c, d / "run.npy", 0, 30);
  REQUIRE(c.summaries.size() == 1);
  CHECK(c.summaries[0].complete());
}

TEST_CASE("a BIDS dataset replays run after run, with --start and --count") {
  test::TempDir d;
  const auto func = d / "sub-01/func";
  std::filesystem::create_directories(func);
  for (const char* r : {"01", "02"})
    test::make_run(func / (std::string("sub-01_task-faces_run-") + r + "_bold.nii.gz"),
                   {"--dims", "6", "6", "4", "40", "--dtype", "uint16", "--seed", r, "--expected",
                    (d / (std::string(r) + ".npy")).string()});
  const int port = test::free_tcp_port();
  test::TestReceiver receiver({.endpoint = test::loopback(port)});
  Receiver& rx = receiver.rx;
  test::Process replay({test::hyper_binary().string(), "replay", "--input", d.path().string(), "--endpoint",
                        test::loopback(port), "--speed", "max", "--start", "5", "--count", "10"},
                       d / "replay.log");
  const auto c = test::collect(rx, 2);
  CHECK(replay.wait(30s) == 0);
  REQUIRE(c.summaries.size() == 2);
  REQUIRE(c.volumes.size() == 20);
  CHECK(c.starts.at(0).first_index == 5);
  CHECK(c.starts.at(0).count == 10);
  check_run(c, d / "01.npy", 5, 10, 0);
  check_run(c, d / "02.npy", 5, 10, 10);
  CHECK(c.summaries[0].run == "sub-01_task-faces_run-01_bold");
  CHECK(c.summaries[1].run == "sub-01_task-faces_run-02_bold");
  CHECK(c.summaries[0].complete());
  CHECK(c.summaries[1].complete());
}

TEST_CASE("pacing follows absolute deadlines: the run takes (n-1) TR / speed, not more") {
  test::TempDir d;
  test::make_run(d / "run.nii.gz", {"--dims", "8", "8", "4", "21"});
  const int port = test::free_tcp_port();
  test::TestReceiver receiver({.endpoint = test::loopback(port)});
  Receiver& rx = receiver.rx;
  // TR 1 s at speed 20: a volume every 50 ms, 20 intervals = 1.0 s.
  test::Process replay({test::hyper_binary().string(), "replay", "--input", (d / "run.nii.gz").string(),
                        "--endpoint", test::loopback(port), "--tr", "1", "--speed", "20"},
                       d / "replay.log");
  const auto c = test::collect(rx, 1);
  CHECK(replay.wait(30s) == 0);
  REQUIRE(c.volumes.size() == 21);
  CHECK(c.volumes[0]->tr_s == 1.0);  // --tr overrides the header's 1.5
  const double span_ms = static_cast<double>(c.volumes.back()->t.t_sent - c.volumes.front()->t.t_sent) * 1e-6;
  // Deadlines never fire early; a stall is caught up on the next deadline, so the
  // span stays near 1000 ms even on a busy machine (generous upper bound for CI).
  CHECK(span_ms >= 995.0);
  CHECK(span_ms <= 1300.0);
  for (size_t k = 1; k < c.volumes.size(); ++k) {
    const double since_first = static_cast<double>(c.volumes[k]->t.t_sent - c.volumes[0]->t.t_sent) * 1e-6;
    CHECK(since_first >= 50.0 * static_cast<double>(k) - 5.0);  // never ahead of its deadline
  }
}

TEST_CASE("--loop replays the runs again under new run ids until interrupted") {
  test::TempDir d;
  test::make_run(d / "r.nii", {"--dims", "4", "4", "4", "5"});
  const int port = test::free_tcp_port();
  test::TestReceiver receiver({.endpoint = test::loopback(port)});
  test::Process replay({test::hyper_binary().string(), "replay", "--input", (d / "r.nii").string(), "--endpoint",
                        test::loopback(port), "--tr", "0.01", "--loop"},
                       d / "replay.log");
  const auto c = test::collect(receiver.rx, 3);
  replay.signal(SIGINT);
  CHECK(replay.wait(10s) == 130);
  REQUIRE(c.summaries.size() == 3);
  CHECK(c.summaries[0].run == "r");
  CHECK(c.summaries[1].run == "r.rep2");
  CHECK(c.summaries[2].run == "r.rep3");
  for (const auto& s : c.summaries) CHECK(s.complete());
}

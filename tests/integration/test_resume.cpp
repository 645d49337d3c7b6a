// Resume after a crash (README, "Resume after a crash"): `hyper stream` killed with SIGKILL
// mid-run and started again with the same --out continues the same record, its stages'
// state rebuilt from the BOLD recording or from what the publisher resends, and the run's
// latents equal those of an uninterrupted run.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include <nlohmann/json.hpp>

#include "io/bids.hpp"
#include "io/npy.hpp"
#include "io/tsv.hpp"
#include "net/publisher.hpp"
#include "net/replayer.hpp"
#include "stream_support.hpp"
#include "support.hpp"
#include "twin_support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  test::TempDir d;
  RunFile file = test::small_twin(d);
  NiftiRun nifti = read_nifti(file.path);
  int64_t n = std::min<int64_t>(read_nifti_info(file.path).dims[3], 80);
  std::filesystem::path decoder = d / "dec.safetensors";
  Fixture() { test::random_decoder_file(file, R"(["realign", "mask", "detrend", "zscore"])", decoder); }

  std::unique_ptr<test::Process> stream(int port, const std::string& out, std::vector<std::string> extra = {}) {
    auto args = test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--runs", "1", "--decoder", decoder.string(), "--out",
                                 (d / out).string(), "--log-level", "info"});
    args.insert(args.end(), extra.begin(), extra.end());
    static int started = 0;
    return std::make_unique<test::Process>(args, d / (out + "." + std::to_string(++started) + ".log"));
  }

  void send(Publisher& pub, int64_t from, int64_t to) {
    VolumeHeader h = volume_header(nifti.info, "r1", 1.5);
    h.dtype = DType::Float32;
    h.scl_slope = 1;
    h.scl_inter = 0;
    for (int64_t k = from; k < to; ++k) {
      std::vector<float> v = nifti.volume(k).data;
      h.index = k;
      h.n_volumes = n;
      REQUIRE(pub.send_volume(h, std::as_bytes(std::span(v))));
      std::this_thread::sleep_for(5ms);
    }
  }

  // SIGKILL, then wait until the publisher has seen the subscriber leave.
  void kill(test::Process& p, Publisher& pub) {
    p.signal(SIGKILL);
    p.wait(10s);
    for (int i = 0; i < 100 && pub.wait_for_subscribers(1, 0ms) > 0; ++i) std::this_thread::sleep_for(50ms);
    REQUIRE(pub.wait_for_subscribers(1, 0ms) == 0);
  }

  // Waits until the record has `lines` volumes in tr.tsv.
  void wait_recorded(const std::string& out, int64_t lines) {
    const auto tsv = d / out / "r1" / "tr.tsv";
    for (int i = 0; i < 600; ++i) {
      if (std::filesystem::exists(tsv) && static_cast<int64_t>(read_tsv_column(tsv, "index").size()) >= lines) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL("the stream did not record " << lines << " volumes in " << tsv.string());
  }

  // The record in `out` holds every volume once, in order, and latents equal `ref`'s.
  nlohmann::json check_against(const std::string& out, const std::string& ref) {
    const auto index = read_tsv_column(d / out / "r1" / "tr.tsv", "index");
    REQUIRE(static_cast<int64_t>(index.size()) == n);
    for (int64_t k = 0; k < n; ++k) REQUIRE(index[static_cast<size_t>(k)] == k);
    const NpyArray a = read_npy(d / out / "r1" / "latents.npy"), b = read_npy(d / ref / "r1" / "latents.npy");
    REQUIRE(a.shape == b.shape);
    REQUIRE(a.shape[0] == n);
    double worst = 0;
    for (size_t i = 0; i < a.data.size(); ++i) worst = std::max(worst, std::abs(double(a.data[i]) - double(b.data[i])));
    CHECK(worst < 1e-5);
    return nlohmann::json::parse(test::read_text(d / out / "r1" / "summary.json"));
  }
};

}  // namespace

TEST_CASE("a stream killed mid-run (SIGKILL) and started again with the same --out continues the run, its latents as if never stopped") {
  Fixture f;
  zmq::context_t ctx(1);
  const int64_t m = 30;  // volumes recorded before the kill
  {
    INFO("the uninterrupted run");
    const int port = test::free_tcp_port();
    auto s = f.stream(port, "ref");
    Publisher pub(ctx, test::loopback(port));
    REQUIRE(pub.wait_for_subscribers(1, 30s) == 1);
    REQUIRE(pub.send_control({.type = ControlType::RunStart, .run = "r1", .count = f.n, .tr_s = 1.5}));
    f.send(pub, 0, f.n);
    REQUIRE(pub.send_control({.type = ControlType::RunEnd, .run = "r1", .volumes_sent = f.n}));
    INFO(s->output());
    REQUIRE(s->wait(120s) == 0);
  }

  SUBCASE("the state rebuilt from the BOLD recording (a publisher without resend, paused while the stream was down)") {
    const int port = test::free_tcp_port();
    Publisher pub(ctx, test::loopback(port), {.resend_endpoint = "off"});
    auto first = f.stream(port, "bold");
    REQUIRE(pub.wait_for_subscribers(1, 30s) == 1);
    REQUIRE(pub.send_control({.type = ControlType::RunStart, .run = "r1", .count = f.n, .tr_s = 1.5}));
    f.send(pub, 0, m);
    f.wait_recorded("bold", m);
    f.kill(*first, pub);
    auto second = f.stream(port, "bold");
    REQUIRE(pub.wait_for_subscribers(1, 30s) == 1);
    std::this_thread::sleep_for(200ms);
    f.send(pub, m, f.n);
    REQUIRE(pub.send_control({.type = ControlType::RunEnd, .run = "r1", .volumes_sent = f.n}));
    INFO(second->output());
    REQUIRE(second->wait(120s) == 0);
    CHECK(second->output().find("resuming its unfinished record") != std::string::npos);
    const auto summary = f.check_against("bold", "ref");
    CHECK(summary["resumed_after"] == m - 1);
    CHECK(summary["rebuilt"] == m);
    CHECK(summary["missing"] == 0);  // the receiver missed 0..m-1, the record has them
    CHECK(summary["complete"] == true);
    CHECK_FALSE(std::filesystem::exists(f.d / "bold" / "r1.2"));
    // The BOLD recording goes on in the same file: every volume, as sent.
    const auto bold = find_runs(f.d / "bold").at(0);
    const NiftiRun rec = read_nifti(bold.path);
    REQUIRE(rec.info.dims[3] == f.n);
    CHECK(rec.volume(m + 3).data == f.nifti.volume(m + 3).data);
  }

  SUBCASE("a publisher killed mid-run and started again sends the run from its start: one record, every volume once") {
    const int port = test::free_tcp_port();
    auto s = f.stream(port, "restart");
    {
      zmq::context_t own(1);  // closed with the block: the port is free again for the second sender
      Publisher first(own, test::loopback(port));
      REQUIRE(first.wait_for_subscribers(1, 30s) == 1);
      REQUIRE(first.send_control({.type = ControlType::RunStart, .run = "r1", .count = f.n, .tr_s = 1.5}));
      f.send(first, 0, m);
      f.wait_recorded("restart", m);
    }  // gone mid-run: its sockets closed, no run_end
    Publisher second(ctx, test::loopback(port));
    REQUIRE(second.wait_for_subscribers(1, 30s) == 1);
    std::this_thread::sleep_for(200ms);
    REQUIRE(second.send_control({.type = ControlType::RunStart, .run = "r1", .count = f.n, .tr_s = 1.5}));
    f.send(second, 0, f.n);
    REQUIRE(second.send_control({.type = ControlType::RunEnd, .run = "r1", .volumes_sent = f.n}));
    INFO(s->output());
    REQUIRE(s->wait(120s) == 0);
    const auto summary = f.check_against("restart", "ref");  // latents equal the uninterrupted run's
    CHECK(summary["duplicates"] == m);                         // what the first sender had delivered, dropped
    CHECK(summary["missing"] == 0);
    CHECK(summary["complete"] == true);
    CHECK_FALSE(std::filesystem::exists(f.d / "restart" / "r1.2"));
  }

  SUBCASE("the state rebuilt from what the publisher resends (no BOLD recording, volumes sent while the stream was down)") {
    const int port = test::free_tcp_port();
    Publisher pub(ctx, test::loopback(port));
    auto first = f.stream(port, "resend", {"--set", "bold.enabled=false"});
    REQUIRE(pub.wait_for_subscribers(1, 30s) == 1);
    REQUIRE(pub.send_control({.type = ControlType::RunStart, .run = "r1", .count = f.n, .tr_s = 1.5}));
    f.send(pub, 0, m);
    f.wait_recorded("resend", m);
    f.kill(*first, pub);
    f.send(pub, m, m + 10);  // nobody listens: only the publisher keeps them
    auto second = f.stream(port, "resend", {"--set", "bold.enabled=false"});
    REQUIRE(pub.wait_for_subscribers(1, 30s) == 1);
    std::this_thread::sleep_for(200ms);
    f.send(pub, m + 10, f.n);
    REQUIRE(pub.send_control({.type = ControlType::RunEnd, .run = "r1", .volumes_sent = f.n}));
    INFO(second->output());
    REQUIRE(second->wait(120s) == 0);
    const auto summary = f.check_against("resend", "ref");
    CHECK(summary["resumed_after"] == m - 1);
    CHECK(summary["rebuilt"] == m);
    CHECK(summary["recovered"] == m + 10);
    CHECK(summary["missing"] == 0);
  }
}

TEST_CASE("a disk that fills up mid-run stops the BOLD recording with an error, and the run is still processed and recorded") {
  Fixture f;
  // The file size limit makes a write fail as a full disk does (EFBIG, SIGXFSZ ignored); 400 KiB
  // holds tr.tsv and latents.npy but not the run's raw volumes.
  std::string cmd = "trap '' XFSZ; ulimit -f 400; exec";
  for (const auto& a : test::hyper_cmd({"stream", "--runs", "1", "--decoder", f.decoder.string(), "--out", (f.d / "full").string()}))
    cmd += " '" + a + "'";
  const int port = test::free_tcp_port();
  cmd += " --endpoint " + test::loopback(port);
  test::Process s({"/bin/bash", "-c", cmd}, f.d / "full.log");
  zmq::context_t ctx(1);
  Publisher pub(ctx, test::loopback(port));
  REQUIRE(pub.wait_for_subscribers(1, 30s) == 1);
  REQUIRE(pub.send_control({.type = ControlType::RunStart, .run = "r1", .count = f.n, .tr_s = 1.5}));
  f.send(pub, 0, f.n);
  REQUIRE(pub.send_control({.type = ControlType::RunEnd, .run = "r1", .volumes_sent = f.n}));
  INFO(s.output());
  REQUIRE(s.wait(120s) == 0);
  CHECK(s.output().find("BOLD recording stopped") != std::string::npos);
  CHECK(read_tsv_column(f.d / "full" / "r1" / "tr.tsv", "index").size() == static_cast<size_t>(f.n));
  CHECK(read_npy(f.d / "full" / "r1" / "latents.npy").shape[0] == f.n);
  const auto summary = nlohmann::json::parse(test::read_text(f.d / "full" / "r1" / "summary.json"));
  CHECK(summary["processed"] == f.n);
}

// Real scanner inputs (README, "At the scanner: getting volumes in"): Pyneal Scanner's
// protocol spoken by a client written from its documentation (pyneal_scanner_client.py).
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "builtin.hpp"
#include "core/registry.hpp"
#include "core/session.hpp"
#include "io/nifti.hpp"
#include "io/npy.hpp"
#include "stream_support.hpp"
#include "support.hpp"
#include "twin_support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

struct Received {
  std::map<std::string, std::vector<const Tr*>> by_run;
  std::vector<std::unique_ptr<Tr>> trs;
  std::vector<RunEnd> ends;
  std::vector<std::string> order;  // "RUN INDEX" in arrival order
};

class KeepSink : public Sink {
 public:
  explicit KeepSink(Received& r) : r_(r) {}
  void on_tr(const Tr& tr) override {
    r_.trs.push_back(std::make_unique<Tr>(tr));
    r_.by_run[tr.run].push_back(r_.trs.back().get());
    r_.order.push_back(tr.run + " " + std::to_string(tr.index));
  }
  void on_run_end(const RunEnd& e) override { r_.ends.push_back(e); }

 private:
  Received& r_;
};

// Every volume of `run` equals the client's record of what it sent, and carries the file's affine.
void check_volumes(const std::vector<const Tr*>& got, const std::filesystem::path& sent_npy, const NiftiInfo& info) {
  const NpyArray sent = read_npy(sent_npy);
  REQUIRE(static_cast<int64_t>(got.size()) == sent.shape[0]);
  for (size_t k = 0; k < got.size(); ++k) {
    CAPTURE(k);
    CHECK(got[k]->index == static_cast<int64_t>(k));
    REQUIRE(static_cast<int64_t>(got[k]->volume.data.size()) == sent.shape[1]);
    double worst = 0;
    for (size_t i = 0; i < got[k]->volume.data.size(); ++i) {
      const double want = sent.data[k * static_cast<size_t>(sent.shape[1]) + i];
      worst = std::max(worst, std::fabs(got[k]->volume.data[i] - want) / std::max(1.0, std::fabs(want)));
    }
    CHECK(worst < 1e-6);
    for (size_t i = 0; i < 16; ++i) CHECK(got[k]->volume.affine[i] == doctest::Approx(info.affine[i]).epsilon(1e-6));
    CHECK(got[k]->volume.dims == std::array<int64_t, 3>{info.dims[0], info.dims[1], info.dims[2]});
  }
}

}  // namespace

TEST_CASE("Pyneal Scanner's protocol: hello echoed, every volume in order and exact, bad messages answered and counted, a second session") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  const NiftiInfo info = read_nifti_info(file.path);
  const int port = test::free_tcp_port();

  PartRegistry parts;
  register_builtin_parts(parts);
  Schema schema;
  parts.declare(schema);
  Settings st(schema);
  st.apply_assignment("stream.endpoint=" + test::loopback(port));
  st.apply_assignment("stream.tr=1.5");
  st.apply_assignment("stream.run_id=pyn");
  st.apply_assignment("stream.run_timeout=1");
  Chain chain(parts, st);  // empty: the volumes as received
  Session session(chain, {.max_runs = 2});
  Received r;
  session.add(std::make_shared<KeepSink>(r));
  const auto source = parts.source("pyneal").make(st);
  std::thread loop([&] { session.run(*source); });

  const std::string client = (test::source_dir() / "tests/integration/pyneal_scanner_client.py").string();
  // Session 1: float64 (Siemens, GE), the TR in ms (as the simulator sends it), malformed
  // messages before the third volume, volumes 6 and 5 swapped.
  CHECK(test::run({test::python(), client, test::loopback(port), file.path.string(), (d / "sent1.npy").string(), "--count", "12",
                   "--bad", "--swap", "5", "--tr-field", "1500"},
                  d / "client1.log", 60s) == 0);
  // Session 2 on the same socket: uint16 (Philips), another hello text; its run ends by time-out.
  CHECK(test::run({test::python(), client, test::loopback(port), file.path.string(), (d / "sent2.npy").string(), "--count", "6",
                   "--dtype", "uint16", "--hello", "hello from pyneal_scanner sim", "--tr-field", "1.5"},
                  d / "client2.log", 60s) == 0);
  loop.join();
  const std::string clients = test::read_text(d / "client1.log") + test::read_text(d / "client2.log");
  INFO(clients);

  REQUIRE(r.by_run.count("pyn") == 1);
  REQUIRE(r.by_run.count("pyn.2") == 1);  // the run id given again: recorded apart
  check_volumes(r.by_run["pyn"], d / "sent1.npy", info);
  check_volumes(r.by_run["pyn.2"], d / "sent2.npy", info);
  REQUIRE(r.ends.size() == 2);
  CHECK(r.ends[0].ended_by == "new_session");
  CHECK(r.ends[0].received == 12);
  CHECK(r.ends[0].dropped == 5);
  const auto s1 = nlohmann::json::parse(r.ends[0].summary_json);
  CHECK(s1["reordered"] == 1);
  for (const char* reason : {"frames", "bad_json", "size", "dtype", "field_missing"}) CHECK(s1["dropped"][reason] == 1);
  CHECK(s1["complete"] == false);  // five messages could not be read
  CHECK(r.ends[1].ended_by == "timeout");
  CHECK(r.ends[1].received == 6);
  CHECK(r.ends[1].dropped == 0);
}

TEST_CASE("hyper stream --protocol pyneal --tr: the run record of a Pyneal session, STOP after --run-volumes, and its settings errors") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  const int port = test::free_tcp_port();
  test::Process stream(test::hyper_cmd({"stream", "--protocol", "pyneal", "--endpoint", test::loopback(port), "--tr", "1.5",
                                        "--run-volumes", "8", "--run-id", "scan01", "--out", (d / "out").string(), "--runs", "1"}),
                       d / "stream.log");
  // The client stops when told (STOP after volume 7) although the file has more.
  CHECK(test::run({test::python(), (test::source_dir() / "tests/integration/pyneal_scanner_client.py").string(), test::loopback(port),
                   file.path.string(), (d / "sent.npy").string(), "--tr-field", "2.0"},
                  d / "client.log", 60s) == 0);
  CHECK(stream.wait(60s) == 0);
  const std::string log = test::read_text(d / "stream.log");
  INFO(log);
  CHECK(read_npy(d / "sent.npy").shape[0] == 8);
  const auto s = nlohmann::json::parse(test::read_text(d / "out/scan01/summary.json"));
  CHECK(s["received"] == 8);
  CHECK(s["complete"] == true);
  CHECK(log.find("the sender's TR is '2.0', stream.tr is 1.5 s") != std::string::npos);

  CHECK(test::run(test::hyper_cmd({"stream", "--protocol", "pyneal", "--endpoint", test::loopback(port)}), d / "notr.log") == 2);
  CHECK(test::read_text(d / "notr.log").find("give the TR with --tr SECONDS") != std::string::npos);
  CHECK(test::run(test::hyper_cmd({"stream", "--protocol", "pyneal", "--endpoint", "tcp://0.0.0.0:" + std::to_string(port), "--tr", "1.5"}),
                  d / "remote.log") == 2);
  CHECK(test::read_text(d / "remote.log").find("pass --allow-remote") != std::string::npos);
}

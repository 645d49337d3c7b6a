// Recovery of missing volumes (hyper/1.1, README "Recovery of missing volumes"): a proxy
// between the publisher and the receiver loses, duplicates and reorders volumes, a receiver
// joins late, the run's last volumes are lost; the receiver asks the publisher's resend
// endpoint and delivers every volume, in order, with the bytes that were sent.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>
#include <zmq_addon.hpp>

#include "net/publisher.hpp"
#include "net/resend.hpp"
#include "stream_support.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kVoxels = 4 * 4 * 3;

std::vector<float> volume_values(int64_t index) {
  std::vector<float> v(kVoxels);
  for (int64_t i = 0; i < kVoxels; ++i) v[static_cast<size_t>(i)] = static_cast<float>(index * 1000 + i);
  return v;
}

VolumeHeader header(const std::string& run, int64_t index, int64_t n) {
  VolumeHeader h;
  h.run = run;
  h.index = index;
  h.n_volumes = n;
  h.tr_s = 2.0;
  h.dims = {4, 4, 3};
  return h;
}

void send_run(Publisher& pub, const std::string& run, int64_t n, int64_t from = 0, int64_t to = -1, bool start = true, bool end = true) {
  if (start) REQUIRE(pub.send_control({.type = ControlType::RunStart, .run = run, .count = n, .tr_s = 2.0}));
  for (int64_t k = from; k < (to < 0 ? n : to); ++k) {
    auto v = volume_values(k);
    VolumeHeader h = header(run, k, n);
    REQUIRE(pub.send_volume(h, std::as_bytes(std::span(v))));
    std::this_thread::sleep_for(2ms);
  }
  if (end) REQUIRE(pub.send_control({.type = ControlType::RunEnd, .run = run, .volumes_sent = n}));
}

// Forwards the publisher's messages to its own subscribers, deciding for each volume index
// what happens to it: 0 passes, 1 is lost, 2 is sent twice, 3 waits and goes after the next.
class FaultProxy {
 public:
  FaultProxy(const std::string& upstream, std::function<int(int64_t)> fate) : fate_(std::move(fate)) {
    in_.set(zmq::sockopt::subscribe, "");
    in_.connect(upstream);
    out_.bind("tcp://127.0.0.1:*");
    endpoint_ = out_.get(zmq::sockopt::last_endpoint);
    thread_ = std::jthread([this](std::stop_token st) { loop(st); });
  }
  const std::string& endpoint() const { return endpoint_; }
  int64_t lost() const { return lost_.load(); }

 private:
  void loop(std::stop_token st) {
    std::vector<zmq::message_t> held;
    while (!st.stop_requested()) {
      zmq::message_t sub;
      while (out_.recv(sub, zmq::recv_flags::dontwait)) {}  // subscriptions: XPUB wants them read
      std::vector<zmq::message_t> m;
      zmq::pollitem_t item{in_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 20ms);
      if (!zmq::recv_multipart(in_, std::back_inserter(m), zmq::recv_flags::dontwait)) continue;
      int fate = 0;
      if (m.size() == 3) {
        const auto j = nlohmann::json::parse(m[1].to_string_view());
        fate = fate_(j["index"].get<int64_t>());
      }
      if (fate == 1) {
        ++lost_;
        continue;
      }
      if (fate == 3) {
        held = std::move(m);
        continue;
      }
      if (fate == 2) send(copy(m));
      send(std::move(m));
      if (!held.empty()) send(std::move(held));
      held.clear();
    }
  }
  static std::vector<zmq::message_t> copy(const std::vector<zmq::message_t>& m) {
    std::vector<zmq::message_t> c;
    for (const auto& f : m) c.emplace_back(f.data(), f.size());
    return c;
  }
  void send(std::vector<zmq::message_t> m) { zmq::send_multipart(out_, m); }

  zmq::context_t ctx_{1};
  zmq::socket_t in_{ctx_, zmq::socket_type::sub}, out_{ctx_, zmq::socket_type::xpub};
  std::string endpoint_;
  std::function<int(int64_t)> fate_;
  std::atomic<int64_t> lost_{0};
  std::jthread thread_;
};

void check_every_volume(const test::Collected& c, int64_t n) {
  REQUIRE(c.volumes.size() == static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    INFO("volume " << k);
    REQUIRE(c.volumes[static_cast<size_t>(k)]->index == k);
    CHECK(c.volumes[static_cast<size_t>(k)]->volume.data == volume_values(k));
  }
}

}  // namespace

TEST_CASE("volumes lost, duplicated and reordered between publisher and stream are all delivered, in order") {
  zmq::context_t ctx(1);
  Publisher pub(ctx, test::loopback(test::free_tcp_port()));
  // Every 10th volume lost (3, 13, ...), 5, 15, ... twice, 7 and 17, ... after the next one.
  FaultProxy proxy(pub.endpoint(), [](int64_t i) { return i % 10 == 3 ? 1 : i % 10 == 5 ? 2 : i % 10 == 7 ? 3 : 0; });
  REQUIRE(pub.wait_for_subscribers(1, 10s) == 1);
  test::TestReceiver r({.endpoint = proxy.endpoint()});
  std::this_thread::sleep_for(300ms);  // the receiver's subscription reaches the proxy
  send_run(pub, "r1", 60);
  const auto c = test::collect(r.rx, 1, 30s);
  REQUIRE(c.summaries.size() == 1);
  const RunSummary& s = c.summaries[0];
  INFO(format_summary(s));
  check_every_volume(c, 60);
  CHECK(proxy.lost() == 6);
  // The 6 lost ones; a reordered one asked for before its late original came also counts
  // (seen under ASan, where everything is slower): at most the 6 reordered more.
  CHECK(s.recovered >= 6);
  CHECK(s.recovered <= 12);
  CHECK(s.missing == 0);
  CHECK(s.complete());
  CHECK(pub.resent() >= 6);
  CHECK(s.ended_by == RunEndCause::RunEnd);
}

TEST_CASE("a stream that joins a run late gets its first volumes resent, and the run's last ones are asked for at its end") {
  zmq::context_t ctx(1);
  Publisher pub(ctx, test::loopback(test::free_tcp_port()));
  // The proxy loses the run's last two volumes: only run_end tells the receiver they exist.
  FaultProxy proxy(pub.endpoint(), [](int64_t i) { return i >= 38 ? 1 : 0; });
  REQUIRE(pub.wait_for_subscribers(1, 10s) == 1);
  send_run(pub, "late", 40, 0, 15, /*start=*/true, /*end=*/false);  // nobody listens to the proxy yet
  test::TestReceiver r({.endpoint = proxy.endpoint()});
  std::this_thread::sleep_for(300ms);
  send_run(pub, "late", 40, 15, 40, /*start=*/false, /*end=*/true);
  const auto c = test::collect(r.rx, 1, 30s);
  REQUIRE(c.summaries.size() == 1);
  INFO(format_summary(c.summaries[0]));
  check_every_volume(c, 40);
  CHECK(c.summaries[0].recovered == 15 + 2);
  CHECK(c.summaries[0].missing == 0);
}

TEST_CASE("what the publisher no longer has is answered resend_none and given up at once, and without resend a gap is missing") {
  zmq::context_t ctx(1);
  SUBCASE("kept volumes evicted") {
    // Room for about one volume: the late stream's request finds only the newest.
    Publisher pub(ctx, test::loopback(test::free_tcp_port()), {.resend_mb = 1e-4});
    REQUIRE(pub.wait_for_subscribers(0, 0s) == 0);
    send_run(pub, "gone", 30, 0, 10, true, false);
    test::TestReceiver r({.endpoint = pub.endpoint(), .resend_wait = 20s});
    REQUIRE(pub.wait_for_subscribers(1, 10s) == 1);
    std::this_thread::sleep_for(200ms);
    const auto t0 = std::chrono::steady_clock::now();
    send_run(pub, "gone", 30, 10, 30, false, true);
    const auto c = test::collect(r.rx, 1, 30s);
    REQUIRE(c.summaries.size() == 1);
    INFO(format_summary(c.summaries[0]));
    CHECK(c.volumes.size() == 20);
    CHECK(c.summaries[0].missing == 10);
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);  // not the 20 s resend_wait
  }
  SUBCASE("resending off at the publisher") {
    Publisher pub(ctx, test::loopback(test::free_tcp_port()), {.resend_endpoint = "off"});
    FaultProxy proxy(pub.endpoint(), [](int64_t i) { return i == 4 ? 1 : 0; });
    REQUIRE(pub.wait_for_subscribers(1, 10s) == 1);
    test::TestReceiver r({.endpoint = proxy.endpoint()});
    std::this_thread::sleep_for(300ms);
    send_run(pub, "plain", 10);
    const auto c = test::collect(r.rx, 1, 30s);
    REQUIRE(c.summaries.size() == 1);
    CHECK(c.volumes.size() == 9);
    CHECK(c.summaries[0].missing == 1);
    CHECK(c.summaries[0].recovered == 0);
    REQUIRE(c.summaries[0].gaps.size() == 1);
    CHECK(c.summaries[0].gaps[0] == std::pair<int64_t, int64_t>{4, 4});
  }
}

TEST_CASE("the resend endpoint answers only well-formed requests and survives garbage") {
  zmq::context_t ctx(1);
  Publisher pub(ctx, test::loopback(test::free_tcp_port()));
  send_run(pub, "r", 5);
  zmq::socket_t d(ctx, zmq::socket_type::dealer);
  d.set(zmq::sockopt::linger, 0);
  d.set(zmq::sockopt::rcvtimeo, 3000);
  d.connect(pub.resend_endpoint());
  auto ask = [&](std::vector<std::string> parts) {
    std::vector<zmq::const_buffer> b;
    for (const auto& p : parts) b.push_back(zmq::buffer(p));
    zmq::send_multipart(d, b);
  };
  ask({"resend"});                                             // one frame short
  ask({"resend", "not json"});                                 // not JSON
  ask({"resend", R"({"protocol":"hyper/1.1","run":"r","from":3,"to":1})"});       // to before from
  ask({"resend", R"({"protocol":"hyper/1.1","run":"r","from":0,"to":99999999})"});  // beyond the span allowed
  ask({"resend", R"({"protocol":"hyper/1.1","run":"r","from":2,"to":6})"});       // 2-4 exist, 5-6 do not
  std::vector<zmq::message_t> m;
  for (int64_t k = 2; k <= 4; ++k) {
    m.clear();
    REQUIRE(zmq::recv_multipart(d, std::back_inserter(m)));
    REQUIRE(m.size() == 3);
    const auto j = nlohmann::json::parse(m[1].to_string_view());
    CHECK(j["index"] == k);
    CHECK(j["protocol"] == "hyper/1.1");
    const auto v = volume_values(k);
    REQUIRE(m[2].size() == v.size() * sizeof(float));
    CHECK(std::memcmp(m[2].data(), v.data(), m[2].size()) == 0);
  }
  m.clear();
  REQUIRE(zmq::recv_multipart(d, std::back_inserter(m)));
  REQUIRE(m.size() == 2);
  const auto none = nlohmann::json::parse(m[1].to_string_view());
  CHECK(none["type"] == "resend_none");
  CHECK(none["from"] == 5);
  CHECK(none["to"] == 6);
}

TEST_CASE("the resend store keeps a run in memory, spills the oldest to its spool, and forgets the run at the next run_start") {
  test::TempDir d;
  ResendStore store(3 * kVoxels * sizeof(float), d / "spool");
  store.begin_run("a");
  std::vector<std::shared_ptr<std::vector<float>>> kept;
  for (int64_t k = 0; k < 10; ++k) {
    auto v = std::make_shared<std::vector<float>>(volume_values(k));
    kept.push_back(v);
    store.keep("a", k, {"header " + std::to_string(k), v, std::as_bytes(std::span(*v))});
  }
  CHECK(store.spilled() == 7);
  for (int64_t k = 0; k < 10; ++k) {
    INFO("volume " << k);
    const auto got = store.find("a", k);
    REQUIRE(got);
    CHECK(got->header == "header " + std::to_string(k));
    REQUIRE(got->payload.size() == kVoxels * sizeof(float));
    CHECK(std::memcmp(got->payload.data(), volume_values(k).data(), got->payload.size()) == 0);
  }
  CHECK_FALSE(store.find("b", 0));
  store.begin_run("b");
  CHECK_FALSE(store.find("a", 0));
  CHECK(std::filesystem::is_empty(d / "spool"));

  ResendStore forgetful(2 * kVoxels * sizeof(float), "");
  forgetful.begin_run("a");
  for (int64_t k = 0; k < 5; ++k)
    forgetful.keep("a", k, {"h", kept[static_cast<size_t>(k)], std::as_bytes(std::span(*kept[static_cast<size_t>(k)]))});
  CHECK_FALSE(forgetful.find("a", 2));
  CHECK(forgetful.find("a", 3));
  CHECK(forgetful.find("a", 4));
}

TEST_CASE("the resend endpoint a stream connects to: the announced port at the stream's host") {
  CHECK(resend_endpoint_for("tcp://10.0.0.5:5555", "tcp://0.0.0.0:40001") == "tcp://10.0.0.5:40001");
  CHECK(resend_endpoint_for("tcp://127.0.0.1:5555", "tcp://127.0.0.1:40001") == "tcp://127.0.0.1:40001");
  CHECK(resend_endpoint_for("tcp://10.0.0.5:5555", "ipc:///tmp/x.resend") == "");
  CHECK(resend_endpoint_for("tcp://10.0.0.5:5555", "tcp://evil:notaport") == "");
  CHECK(resend_endpoint_for("ipc:///tmp/x", "ipc:///tmp/x.resend") == "ipc:///tmp/x.resend");
  CHECK(resend_endpoint_beside("tcp://127.0.0.1:5555") == "tcp://127.0.0.1:*");
  CHECK(resend_endpoint_beside("ipc:///tmp/x") == "ipc:///tmp/x.resend");
}

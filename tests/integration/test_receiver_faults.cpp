// The receiver against a hostile or faulty publisher: a raw ZeroMQ socket in the test
// sends malformed messages, gaps, duplicates, and goes silent.
#include <doctest/doctest.h>

#include <thread>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "core/clock.hpp"
#include "stream_support.hpp"

using namespace hyper;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A raw publisher: binds a wildcard port and waits for the receiver's subscription.
struct RawPublisher {
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, zmq::socket_type::xpub};
  std::string endpoint;

  RawPublisher() {
    sock.set(zmq::sockopt::linger, 1000);
    sock.bind("tcp://127.0.0.1:*");
    endpoint = sock.get(zmq::sockopt::last_endpoint);
  }
  void wait_subscriber() {
    zmq::message_t m;
    sock.set(zmq::sockopt::rcvtimeo, 10000);
    REQUIRE(sock.recv(m));
  }
  void send(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i)
      sock.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  // A valid 4x4x2 int16 volume.
  void volume(const std::string& run, int64_t index, json extra = json::object()) {
    std::string payload(4 * 4 * 2 * 2, '\0');
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(index + static_cast<int64_t>(i));
    json h = {{"protocol", "hyper/1"}, {"run", run}, {"index", index}, {"tr", 2.0}, {"dims", {4, 4, 2}},
              {"voxel_size", {3, 3, 3}}, {"dtype", "int16"}, {"t_sent", realtime_ns()},
              {"payload_bytes", payload.size()},
              {"crc32", crc32({reinterpret_cast<const std::byte*>(payload.data()), payload.size()})}};
    h.update(extra);
    send({"vol", h.dump(), payload});
  }
  void ctl(json h) {
    h["protocol"] = "hyper/1";
    h["t_sent"] = realtime_ns();
    send({"ctl", h.dump()});
  }
};

int64_t count(const std::array<int64_t, kRejectCount>& d, Reject r) { return d[static_cast<size_t>(r)]; }

}  // namespace

TEST_CASE("malformed messages are dropped and counted by reason, the stream goes on") {
  RawPublisher pub;
  test::TestReceiver receiver({.endpoint = pub.endpoint});
  Receiver& rx = receiver.rx;
  pub.wait_subscriber();

  pub.send({"vol"});                                     // frame_count
  pub.send({"noise", "x", "y"});                          // unknown_topic
  pub.send({"vol", "{not json", "abc"});                  // header_json
  pub.send({"vol", std::string(70000, ' '), "abc"});      // header_size
  pub.send({"ctl", R"({"protocol":"hyper/0","type":"heartbeat","t_sent":1})"});  // protocol
  pub.ctl({{"type", "run_start"}, {"run", "good"}, {"count", 3}});
  pub.volume("good", 0, {{"tr", -2}});                    // tr
  pub.volume("good", 0, {{"dtype", "complex64"}});        // dtype
  pub.volume("good", 0, {{"crc32", 1}});                  // checksum
  pub.volume("good", 0, {{"dims", {4, 4, 3}}});           // payload_size
  pub.volume("good", 0, {{"index", "zero"}});             // field_type
  pub.volume("good", 0);
  pub.volume("good", 1, {{"dims", {2, 8, 2}}});           // run_mismatch (same size, other grid)
  pub.volume("good", 1);
  pub.volume("good", 2);
  pub.ctl({{"type", "run_end"}, {"run", "good"}, {"volumes_sent", 3}});
  for (int i = 0; i < 200; ++i) pub.send({"vol", std::string(static_cast<size_t>(i % 17), 'x'), "\x01"});

  const auto c = test::collect(rx, 1, 20s);
  REQUIRE(c.summaries.size() == 1);
  CHECK(c.volumes.size() == 3);
  const RunSummary& s = c.summaries[0];
  CHECK(s.received == 3);
  CHECK(s.missing == 0);
  // Drops charged to the run: those whose header named it.
  CHECK(s.dropped[static_cast<size_t>(Reject::Tr)] == 1);
  CHECK(s.dropped[static_cast<size_t>(Reject::Checksum)] == 1);
  CHECK(s.dropped[static_cast<size_t>(Reject::RunMismatch)] == 1);
  CHECK_FALSE(s.complete());  // complete means nothing was dropped either

  std::this_thread::sleep_for(300ms);  // let the trailing garbage arrive
  const auto d = rx.dropped();
  CHECK(count(d, Reject::FrameCount) == 1);
  CHECK(count(d, Reject::UnknownTopic) == 1);
  CHECK(count(d, Reject::HeaderJson) == 201);  // 1 + the 200 garbage headers
  CHECK(count(d, Reject::HeaderSize) == 1);
  CHECK(count(d, Reject::Protocol) == 1);
  CHECK(count(d, Reject::Tr) == 1);
  CHECK(count(d, Reject::Dtype) == 1);
  CHECK(count(d, Reject::Checksum) == 1);
  CHECK(count(d, Reject::PayloadSize) == 1);
  CHECK(count(d, Reject::FieldType) == 1);
  CHECK(count(d, Reject::RunMismatch) == 1);
}

TEST_CASE("gaps, duplicates and late volumes are reported per run") {
  RawPublisher pub;
  test::TestReceiver receiver({.endpoint = pub.endpoint});
  Receiver& rx = receiver.rx;
  pub.wait_subscriber();
  pub.ctl({{"type", "run_start"}, {"run", "r1"}, {"count", 7}});
  for (int64_t i : {0, 1, 3, 3, 2, 4, 6}) pub.volume("r1", i);
  pub.ctl({{"type", "run_end"}, {"run", "r1"}, {"volumes_sent", 7}});
  pub.volume("r1", 5);  // after its run ended
  const auto c = test::collect(rx, 1, 20s);
  REQUIRE(c.summaries.size() == 1);
  const RunSummary& s = c.summaries[0];
  std::vector<int64_t> order;
  for (const auto& v : c.volumes) order.push_back(v->index);
  CHECK(order == std::vector<int64_t>{0, 1, 3, 4, 6});
  CHECK(s.received == 5);
  CHECK(s.duplicates == 1);
  CHECK(s.out_of_order == 1);
  CHECK(s.missing == 2);
  REQUIRE(s.gaps.size() == 2);
  CHECK(s.gaps[0] == std::pair<int64_t, int64_t>{2, 2});
  CHECK(s.gaps[1] == std::pair<int64_t, int64_t>{5, 5});
  std::this_thread::sleep_for(300ms);
  CHECK(count(rx.dropped(), Reject::RunEnded) == 1);
}

TEST_CASE("a publisher that falls silent has its run ended by timeout, a new run ends the old one") {
  RawPublisher pub;
  test::TestReceiver receiver({.endpoint = pub.endpoint, .run_timeout = 500ms});
  Receiver& rx = receiver.rx;
  pub.wait_subscriber();
  pub.ctl({{"type", "run_start"}, {"run", "a"}, {"count", 5}});
  pub.volume("a", 0);
  pub.volume("a", 1);
  auto c = test::collect(rx, 1, 10s);
  REQUIRE(c.summaries.size() == 1);
  CHECK(c.summaries[0].ended_by == RunEndCause::Timeout);
  CHECK(c.summaries[0].missing == 3);

  pub.volume("b", 0);  // no run_start: the run opens at its first volume
  pub.volume("c", 0);  // another run: b ends
  c = test::collect(rx, 1, 10s);
  REQUIRE(c.summaries.size() == 1);
  CHECK(c.summaries[0].run == "b");
  CHECK(c.summaries[0].ended_by == RunEndCause::NewRun);
  CHECK(c.summaries[0].received == 1);
  rx.stop();  // c is still open: it ends by shutdown
  c = test::collect(rx, 1, 5s);
  REQUIRE(c.summaries.size() == 1);
  CHECK(c.summaries[0].run == "c");
  CHECK(c.summaries[0].ended_by == RunEndCause::Shutdown);
}

TEST_CASE("a slow consumer makes the receiver drop with queue_full, counted, not block forever") {
  RawPublisher pub;
  test::TestReceiver receiver({.endpoint = pub.endpoint, .queue_capacity = 2, .queue_timeout = 10ms});
  Receiver& rx = receiver.rx;
  pub.wait_subscriber();
  pub.ctl({{"type", "run_start"}, {"run", "q"}, {"count", 10}});
  for (int64_t i = 0; i < 10; ++i) pub.volume("q", i);
  pub.ctl({{"type", "run_end"}, {"run", "q"}});
  std::this_thread::sleep_for(1s);  // nobody takes anything meanwhile
  const auto c = test::collect(rx, 1, 10s);
  REQUIRE(c.summaries.size() == 1);
  const RunSummary& s = c.summaries[0];
  const int64_t lost = s.dropped[static_cast<size_t>(Reject::QueueFull)];
  CHECK(lost >= 7);
  CHECK(s.received + lost == 10);
  CHECK(static_cast<int64_t>(c.volumes.size()) == s.received);
  CHECK(s.missing == lost);
}

TEST_CASE("a restarted publisher's new run_start for an ended run id makes a new run, stray volumes of it stay dropped") {
  RawPublisher pub;
  test::TestReceiver receiver({.endpoint = pub.endpoint});
  Receiver& rx = receiver.rx;
  pub.wait_subscriber();
  for (int pass = 0; pass < 2; ++pass) {
    pub.ctl({{"type", "run_start"}, {"run", "r"}, {"count", 3}});
    for (int64_t i = 0; i < 3; ++i) pub.volume("r", i);
    pub.ctl({{"type", "run_end"}, {"run", "r"}, {"volumes_sent", 3}});
  }
  pub.volume("r", 1);  // no run_start: a late volume of the ended run
  const auto c = test::collect(rx, 2, 20s);
  REQUIRE(c.summaries.size() == 2);
  for (const RunSummary& s : c.summaries) {
    CHECK(s.run == "r");
    CHECK(s.received == 3);
    CHECK(s.complete());
  }
  CHECK(c.volumes.size() == 6);
  std::this_thread::sleep_for(300ms);
  CHECK(count(rx.dropped(), Reject::RunEnded) == 1);
}

TEST_CASE("a publisher inventing run ids gets at most stream.max_runs runs, the rest dropped as too_many_runs") {
  RawPublisher pub;
  test::TestReceiver receiver({.endpoint = pub.endpoint, .max_runs = 5});
  Receiver& rx = receiver.rx;
  pub.wait_subscriber();
  for (int r = 0; r < 12; ++r) {
    pub.ctl({{"type", "run_start"}, {"run", "x" + std::to_string(r)}, {"count", 1}});
    pub.volume("x" + std::to_string(r), 0);
  }
  pub.volume("y", 0);  // a run opened by a volume counts the same
  std::this_thread::sleep_for(500ms);
  rx.stop();
  const auto c = test::collect(rx, 6, 2s);  // waits for a sixth that must not come
  CHECK(c.summaries.size() == 5);
  CHECK(c.volumes.size() == 5);
  CHECK(count(rx.dropped(), Reject::TooManyRuns) == 7 + 7 + 1);  // 7 run_starts, their 7 volumes, y's volume
}

TEST_CASE("a message over the size limit is refused and the stream keeps receiving from the same publisher") {
  RawPublisher pub;
  test::TestReceiver receiver({.endpoint = pub.endpoint, .max_payload_bytes = 1000});
  Receiver& rx = receiver.rx;
  pub.wait_subscriber();
  pub.ctl({{"type", "run_start"}, {"run", "big"}, {"count", 10}});
  for (int64_t i = 0; i < 5; ++i) pub.volume("big", i);
  const std::string over(1500, 'x');  // a whole, valid message, over the limit: read and refused
  pub.send({"vol",
            json{{"protocol", "hyper/1"}, {"run", "big"}, {"index", 5}, {"tr", 2.0}, {"dims", {750, 1, 1}}, {"voxel_size", {3, 3, 3}},
                 {"dtype", "int16"}, {"t_sent", realtime_ns()}, {"payload_bytes", over.size()},
                 {"crc32", crc32({reinterpret_cast<const std::byte*>(over.data()), over.size()})}}
                .dump(),
            over});
  pub.send({"vol", json{{"protocol", "hyper/1"}, {"run", "big"}, {"index", 6}}.dump(), std::string(3 << 20, 'x')});  // ZeroMQ hangs up
  std::this_thread::sleep_for(1500ms);  // the receiver connects again
  for (int64_t i = 7; i < 10; ++i) pub.volume("big", i);
  pub.ctl({{"type", "run_end"}, {"run", "big"}, {"volumes_sent", 10}});
  const auto c = test::collect(rx, 1, 20s);
  REQUIRE(c.summaries.size() == 1);
  std::vector<int64_t> order;
  for (const auto& v : c.volumes) order.push_back(v->index);
  CHECK(order == std::vector<int64_t>{0, 1, 2, 3, 4, 7, 8, 9});
  CHECK(count(rx.dropped(), Reject::PayloadSize) == 1);
  CHECK(c.summaries[0].ended_by == RunEndCause::RunEnd);
  CHECK(c.summaries[0].missing == 2);
}

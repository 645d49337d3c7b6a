// The dashboard's feed (src/web/dashboard_feed.hpp): every message in order, late joiners
// get what was kept, a browser that falls behind loses the oldest (counted) and never holds
// up publishing; and the --dashboard address parser.
#include <doctest/doctest.h>

#include <thread>

#include "web/dashboard_feed.hpp"
#include "web/dashboard_server.hpp"

using namespace hyper;
using Keep = DashboardFeed::Keep;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> texts(const std::vector<Message>& ms) {
  std::vector<std::string> out;
  for (const Message& m : ms) out.push_back(*m);
  return out;
}

std::vector<std::string> drain(DashboardFeed& feed, DashboardFeed::Client& c) {
  std::vector<std::string> all;
  while (true) {
    auto got = texts(feed.next(c, 0ms));
    if (got.empty()) return all;
    all.insert(all.end(), got.begin(), got.end());
  }
}

}  // namespace

TEST_CASE("the dashboard feed: live messages in order, a late browser first gets the plan, earlier run ends and the run so far") {
  DashboardFeed feed({.history = 1000, .client_queue = 1000});
  auto early = feed.join();
  CHECK(drain(feed, *early).empty());
  feed.publish("plan", Keep::Session);
  feed.publish("start r1", Keep::RunStart);
  for (int i = 0; i < 5; ++i) feed.publish("tr r1 " + std::to_string(i), Keep::Run);
  feed.publish("face r1 4", Keep::Live);
  feed.publish("end r1", Keep::Session);
  feed.publish("start r2", Keep::RunStart);
  feed.publish("tr r2 0", Keep::Run);
  const std::vector<std::string> everything{"plan",     "start r1", "tr r1 0",  "tr r1 1", "tr r1 2", "tr r1 3",
                                            "tr r1 4",  "face r1 4", "end r1",  "start r2", "tr r2 0"};
  CHECK(drain(feed, *early) == everything);
  // A browser that connects now: the session's messages, then run r2 so far (r1's TRs and the face are gone).
  auto late = feed.join();
  CHECK(drain(feed, *late) == std::vector<std::string>{"plan", "end r1", "start r2", "tr r2 0"});
  // ... and one that connects after r2's end gets its TRs before its end, as they happened.
  feed.publish("end r2", Keep::Session);
  auto after = feed.join();
  CHECK(drain(feed, *after) == std::vector<std::string>{"plan", "end r1", "start r2", "tr r2 0", "end r2"});
  feed.leave(after);
  CHECK(drain(feed, *late) == std::vector<std::string>{"end r2"});
  CHECK(drain(feed, *early) == std::vector<std::string>{"end r2"});
  feed.publish("tr r2 1", Keep::Run);
  CHECK(drain(feed, *late) == std::vector<std::string>{"tr r2 1"});
  CHECK(drain(feed, *early) == std::vector<std::string>{"tr r2 1"});
  CHECK(feed.counts().clients == 2);
  CHECK(feed.counts().dropped == 0);
  feed.leave(late);
  CHECK(feed.counts().clients == 1);
}

TEST_CASE("the dashboard feed: a browser that stops reading loses its oldest messages, counted, and publishing never waits") {
  DashboardFeed feed({.history = 50, .client_queue = 8});
  auto slow = feed.join(), fast = feed.join();
  drain(feed, *slow);
  drain(feed, *fast);
  feed.publish("start", Keep::RunStart);
  int64_t fast_got = 0;
  for (int i = 0; i < 100; ++i) {
    feed.publish(std::to_string(i), Keep::Run);
    fast_got += static_cast<int64_t>(drain(feed, *fast).size());
  }
  CHECK(fast_got == 101);
  CHECK(fast->dropped == 0);
  // The slow one gets the newest 8, and 93 counted as dropped.
  const auto got = drain(feed, *slow);
  REQUIRE(got.size() == 8);
  CHECK(got.front() == "92");
  CHECK(got.back() == "99");
  CHECK(slow->dropped == 93);
  CHECK(feed.counts().dropped == 93);
  // A late browser gets the run's history, bounded at 50 messages.
  auto late = feed.join();
  CHECK(texts(feed.next(*late, 0ms)).size() == 50);
}

TEST_CASE("the dashboard feed: a waiting browser wakes on a new message and on close") {
  DashboardFeed feed;
  auto c = feed.join();
  drain(feed, *c);
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    feed.publish("x", Keep::Run);
  });
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(texts(feed.next(*c, 5s)) == std::vector<std::string>{"x"});
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);
  t.join();
  feed.close();
  CHECK(feed.closed());
  CHECK(feed.next(*c, 5s).empty());
}

TEST_CASE("--dashboard takes PORT or ADDR:PORT, and says what is wrong with anything else") {
  DashboardAddress a = parse_dashboard_address("8080");
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 8080);
  CHECK(a.loopback);
  a = parse_dashboard_address("0.0.0.0:9000");
  CHECK(a.host == "0.0.0.0");
  CHECK(a.port == 9000);
  CHECK_FALSE(a.loopback);
  CHECK(parse_dashboard_address("localhost:0").loopback);
  CHECK(parse_dashboard_address("[::1]:8080").host == "::1");
  CHECK(parse_dashboard_address("[::1]:8080").loopback);
  CHECK_FALSE(parse_dashboard_address("192.168.1.5:8080").loopback);
  for (const char* bad : {"", "http", "80a", "70000", "-1", ":8080", "host:"})
    CHECK_THROWS_WITH_AS(parse_dashboard_address(bad), doctest::Contains("PORT"), std::invalid_argument);
  CHECK(random_token().size() == 32);
  CHECK(random_token() != random_token());
}

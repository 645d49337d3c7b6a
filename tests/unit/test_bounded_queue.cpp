#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include <atomic>

#include "core/bounded_queue.hpp"
#include "core/latest_slot.hpp"

using namespace hyper;
using namespace std::chrono_literals;

TEST_CASE("a full queue refuses after its timeout, push_always still gets in") {
  BoundedQueue<int> q(2);
  CHECK(q.push(1, 0ms));
  CHECK(q.push(2, 0ms));
  CHECK_FALSE(q.push(3, 20ms));
  q.push_always(4);
  CHECK(q.size() == 3);
  CHECK(q.pop(0ms) == 1);
  CHECK(q.pop(0ms) == 2);
  CHECK(q.pop(0ms) == 4);
  CHECK_FALSE(q.pop(10ms).has_value());
}

TEST_CASE("close wakes waiters and leaves what is queued to drain") {
  BoundedQueue<int> q(4);
  q.push(7, 0ms);
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    q.close();
  });
  CHECK(q.pop(0ms) == 7);
  CHECK_FALSE(q.pop(5s).has_value());  // returns at close, not after 5 s
  closer.join();
  CHECK(q.closed());
  CHECK_FALSE(q.push(8, 0ms));
}

TEST_CASE("one producer and one consumer keep the order") {
  BoundedQueue<int> q(3);
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) REQUIRE(q.push(i, 5s));
  });
  std::vector<int> got;
  while (got.size() < 1000) {
    if (auto v = q.pop(5s)) got.push_back(*v);
  }
  producer.join();
  for (int i = 0; i < 1000; ++i) CHECK(got[static_cast<size_t>(i)] == i);
}

TEST_CASE("the latest slot hands over the newest item and reports each one it replaced") {
  hyper::LatestSlot<int> slot;
  CHECK_FALSE(slot.put(1));
  CHECK(slot.put(2));  // 1 was never taken: a skip
  CHECK(slot.take(std::chrono::milliseconds(10)) == 2);
  CHECK_FALSE(slot.take(std::chrono::milliseconds(10)).has_value());
  // Across threads: every item is either taken or counted as replaced.
  std::atomic<int> taken{0};
  int replaced = 0;
  std::thread consumer([&] {
    while (true) {
      auto v = slot.take(std::chrono::milliseconds(50));
      if (v) ++taken;
      else if (slot.closed()) break;
    }
  });
  for (int i = 0; i < 20000; ++i) replaced += slot.put(i) ? 1 : 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  slot.close();
  consumer.join();
  CHECK(taken + replaced == 20000);
  CHECK(taken > 0);
}

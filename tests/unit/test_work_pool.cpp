#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/work_pool.hpp"

using namespace hyper;

TEST_CASE("a work pool runs every chunk exactly once, loop after loop, with any thread count") {
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    WorkPool pool(threads);
    CHECK(pool.threads() == threads);
    std::vector<std::atomic<int>> hits(37);
    for (int loop = 0; loop < 2000; ++loop) {
      const int64_t chunks = 1 + loop % 37;
      pool.run(chunks, [&](int64_t c) { hits[static_cast<size_t>(c)].fetch_add(1); });
      if (loop % 500 == 499) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // helpers fall asleep
    }
    // Chunk c runs in every loop with more than c chunks.
    for (size_t c = 0; c < hits.size(); ++c) {
      int expected = 0;
      for (int loop = 0; loop < 2000; ++loop) expected += 1 + loop % 37 > static_cast<int>(c);
      CHECK(hits[c].load() == expected);
    }
  }
}

TEST_CASE("a work pool's helpers really share a loop, and a chunk's exception reaches the caller") {
  WorkPool pool(2);
  std::atomic<int> inside{0}, most{0};
  pool.run(2, [&](int64_t) {
    const int now = inside.fetch_add(1) + 1;
    most = std::max(most.load(), now);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (inside.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    most = std::max(most.load(), inside.load());
    inside.fetch_sub(1);
  });
  CHECK(most.load() == 2);  // both chunks were running at once
  CHECK_THROWS_WITH_AS(pool.run(5, [](int64_t c) { if (c == 3) throw std::runtime_error("chunk 3 failed"); }), "chunk 3 failed",
                       std::runtime_error);
  int after = 0;
  pool.run(4, [&](int64_t) { static std::mutex m; std::lock_guard l(m); ++after; });  // still usable
  CHECK(after == 4);
  CHECK(chunk_range(10, 3, 0) == std::pair<int64_t, int64_t>{0, 3});
  CHECK(chunk_range(10, 3, 2) == std::pair<int64_t, int64_t>{6, 10});
}

// The reorder window (src/core/reorder_window.hpp): order restored within its depth and
// time, gaps given up beyond them, late and duplicate items named.
#include <doctest/doctest.h>

#include "core/reorder_window.hpp"

using namespace hyper;
using Window = ReorderWindow<int>;

TEST_CASE("a swapped pair comes out in order and a gap wider than the depth is given up and counted") {
  Window w(2, std::chrono::seconds(10));
  std::vector<int> out;
  CHECK(w.add(0, 0, out) == Window::Added::InOrder);
  CHECK(w.add(2, 2, out) == Window::Added::Held);
  CHECK(out == std::vector<int>{0});
  CHECK(w.add(1, 1, out) == Window::Added::InOrder);
  CHECK(out == std::vector<int>{0, 1, 2});
  CHECK(w.reordered() == 1);
  CHECK(w.add(1, 1, out) == Window::Added::Late);
  // 3 never comes: 4 and 5 wait, 6 is one too many, so 3 is given up.
  CHECK(w.add(4, 4, out) == Window::Added::Held);
  CHECK(w.add(4, 4, out) == Window::Added::Duplicate);
  CHECK(w.add(5, 5, out) == Window::Added::Held);
  CHECK(out.size() == 3);
  w.add(6, 6, out);
  CHECK(out == std::vector<int>{0, 1, 2, 4, 5, 6});
  CHECK(w.missing() == 1);
  CHECK(w.add(3, 3, out) == Window::Added::Late);
  // A new run counts for itself.
  w.reset(0);
  CHECK(w.missing() == 0);
  CHECK(w.reordered() == 0);
  CHECK(w.add(0, 0, out) == Window::Added::InOrder);
}

TEST_CASE("an item held longer than the window's time is released, its gap given up") {
  Window w(10, std::chrono::milliseconds(500));
  std::vector<int> out;
  const auto t0 = Window::Clock::now();
  w.add(1, 1, out, t0);
  w.flush_due(out, t0 + std::chrono::milliseconds(100));
  CHECK(out.empty());
  w.flush_due(out, t0 + std::chrono::milliseconds(600));
  CHECK(out == std::vector<int>{1});
  CHECK(w.missing() == 1);
  CHECK(w.next() == 2);
}

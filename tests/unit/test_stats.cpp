#include <doctest/doctest.h>

#include "core/stats.hpp"

using namespace hyper;

TEST_CASE("percentiles interpolate like numpy's default") {
  // numpy.percentile([1, 2, 3, 4], [50, 90, 99]) == [2.5, 3.7, 3.97]
  const auto s = summarize({4, 1, 3, 2});
  CHECK(s.n == 4);
  CHECK(s.p50 == doctest::Approx(2.5));
  CHECK(s.p90 == doctest::Approx(3.7));
  CHECK(s.p99 == doctest::Approx(3.97));
  CHECK(s.max == 4);
  CHECK(s.mean == doctest::Approx(2.5));
  CHECK(s.sd == doctest::Approx(1.2909944));  // numpy.std([1, 2, 3, 4], ddof=1)
}

TEST_CASE("an empty sample summarises to zeros") {
  const auto s = summarize({});
  CHECK(s.n == 0);
  CHECK(s.p99 == 0);
}

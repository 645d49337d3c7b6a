// The trigger log (plugins/sinks/trigger.hpp): periods against the TR, counted when off.
#include <doctest/doctest.h>

#include "core/settings.hpp"
#include "sinks/trigger.hpp"
#include "support.hpp"

using namespace hyper;

TEST_CASE("the trigger log counts periods off the TR by more than trigger.max_drift_ms and writes every trigger") {
  test::TempDir d;
  TriggerLog log(d / "triggers.tsv", 50);
  const int64_t s = 1'000'000'000;
  log.add(10 * s, "key");  // before the TR is known: nothing to compare
  log.add(11 * s + s / 2, "key");
  CHECK(log.drifted() == 0);
  log.set_tr(1.5);
  log.add(13 * s, "key");                      // 1500 ms
  log.add(14 * s + s / 2 + 40'000'000, "key");  // 1540 ms: within 50 ms
  CHECK(log.drifted() == 0);
  log.add(16 * s + 100'000'000, "key");  // 1560 ms
  CHECK(log.drifted() == 1);
  log.add(19 * s + 100'000'000, "key");  // 3000 ms: a trigger missed
  CHECK(log.drifted() == 2);
  CHECK(log.first() == 10 * s);
  const std::string tsv = test::read_text(d / "triggers.tsv");
  CHECK(tsv.rfind("trigger\tt_ns\tsince_first_s\tperiod_ms\tsource\n", 0) == 0);
  CHECK(tsv.find("\n5\t19100000000\t9.100000\t3000.000\tkey\n") != std::string::npos);
}

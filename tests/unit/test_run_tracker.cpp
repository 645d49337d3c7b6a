#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "net/run_tracker.hpp"

using namespace hyper;
using V = RunTracker::Verdict;

TEST_CASE("gaps, duplicates and late volumes are told apart") {
  RunTracker t("r", 0, 6);
  CHECK(t.admit(0) == V::Accept);
  CHECK(t.admit(1) == V::Accept);
  CHECK(t.admit(3) == V::Accept);      // 2 is missing
  CHECK(t.admit(3) == V::Duplicate);
  CHECK(t.admit(2) == V::OutOfOrder);  // arrives after 3: too late for in-order processing
  CHECK(t.admit(0) == V::Duplicate);
  CHECK(t.admit(4) == V::Accept);
  const RunSummary s = t.finish(RunEndCause::RunEnd);  // 5 never came
  CHECK(s.received == 4);
  CHECK(s.missing == 2);
  CHECK(s.duplicates == 2);
  CHECK(s.out_of_order == 1);
  REQUIRE(s.gaps.size() == 2);
  CHECK(s.gaps[0] == std::pair<int64_t, int64_t>{2, 2});
  CHECK(s.gaps[1] == std::pair<int64_t, int64_t>{5, 5});
  CHECK_FALSE(s.complete());
}

TEST_CASE("a run from first_index with every volume is complete") {
  RunTracker t("r", 10, 5);
  for (int64_t i = 10; i < 15; ++i) CHECK(t.admit(i) == V::Accept);
  const RunSummary s = t.finish(RunEndCause::RunEnd);
  CHECK(s.received == 5);
  CHECK(s.expected == 5);
  CHECK(s.missing == 0);
  CHECK(s.complete());
  const auto j = to_json(s);
  CHECK(j["complete"] == true);
  CHECK(j["received"] == 5);
  CHECK(j["ended_by"] == "run_end");
}

TEST_CASE("without a count, run_end's volumes_sent or the headers' n_volumes give the end") {
  RunTracker a("a", 0, -1);
  for (int64_t i = 0; i < 4; ++i) a.admit(i);
  a.set_volumes_sent(5);
  const RunSummary sa = a.finish(RunEndCause::RunEnd);
  CHECK(sa.expected == 5);
  CHECK(sa.missing == 1);

  RunTracker b("b", 0, -1);
  b.set_total(8);
  for (int64_t i = 0; i < 8; ++i) b.admit(i);
  CHECK(b.finish(RunEndCause::RunEnd).complete());

  RunTracker c("c", 0, -1);  // nothing known: what arrived is the run
  for (int64_t i = 0; i < 3; ++i) c.admit(i);
  const RunSummary sc = c.finish(RunEndCause::Timeout);
  CHECK(sc.expected == -1);
  CHECK(sc.missing == 0);
  CHECK(sc.ended_by == RunEndCause::Timeout);
}

TEST_CASE("joining a run late reports the volumes missed at its start") {
  RunTracker t("r", 0, -1);
  CHECK(t.admit(7) == V::Accept);
  const RunSummary s = t.finish(RunEndCause::Shutdown);
  CHECK(s.missing == 7);
  CHECK(s.gaps.front() == std::pair<int64_t, int64_t>{0, 6});
}

TEST_CASE("drops and lost volumes make a run incomplete") {
  RunTracker t("r", 0, 3);
  t.admit(0);
  t.admit(1);
  t.mark_lost(1);
  t.record_drop(Reject::QueueFull);
  t.admit(2);
  t.record_latency_ms(1.0);
  t.record_latency_ms(3.0);
  const RunSummary s = t.finish(RunEndCause::RunEnd);
  CHECK(s.received == 2);
  CHECK(s.missing == 1);
  CHECK(s.dropped[static_cast<size_t>(Reject::QueueFull)] == 1);
  CHECK(s.dropped_total() == 1);
  CHECK(s.latency_ms.n == 2);
  CHECK(s.latency_ms.max == 3.0);
  CHECK_FALSE(s.complete());
  CHECK(to_json(s)["dropped"]["queue_full"] == 1);
  CHECK(format_summary(s).find("queue_full 1") != std::string::npos);
}

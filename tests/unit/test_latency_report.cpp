#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/latency_report.hpp"

using namespace hyper;

namespace {
// Ten volumes, two of them warm-up: transport i ms, stage "a" 2i ms, ready 10 + i ms; even
// volumes get a face (generate 5 ms, image 20 + i ms), odd ones are skipped.
BenchRecord record(double scale) {
  BenchRecord r;
  r.variant = "v";
  r.stages = {"a"};
  r.warmup = 2;
  r.tr_s = 0.025;
  r.budget_ms = 25;
  r.wall_s = 2;
  for (int i = 0; i < 10; ++i) {
    TrTiming t;
    t.index = i;
    t.transport_ms = scale * i;
    t.stage_ms = {scale * 2 * i};
    t.ready_ms = scale * (10 + i);
    if (i % 2 == 0) {
      t.generate_ms = scale * 5;
      t.image_ms = scale * (20 + i);
    }
    r.trs.push_back(t);
  }
  return r;
}
}  // namespace

TEST_CASE("bench summaries: percentiles, jitter, warm-up apart, skipped faces, deadline misses and throughput by hand") {
  const BenchRecord r = record(1.0);
  const BenchSummary s = summarize_bench(r);
  CHECK(s.measured == 8);
  CHECK(s.faces == 4);    // volumes 2, 4, 6, 8
  CHECK(s.skipped == 4);  // 3, 5, 7, 9
  REQUIRE(s.stages.size() == 3);  // transport, a, generate (no present: no screen)
  CHECK(s.stages[0].name == "transport");
  CHECK(s.stages[0].s.p50 == doctest::Approx(5.5));  // 2..9
  CHECK(s.stages[0].s.sd == doctest::Approx(std::sqrt(42.0 / 7)));  // sample s.d. of 2..9
  CHECK(s.stages[1].name == "a");
  CHECK(s.stages[1].s.max == doctest::Approx(18));
  CHECK(s.stages[1].s.p90 == doctest::Approx(4 + 0.9 * 7 * 2));  // numpy's linear interpolation
  REQUIRE(s.end_to_end.size() == 2);
  CHECK(s.end_to_end[1].name == "sent -> image");
  CHECK(s.end_to_end[1].s.n == 4);
  CHECK(s.deadline_measure == "sent -> image");
  CHECK(s.misses_budget == 2);  // 26 and 28 ms over 25
  CHECK(s.misses_tr == 2);      // TR 25 ms
  CHECK(s.warmup.s.n == 2);
  CHECK(s.warmup.s.max == doctest::Approx(20));  // volume 0 has a face (20 ms); volume 1 only its ready time (11 ms)
  CHECK(s.volumes_per_s == doctest::Approx(4));
  CHECK(s.faces_per_s == doctest::Approx(2));

  const std::string md = bench_markdown(r, s);
  CHECK(md.find("| **sent -> image** | 4 | 25.00 |") != std::string::npos);
  CHECK(md.find("8 volumes measured after 2 warm-up") != std::string::npos);
  const std::string tsv = timings_tsv(r);
  CHECK(std::count(tsv.begin(), tsv.end(), '\n') == 11);
  CHECK(tsv.rfind("index\twarmup\ttransport_ms\ta_ms\tgenerate_ms", 0) == 0);
  const auto j = to_json(r, s);
  CHECK(j.at("end_to_end").at("sent -> ready").at("p50").get<double>() == doctest::Approx(15.5));

  // Side by side: a variant twice as slow shows ratios of 2.
  BenchRecord slow = record(2.0);
  slow.variant = "slow";
  const BenchSummary slow_s = summarize_bench(slow);
  const std::string cmp = compare_markdown({r, slow}, {s, slow_s});
  CHECK(cmp.find("| sent -> ready | 15.50 |") != std::string::npos);
  CHECK(cmp.find("| 2.00 | 2.00 |") != std::string::npos);
  // The counts, a cell per variant in order.
  CHECK(cmp.find(fmt::format("\n| volumes/s | {:.2f} | {:.2f} |\n", s.volumes_per_s, slow_s.volumes_per_s)) != std::string::npos);
  CHECK(cmp.find(fmt::format("\n| dropped volumes | {} | {} |\n", r.dropped, slow.dropped)) != std::string::npos);
  CHECK(cmp.find(fmt::format("\n| over the budget | {} | {} |\n", s.misses_budget, slow_s.misses_budget)) != std::string::npos);
}

TEST_CASE("bench summaries: the cost's slope against the volume index, per 1000 volumes, by hand") {
  // transport = i ms (slope 1 ms per volume = 1000 per 1000), stage "a" = 2i, ready = 10 + i;
  // generate is 5 ms every time (flat: slope 0), present none (no slope).
  const BenchSummary s = summarize_bench(record(1.0));
  CHECK(s.stages[0].slope_per_1000 == doctest::Approx(1000));
  CHECK(s.stages[1].slope_per_1000 == doctest::Approx(2000));
  CHECK(s.stages[2].slope_per_1000 == doctest::Approx(0).epsilon(1e-9));
  CHECK(s.end_to_end[0].slope_per_1000 == doctest::Approx(1000));
  CHECK(bench_markdown(record(1.0), s).find("| +1000.000 |") != std::string::npos);
  CHECK(to_json(record(1.0), s).at("stages").at("a").at("slope_ms_per_1000_volumes").get<double>() == doctest::Approx(2000));
}

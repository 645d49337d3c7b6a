#pragma once
// Summary statistics of latency samples (milliseconds), as reported by runs and benchmarks.

#include <cstddef>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hyper {

// The p-th percentile (0..100) with linear interpolation between order statistics
// (numpy's default method). `sorted` must be ascending and non-empty.
double percentile_sorted(const std::vector<double>& sorted, double p);

struct LatencySummary {
  size_t n = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
  double sd = 0;  // sample standard deviation (n - 1); 0 for one sample
};

LatencySummary summarize(std::vector<double> samples);
nlohmann::json to_json(const LatencySummary& s);

}  // namespace hyper

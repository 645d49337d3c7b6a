#pragma once
// `hyper bench --baseline python` (README, "Latency"): the same run through the pipeline a
// lab would write in Python (tools/python_baseline.py: numpy for the chain, torch for the
// PGGAN), timed in the same bench run, beside the first variant, with the ratio.

#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/bench_variant.hpp"
#include "core/latency_report.hpp"

namespace hyper {

// Runs the script on the first variant's run, chain, decoder and generator; its JSON (the
// same keys as a variant's: stages, end_to_end) with "ratio": Python's p50 and p99 over
// ours, per stage and end to end. Throws SettingsError for a chain it cannot mirror, and
// std::runtime_error naming its log when it fails.
nlohmann::json run_python_baseline(const Settings& st, const Input& in, const std::filesystem::path& decoder,
                                   const std::filesystem::path& dir, const BenchSummary& ours);

std::string python_baseline_markdown(const nlohmann::json& py, const std::string& variant);

}  // namespace hyper

#pragma once
// `hyper bench`'s numbers (README, "Latency"): per-TR timings of one variant, summarised per
// stage and end to end (p50/p90/p99/max, jitter as the standard deviation), deadline misses
// against the TR and a budget, skipped faces, dropped volumes and throughput; as JSON,
// Markdown, a per-TR TSV (for the plots), and a side-by-side table of variants with ratios.

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/stats.hpp"

namespace hyper {

inline constexpr double kNoTime = std::numeric_limits<double>::quiet_NaN();

// One volume's way through the pipeline, ms. NaN: did not happen (no face drawn for it).
struct TrTiming {
  int64_t index = 0;
  double transport_ms = kNoTime;  // t_sent -> t_recv (two processes: ZeroMQ; in-process: the codec)
  std::vector<double> stage_ms;   // each chain stage (the decode stage last), in chain order
  double ready_ms = kNoTime;      // t_sent -> t_ready (received, preprocessed, decoded)
  double generate_ms = kNoTime;   // the generator's call
  double image_ms = kNoTime;      // t_sent -> face image ready
  double present_ms = kNoTime;    // t_sent -> on screen (SDL_RenderPresent returned)
  double first_image_ms = kNoTime;    // coarse-first: t_sent -> the early face ready
  double first_present_ms = kNoTime;  // ... and on screen
};

struct BenchRecord {
  std::string variant;            // its name (the settings it changes)
  std::string setup;              // one line: process mode, pacing, generator...
  std::vector<std::string> stages;
  std::vector<TrTiming> trs;      // in index order, warm-up included
  int warmup = 0;                 // the first `warmup` volumes are reported apart
  int64_t sent = 0, dropped = 0;  // volumes sent; dropped by the receiver
  double tr_s = 0, budget_ms = 0;
  double wall_s = 0;              // first volume sent -> last result, after warm-up
};

struct StageRow {
  std::string name;
  LatencySummary s;  // s.sd: the jitter
  // Least-squares slope of the time against the volume's index, ms per 1000 volumes: a cost
  // that grows with the run's length shows here (NaN with fewer than 2 volumes).
  double slope_per_1000 = kNoTime;
};

struct BenchSummary {
  std::vector<StageRow> stages;      // transport, chain stages, generate, present (image -> screen)
  std::vector<StageRow> end_to_end;  // sent -> ready, sent -> image, sent -> on screen
  StageRow warmup;                   // the warm-up volumes' last end-to-end figure
  std::string deadline_measure;      // which end-to-end row the misses count
  int64_t measured = 0, faces = 0, skipped = 0, misses_tr = 0, misses_budget = 0;
  double volumes_per_s = 0, faces_per_s = 0;
};

BenchSummary summarize_bench(const BenchRecord& r);
nlohmann::json to_json(const BenchRecord& r, const BenchSummary& s);
std::string bench_markdown(const BenchRecord& r, const BenchSummary& s);
std::string timings_tsv(const BenchRecord& r);
// Variants side by side: p50 and p99 of each end-to-end row and stage, and each variant's
// ratio to the first (the claims are the ratios; absolute times depend on the machine).
std::string compare_markdown(const std::vector<BenchRecord>& records, const std::vector<BenchSummary>& summaries);
// When, where and what was measured: "2026-12-02 19:40 UTC; AMD EPYC 7B13, 2 cores, 24 GiB;
// commit 9989ae0 (HYPER-RT 0.2.0)". The commit is asked of git in `source_dir` ("unknown" outside a clone).
std::string bench_provenance(const std::filesystem::path& source_dir);

}  // namespace hyper

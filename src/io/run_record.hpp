#pragma once
// What `hyper stream --out DIR` records of a run, in DIR/<run>/, written as the run goes so
// that a crash keeps every finished TR (README, "Run records"):
//   run.json      at the run's first volume: run, tr_s (its TR, for hyper eval), stages
//   tr.tsv        one line per processed volume: index, timestamps, stage times, motion, flags
//   latents.npy   one row per decoded volume, in the order of tr.tsv's decoded lines
//   summary.json  at the run's end (the receiver's accounting)

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/latency_report.hpp"
#include "hyper/tr.hpp"
#include "io/npy_rows.hpp"

namespace hyper {

class RunRecord {
 public:
  // Creates DIR/<run>/ and the files; `stages` names tr.stage_ms's columns. `resume`: the
  // run's unfinished record is continued (tr.tsv and latents.npy appended to).
  RunRecord(const std::filesystem::path& out, const std::string& run, double tr_s, const std::vector<std::string>& stages,
            bool resume = false);
  ~RunRecord();
  RunRecord(const RunRecord&) = delete;
  RunRecord& operator=(const RunRecord&) = delete;

  void add(const Tr& tr);  // one line (and a latents row when decoded), written at once
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  int tsv_ = -1;
  size_t stages_ = 0;
  std::unique_ptr<NpyRowWriter> latents_;
};

// A record `hyper stream` left unfinished (tr.tsv without summary.json): the last volume
// index it recorded (-1: none) and its decoded lines (latents.npy's rows). Nothing when
// `dir` holds no such record. Cuts a last line a kill left half-written.
struct UnfinishedRecord {
  int64_t last_index = -1;
  int64_t decoded = 0;
};
std::optional<UnfinishedRecord> unfinished_record(const std::filesystem::path& dir);

// The timings `hyper stream --out` recorded of one run in `dir` (run.json, tr.tsv, and
// frames.tsv, presented.tsv, summary.json when there); wall_s counts from the t_sent of the
// first volume after `warmup`. Throws naming the file that is missing or malformed.
BenchRecord read_record_timings(const std::filesystem::path& dir, int warmup);

}  // namespace hyper

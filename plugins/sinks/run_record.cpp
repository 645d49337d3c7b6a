// The run record sink (`hyper stream --out DIR`): DIR/<run>/ run.json, tr.tsv and
// latents.npy written as the run goes (io/run_record.hpp), summary.json at its end. A
// failure to write stops this run's record, logged, and nothing else: the scan goes on.
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "hyper/registry.hpp"
#include "io/files.hpp"
#include "io/run_record.hpp"
#include "io/tsv.hpp"

namespace hyper {

namespace {

// The source's accounting (the receiver's summary, or the basics) with the Session's: the
// run's name as recorded, volumes processed and decoded, and those refused at the entry
// (counted among the drops: a run with any is not complete).
nlohmann::json summary(const RunEnd& end, const std::vector<double>& recorded) {
  nlohmann::json j = end.summary_json.empty()
                         ? nlohmann::json{{"run", end.source_run}, {"ended_by", end.ended_by}, {"received", end.received},
                                          {"missing", end.missing}, {"dropped_total", end.dropped},
                                          {"complete", end.missing == 0 && end.dropped == 0}}
                         : nlohmann::json::parse(end.summary_json);
  if (end.run != end.source_run) j["recorded_as"] = end.run;
  j["processed"] = end.processed;
  j["decoded"] = end.decoded;
  j["late"] = end.late;
  if (end.resumed_after >= 0) {  // the stream stopped during this run and continued its record
    j["resumed_after"] = end.resumed_after;
    j["rebuilt"] = end.rebuilt;
    // This process did not receive what was recorded before the stop: missing is what the
    // record lacks of the run, counted from its tr.tsv (both processes' volumes).
    std::set<int64_t> have;
    for (const double i : recorded) have.insert(static_cast<int64_t>(i));
    const int64_t first = j.value("first_index", int64_t{0}), expected = j.value("expected", int64_t{-1});
    const int64_t stop = expected >= 0 ? first + expected : (have.empty() ? first : *have.rbegin() + 1);
    nlohmann::json gaps = nlohmann::json::array();
    int64_t missing = 0;
    for (int64_t i = first; i < stop; ++i) {
      if (have.count(i)) continue;
      ++missing;
      if (gaps.empty() || gaps.back()[1].get<int64_t>() != i - 1) {
        if (gaps.size() < 100) gaps.push_back({i, i});
      } else {
        gaps.back()[1] = i;
      }
    }
    j["gaps"] = gaps;
    j["missing"] = missing;
    j["complete"] = missing == 0 && j.value("dropped_total", int64_t{0}) == 0;
  }
  if (!end.chain_error.empty()) {  // every volume arrived, none was processed: not a complete run
    j["chain_error"] = end.chain_error;
    j["complete"] = false;
  }
  for (const auto& [why, n] : end.rejected) {
    j["dropped"][why] = j["dropped"].value(why, int64_t{0}) + n;
    j["dropped_total"] = j.value("dropped_total", int64_t{0}) + n;
    j["complete"] = false;
  }
  return j;
}

class RunRecordSink : public Sink {
 public:
  explicit RunRecordSink(std::filesystem::path out) : out_(std::move(out)) {}

  void on_run_start(const RunStart& run) override {
    record_.reset();
    failed_ = false;
    stages_ = run.stages;
    resume_ = run.resume_after >= 0;
  }
  void on_tr(const Tr& tr) override {
    if (failed_) return;
    try {
      if (!record_) record_ = std::make_unique<RunRecord>(out_, tr.run, tr.tr_s, stages_, resume_);
      record_->add(tr);
    } catch (const std::exception& e) {  // keep processing; what is written stays
      spdlog::error("run {}: recording stopped: {}", tr.run, e.what());
      failed_ = true;
    }
  }
  void on_run_end(const RunEnd& end) override {
    record_.reset();
    failed_ = false;
    try {
      const auto dir = out_ / end.run;
      ensure_dir(dir);
      const bool resumed = end.resumed_after >= 0 && std::filesystem::exists(dir / "tr.tsv");
      write_file_atomic(dir / "summary.json", summary(end, resumed ? read_tsv_column(dir / "tr.tsv", "index") : std::vector<double>{}).dump(2) + "\n");
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());  // keep receiving: the summary is also in the log
    }
  }

 private:
  std::filesystem::path out_;
  std::vector<std::string> stages_;
  std::unique_ptr<RunRecord> record_;
  bool failed_ = false, resume_ = false;
};

}  // namespace

void register_run_record(Registry& r) {
  // On with the session's output folder (stream.out, --out): it has no setting of its own.
  r.add_sink({"run_record", "per run: run.json, tr.tsv, latents.npy (as the run goes), summary.json", {},
              [](const SinkContext& ctx) -> std::unique_ptr<Sink> {
                if (ctx.out.empty()) return nullptr;
                return std::make_unique<RunRecordSink>(ctx.out);
              }});
}

}  // namespace hyper

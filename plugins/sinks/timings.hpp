#pragma once
// A sink that collects each volume's way through the pipeline from the records themselves
// (the Tr's stamps and stage times, the faces' t_generate and t_present) for `hyper bench
// --process in`. Not registered: bench adds it to its session and reads it afterwards.
// on_face may come from another thread: guarded.

#include <map>
#include <mutex>

#include "core/latency_report.hpp"
#include "hyper/sink.hpp"

namespace hyper {

class TimingSink : public Sink {
 public:
  explicit TimingSink(int warmup) : warmup_(warmup) {}
  void on_run_start(const RunStart& run) override;
  void on_tr(const Tr& tr) override;
  void on_face(const std::shared_ptr<const Face>& face) override;
  // What was collected (warm-up volumes included, wall_s from the first measured volume's
  // t_sent to the last result); call after the session ended.
  BenchRecord record() const;

 private:
  TrTiming& row(int64_t index);  // under mutex_

  int warmup_;
  mutable std::mutex mutex_;
  BenchRecord record_;
  std::map<int64_t, size_t> at_;  // volume index -> its row
  int64_t first_sent_ = -1, last_ns_ = 0;
};

}  // namespace hyper

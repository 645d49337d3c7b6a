#include "sinks/timings.hpp"

#include <algorithm>

#include "core/clock.hpp"

namespace hyper {

void TimingSink::on_run_start(const RunStart& run) {
  std::lock_guard lock(mutex_);
  record_.stages = run.stages;
}

TrTiming& TimingSink::row(int64_t index) {
  auto [it, added] = at_.try_emplace(index, record_.trs.size());
  if (added) {
    record_.trs.emplace_back();
    record_.trs.back().index = index;
  }
  return record_.trs[it->second];
}

void TimingSink::on_tr(const Tr& tr) {
  std::lock_guard lock(mutex_);
  TrTiming& t = row(tr.index);
  t.transport_ms = ns_to_ms(tr.t.t_recv - tr.t.t_sent);
  t.stage_ms = tr.stage_ms;
  t.ready_ms = ns_to_ms(tr.t.t_ready - tr.t.t_sent);
  ++record_.sent;
  if (tr.index == warmup_) first_sent_ = tr.t.t_sent;
  last_ns_ = std::max(last_ns_, tr.t.t_ready);
}

void TimingSink::on_face(const std::shared_ptr<const Face>& f) {
  std::lock_guard lock(mutex_);
  TrTiming& t = row(f->index);
  if (f->coarse) {  // the early face of coarse-first
    (f->t_present < 0 ? t.first_image_ms : t.first_present_ms) = ns_to_ms((f->t_present < 0 ? f->t_generate : f->t_present) - f->t_sent);
  } else if (f->t_present < 0) {
    t.generate_ms = f->generate_ms;
    t.image_ms = ns_to_ms(f->t_generate - f->t_sent);
    last_ns_ = std::max(last_ns_, f->t_generate);
  } else {
    t.present_ms = ns_to_ms(f->t_present - f->t_sent);
    last_ns_ = std::max(last_ns_, f->t_present);
  }
}

BenchRecord TimingSink::record() const {
  std::lock_guard lock(mutex_);
  BenchRecord r = record_;
  std::sort(r.trs.begin(), r.trs.end(), [](const TrTiming& a, const TrTiming& b) { return a.index < b.index; });
  if (first_sent_ > 0) r.wall_s = static_cast<double>(last_ns_ - first_sent_) * 1e-9;
  return r;
}

}  // namespace hyper

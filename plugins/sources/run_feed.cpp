#include "sources/run_feed.hpp"

#include <spdlog/spdlog.h>

namespace hyper {

namespace {
std::chrono::steady_clock::duration half_tr(double tr_s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(0.5 * tr_s));
}
}  // namespace

RunFeed::RunFeed(RunFeedOptions o) : o_(std::move(o)), queue_(o_.queue_capacity), window_(o_.reorder, half_tr(o_.tr_s)) {}

void RunFeed::open_run(const std::string& run) {
  run_ = run;
  window_.reset(0);
  received_ = 0;
  dropped_.clear();
  SourceEvent ev;
  ev.kind = SourceEvent::Kind::RunStart;
  ev.run = run_;
  ev.count = o_.count > 0 ? o_.count : -1;
  ev.tr_s = o_.tr_s;
  queue_.push_always(std::move(ev));
}

void RunFeed::add(std::unique_ptr<Tr> tr) {
  const int64_t index = tr->index;
  if (index < 0 || index >= (o_.count > 0 ? o_.count : kMaxRunVolumes))
    return drop("field_range", fmt::format("volume index {} outside the run ({} volumes at most)", index, o_.count > 0 ? o_.count : kMaxRunVolumes));
  std::vector<std::unique_ptr<Tr>> ready;
  using Added = ReorderWindow<std::unique_ptr<Tr>>::Added;
  switch (window_.add(index, std::move(tr), ready)) {
    case Added::Late: drop("out_of_order", fmt::format("volume {} came after the run went past it", index)); break;
    case Added::Duplicate: drop("duplicate", fmt::format("volume {} twice", index)); break;
    default: break;
  }
  deliver(ready);
}

void RunFeed::flush_due() {
  std::vector<std::unique_ptr<Tr>> ready;
  window_.flush_due(ready);
  deliver(ready);
}

void RunFeed::deliver(std::vector<std::unique_ptr<Tr>>& ready) {
  for (auto& tr : ready) {
    SourceEvent ev;
    ev.kind = SourceEvent::Kind::Volume;
    ev.run = run_;
    ev.tr = std::move(tr);
    if (queue_.push(std::move(ev), std::chrono::milliseconds(2000))) ++received_;
    else drop("queue_full", "processing did not take a volume in time");
  }
  ready.clear();
}

void RunFeed::drop(const std::string& reason, const std::string& what) {
  ++dropped_[reason];
  ++dropped_total_;
  spdlog::warn("{}: {} refused ({}): {}", o_.protocol, run_.empty() ? "a message" : "run " + run_ + ": a message", reason, what);
}

void RunFeed::end_run(const std::string& why, nlohmann::json extra) {
  if (run_.empty()) return;
  std::vector<std::unique_ptr<Tr>> rest;
  window_.flush_all(rest);
  deliver(rest);
  int64_t dropped = 0;
  nlohmann::json by = nlohmann::json::object();
  for (const auto& [reason, n] : dropped_) {
    by[reason] = n;
    dropped += n;
  }
  const int64_t missing = window_.missing() + (o_.count > 0 ? std::max<int64_t>(0, o_.count - window_.next()) : 0);
  nlohmann::json j{{"run", run_},
                   {"protocol", o_.protocol},
                   {"ended_by", why},
                   {"received", received_},
                   {"missing", missing},
                   {"reordered", window_.reordered()},
                   {"dropped", by},
                   {"dropped_total", dropped},
                   {"complete", missing == 0 && dropped == 0 && (o_.count <= 0 || received_ == o_.count)}};
  j.update(extra);
  SourceEvent ev;
  ev.kind = SourceEvent::Kind::RunEnd;
  ev.run = run_;
  ev.end = RunEnd{.run = run_,
                  .ended_by = why,
                  .received = received_,
                  .missing = missing,
                  .dropped = dropped,
                  .report = fmt::format("run {}: {} volumes ({}), {} missing, {} refused, {} put back in order; ended by {}", run_,
                                        received_, o_.protocol, missing, dropped, window_.reordered(), why),
                  .summary_json = j.dump(2)};
  queue_.push_always(std::move(ev));
  run_.clear();
}

}  // namespace hyper

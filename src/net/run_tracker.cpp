#include "net/run_tracker.hpp"

#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

namespace hyper {

namespace {
constexpr size_t kMaxGapsListed = 100;
}

std::string_view run_end_cause_name(RunEndCause c) {
  switch (c) {
    case RunEndCause::RunEnd: return "run_end";
    case RunEndCause::NewRun: return "new_run";
    case RunEndCause::Timeout: return "timeout";
    case RunEndCause::Shutdown: return "shutdown";
  }
  return "?";
}

int64_t RunSummary::dropped_total() const {
  return std::accumulate(dropped.begin(), dropped.end(), int64_t{0});
}

bool RunSummary::complete() const {
  return missing == 0 && dropped_total() == 0 && (expected < 0 || received == expected);
}

RunTracker::RunTracker(std::string run, int64_t first_index, int64_t count) : next_(first_index) {
  summary_.run = std::move(run);
  summary_.first_index = first_index;
  summary_.expected = count;
}

void RunTracker::set_announced(int64_t first_index, int64_t count) {
  summary_.expected = count;
  if (summary_.received == 0) summary_.first_index = next_ = first_index;
}

void RunTracker::set_total(int64_t n_volumes) {
  if (n_volumes > 0) total_ = n_volumes;
}

RunTracker::Verdict RunTracker::late(int64_t index) {
  const bool delivered = static_cast<size_t>(index) < seen_.size() && seen_[static_cast<size_t>(index)];
  if (delivered) {
    ++summary_.duplicates;
    return Verdict::Duplicate;
  }
  ++summary_.out_of_order;  // fell in a gap already given up; too late for in-order processing
  return Verdict::OutOfOrder;
}

RunTracker::Verdict RunTracker::admit(int64_t index) {
  if (index < next_) return late(index);
  if (index > next_) {
    summary_.missing += index - next_;
    if (summary_.gaps.size() < kMaxGapsListed) summary_.gaps.emplace_back(next_, index - 1);
  }
  if (seen_.size() <= static_cast<size_t>(index)) seen_.resize(static_cast<size_t>(index) + 1, false);
  seen_[static_cast<size_t>(index)] = true;
  next_ = index + 1;
  ++summary_.received;
  return Verdict::Accept;
}

void RunTracker::mark_lost(int64_t index) {
  --summary_.received;
  ++summary_.missing;
  if (summary_.gaps.size() < kMaxGapsListed) summary_.gaps.emplace_back(index, index);
}

void RunTracker::touch(double now_s) {
  if (first_s_ < 0) first_s_ = now_s;
  last_s_ = now_s;
}

int64_t RunTracker::expected_end() const {
  // In order of trust: run_start's count, run_end's volumes_sent, the volume headers' n_volumes.
  const RunSummary& s = summary_;
  return s.expected >= 0       ? s.first_index + s.expected
         : s.volumes_sent >= 0 ? s.first_index + s.volumes_sent
         : total_ > 0          ? total_
                               : next_;
}

RunSummary RunTracker::finish(RunEndCause cause) const {
  RunSummary s = summary_;
  s.ended_by = cause;
  // Expected volumes after the last delivered one are missing.
  const int64_t end = expected_end();
  if (s.expected < 0 && end != next_) s.expected = end - s.first_index;
  if (end > next_) {
    s.missing += end - next_;
    if (s.gaps.size() < kMaxGapsListed) s.gaps.emplace_back(next_, end - 1);
  }
  s.latency_ms = summarize(latency_ms_);
  s.duration_s = first_s_ < 0 ? 0 : last_s_ - first_s_;
  return s;
}

nlohmann::json to_json(const RunSummary& s) {
  nlohmann::json dropped = nlohmann::json::object();
  for (size_t i = 0; i < kRejectCount; ++i)
    if (s.dropped[i] > 0) dropped[std::string(reject_name(static_cast<Reject>(i)))] = s.dropped[i];
  nlohmann::json gaps = nlohmann::json::array();
  for (const auto& [a, b] : s.gaps) gaps.push_back({a, b});
  return {{"run", s.run},
          {"ended_by", run_end_cause_name(s.ended_by)},
          {"complete", s.complete()},
          {"first_index", s.first_index},
          {"expected", s.expected},
          {"volumes_sent", s.volumes_sent},
          {"received", s.received},
          {"missing", s.missing},
          {"gaps", gaps},
          {"recovered", s.recovered},
          {"duplicates", s.duplicates},
          {"out_of_order", s.out_of_order},
          {"dropped", dropped},
          {"dropped_total", s.dropped_total()},
          {"latency_sent_to_recv_ms", to_json(s.latency_ms)},
          {"duration_s", s.duration_s},
          {"link", s.link}};
}

std::string format_summary(const RunSummary& s) {
  std::ostringstream os;
  os << fmt::format("run {}: {} volumes received", s.run, s.received);
  if (s.expected >= 0) os << fmt::format(" of {}", s.expected);
  os << fmt::format(" in {:.1f} s (ended by {}){}\n", s.duration_s, run_end_cause_name(s.ended_by),
                    s.complete() ? ", complete" : "");
  os << fmt::format("  missing {}, recovered {}, duplicates {}, out of order {}, dropped {}", s.missing, s.recovered,
                    s.duplicates, s.out_of_order, s.dropped_total());
  for (size_t i = 0; i < kRejectCount; ++i)
    if (s.dropped[i] > 0) os << fmt::format(" [{} {}]", reject_name(static_cast<Reject>(i)), s.dropped[i]);
  os << "\n";
  if (!s.gaps.empty()) {
    os << "  gaps:";
    for (size_t i = 0; i < std::min<size_t>(s.gaps.size(), 10); ++i)
      os << fmt::format(" {}-{}", s.gaps[i].first, s.gaps[i].second);
    if (s.gaps.size() > 10) os << " ...";
    os << "\n";
  }
  if (s.latency_ms.n > 0)
    os << fmt::format("  t_sent->t_recv: p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms\n", s.latency_ms.p50,
                      s.latency_ms.p99, s.latency_ms.max);
  std::string text = os.str();
  text.pop_back();  // the caller's logger ends the line
  return text;
}

}  // namespace hyper

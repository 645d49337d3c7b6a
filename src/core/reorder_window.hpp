#pragma once
// Puts volumes that arrive slightly out of order back in order (a Pyneal sender and a watched
// folder can both deliver volume 12 before volume 11). Items are released in index order;
// one that comes after a gap waits until the gap fills, or until `depth` items wait behind
// it, or until the oldest has waited `max_wait`: then the gap is given up (counted missing)
// and the rest go on. An item whose index was already released or given up is late.
// Not thread-safe: one thread owns it.

#include <chrono>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace hyper {

template <class T>
class ReorderWindow {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Added : uint8_t { InOrder, Held, Late, Duplicate };

  ReorderWindow(size_t depth, Clock::duration max_wait) : depth_(depth), max_wait_(max_wait) {}

  void reset(int64_t first = 0) {  // a new run: its own counts
    next_ = first;
    missing_ = reordered_ = 0;
    held_.clear();
  }

  // Adds item `index`; what is now in order is appended to `out`.
  Added add(int64_t index, T item, std::vector<T>& out, Clock::time_point now = Clock::now()) {
    if (index < next_) return Added::Late;
    if (held_.count(index)) return Added::Duplicate;
    const bool in_order = index == next_;
    held_.emplace(index, std::pair{now, std::move(item)});
    if (!in_order) ++reordered_;
    release(out);
    while (held_.size() > depth_) give_up_gap(out);
    return in_order ? Added::InOrder : Added::Held;
  }

  // Releases what waited longer than max_wait (its gap given up).
  void flush_due(std::vector<T>& out, Clock::time_point now = Clock::now()) {
    while (!held_.empty() && now - oldest() >= max_wait_) give_up_gap(out);
  }

  // Everything held, in order (a run's end).
  void flush_all(std::vector<T>& out) {
    while (!held_.empty()) give_up_gap(out);
  }

  // Gives up every index below `to` that is not held (a sender that no longer has them);
  // held ones below it are released.
  void skip_to(int64_t to, std::vector<T>& out) {
    for (; next_ < to; ++next_) {
      if (auto it = held_.find(next_); it != held_.end()) {
        out.push_back(std::move(it->second.second));
        held_.erase(it);
      } else {
        ++missing_;
      }
    }
    release(out);
  }

  bool holds(int64_t index) const { return held_.count(index) > 0; }
  int64_t first_held() const { return held_.empty() ? next_ : held_.begin()->first; }
  int64_t next() const { return next_; }
  int64_t missing() const { return missing_; }      // indices given up
  int64_t reordered() const { return reordered_; }  // items that arrived ahead of a gap
  bool empty() const { return held_.empty(); }

 private:
  void release(std::vector<T>& out) {
    for (auto it = held_.begin(); it != held_.end() && it->first == next_; it = held_.erase(it), ++next_)
      out.push_back(std::move(it->second.second));
  }
  void give_up_gap(std::vector<T>& out) {
    missing_ += held_.begin()->first - next_;
    next_ = held_.begin()->first;
    release(out);
  }
  Clock::time_point oldest() const {
    Clock::time_point t = Clock::time_point::max();
    for (const auto& [i, v] : held_) t = std::min(t, v.first);
    return t;
  }

  size_t depth_;
  Clock::duration max_wait_;
  int64_t next_ = 0, missing_ = 0, reordered_ = 0;
  std::map<int64_t, std::pair<Clock::time_point, T>> held_;
};

}  // namespace hyper

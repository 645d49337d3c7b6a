#include "sinks/frame_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

namespace hyper {

FrameSchedule::FrameSchedule(std::vector<Event> events, double frame_s, double flicker_hz)
    : events_(std::move(events)), frame_s_(frame_s) {
  if (!(frame_s > 0)) throw std::invalid_argument("frame duration must be positive");
  std::stable_sort(events_.begin(), events_.end(), [](const Event& a, const Event& b) { return a.onset < b.onset; });
  for (const Event& e : events_) {
    if (!std::isfinite(e.onset) || e.onset < 0 || !std::isfinite(e.duration) || !(e.duration > 0))
      throw std::invalid_argument(fmt::format("an event at {} s lasts {} s", e.onset, e.duration));
    // The end rounded on its own: back-to-back events (onset + duration = next onset) never overlap.
    onset_.push_back(std::llround(e.onset / frame_s));
    frames_.push_back(std::max<int64_t>(1, std::llround((e.onset + e.duration) / frame_s) - onset_.back()));
  }
  for (size_t i = 1; i < events_.size(); ++i)
    if (onset_[i] < onset_[i - 1] + frames_[i - 1])
      throw std::invalid_argument(fmt::format("the events at {} s and {} s overlap", events_[i - 1].onset, events_[i].onset));
  if (flicker_hz > 0) {
    // A whole number of frames per cycle, on for its first half (9 of 18 at 60 Hz for 3.33 Hz).
    cycle_ = std::max(2, static_cast<int>(std::lround(1.0 / (flicker_hz * frame_s))));
    on_ = cycle_ / 2;
  }
}

int FrameSchedule::event_at(int64_t frame) const {
  const auto it = std::upper_bound(onset_.begin(), onset_.end(), frame);
  if (it == onset_.begin()) return -1;
  const auto e = static_cast<size_t>(it - onset_.begin() - 1);
  return frame < onset_[e] + frames_[e] ? static_cast<int>(e) : -1;
}

int64_t FrameSchedule::stimulus_at(int64_t frame) const {
  const int e = event_at(frame);
  if (e < 0) return -1;
  const auto i = static_cast<size_t>(e);
  if (cycle_ > 0 && (frame - onset_[i]) % cycle_ >= on_) return -1;
  return events_[i].stim_index;
}

}  // namespace hyper

#pragma once
// A design in frames (pure: tested without a screen): which face is on screen at each
// frame of the measured refresh, for the paper's presentation (each face flickering on and
// off at 3.33 Hz for 1.5 s, 3 s ISI; all from the design and the settings). Onsets and
// durations are rounded to whole frames: a screen cannot show anything for less.

#include <cstdint>
#include <vector>

#include "io/bids.hpp"

namespace hyper {

class FrameSchedule {
 public:
  // `events` need not be sorted; overlapping events throw std::invalid_argument naming them.
  // flicker_hz 0: each face stays on for its whole duration.
  FrameSchedule(std::vector<Event> events, double frame_s, double flicker_hz);

  const std::vector<Event>& events() const { return events_; }  // sorted by onset
  double frame_s() const { return frame_s_; }
  int64_t onset_frame(size_t e) const { return onset_[e]; }
  int64_t duration_frames(size_t e) const { return frames_[e]; }
  int64_t end_frame() const { return events_.empty() ? 0 : onset_.back() + frames_.back(); }  // the first frame after the last event
  int flicker_cycle() const { return cycle_; }  // frames per on/off cycle; 0: no flicker

  // The event whose duration covers frame n (its face may be in the off half of a cycle), or -1.
  int event_at(int64_t frame) const;
  // The stimulus drawn at frame n: the event's stim_index while its face is on, else -1 (fixation only).
  int64_t stimulus_at(int64_t frame) const;

 private:
  std::vector<Event> events_;
  std::vector<int64_t> onset_, frames_;
  double frame_s_;
  int cycle_ = 0, on_ = 0;
};

}  // namespace hyper

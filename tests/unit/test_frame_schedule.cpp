// The design in frames (plugins/sinks/frame_schedule.hpp) against hand-counted frames.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "sinks/frame_schedule.hpp"

using namespace hyper;

TEST_CASE("a design in frames: the paper's flicker at 60 Hz is 9 frames on, 9 off, and onsets round to whole frames") {
  // Two faces of the paper's trial (1.5 s flickering at 3.33 Hz, 3 s ISI) at 60 Hz.
  const FrameSchedule s({{4.5, 1.5, "train", 7}, {0.0, 1.5, "train", 3}}, 1.0 / 60, 3.33);
  REQUIRE(s.events().size() == 2);
  CHECK(s.events()[0].stim_index == 3);  // sorted by onset
  CHECK(s.onset_frame(0) == 0);
  CHECK(s.onset_frame(1) == 270);
  CHECK(s.duration_frames(0) == 90);
  CHECK(s.end_frame() == 360);
  CHECK(s.flicker_cycle() == 18);
  int on = 0;
  for (int64_t f = 0; f < 90; ++f) {
    const bool shown = s.stimulus_at(f) == 3;
    CHECK(shown == (f % 18 < 9));
    on += shown;
    CHECK(s.event_at(f) == 0);
  }
  CHECK(on == 45);  // five cycles
  CHECK(s.event_at(90) == -1);
  CHECK(s.stimulus_at(90) == -1);
  CHECK(s.event_at(269) == -1);
  CHECK(s.stimulus_at(270) == 7);
  CHECK(s.event_at(359) == 1);
  CHECK(s.event_at(360) == -1);
  CHECK(s.event_at(-5) == -1);

  // No flicker: on for the whole duration; an onset between frames rounds to the nearest.
  const FrameSchedule steady({{0.01, 0.05, "test", 1}}, 1.0 / 60, 0);
  CHECK(steady.onset_frame(0) == 1);      // 0.6 frames
  CHECK(steady.duration_frames(0) == 3);  // 3.0 frames
  for (int64_t f = 1; f < 4; ++f) CHECK(steady.stimulus_at(f) == 1);
  CHECK(steady.stimulus_at(4) == -1);
  // At 144 Hz the paper's 1.5 s is 216 frames, a 3.33 Hz cycle 43 (on 21).
  const FrameSchedule fast({{0.0, 1.5, "train", 2}}, 1.0 / 144, 3.33);
  CHECK(fast.duration_frames(0) == 216);
  CHECK(fast.flicker_cycle() == 43);
}

TEST_CASE("a design with overlapping events or a frame period of zero is refused") {
  CHECK_THROWS_AS(FrameSchedule({{0.0, 2.0, "train", 1}, {1.0, 1.0, "train", 2}}, 1.0 / 60, 3.33), std::invalid_argument);
  CHECK_THROWS_AS(FrameSchedule({{0.0, 0.0, "train", 1}}, 1.0 / 60, 3.33), std::invalid_argument);
  CHECK_THROWS_AS(FrameSchedule({{0.0, 1.0, "train", 1}}, 0.0, 3.33), std::invalid_argument);
}

TEST_CASE("back-to-back events whose times fall between frames never overlap, and NaN times are refused") {
  // Each 1.65 frames: rounding onsets and durations separately made every event 2 frames, so the
  // third (onset frame 3) began before the second (frames 2-3) ended; rounding each end does not.
  const double f = 1.0 / 60;
  std::vector<Event> back_to_back;
  for (int i = 0; i < 20; ++i) back_to_back.push_back({i * 0.0275, 0.0275, "train", i});
  const FrameSchedule s(back_to_back, f, 0);
  for (size_t i = 1; i < 20; ++i) CHECK(s.onset_frame(i) >= s.onset_frame(i - 1) + s.duration_frames(i - 1));
  CHECK(s.end_frame() == std::llround(20 * 0.0275 / f));
  const double nan = std::nan("");
  CHECK_THROWS_AS(FrameSchedule({{nan, 1.0, "train", 1}}, f, 0), std::invalid_argument);
  CHECK_THROWS_AS(FrameSchedule({{0.0, nan, "train", 1}}, f, 0), std::invalid_argument);
}

#pragma once
// Where things go in a window, for any window size (pure: tested without SDL): the decoded
// face, the face presented beside it (display.truth, experimenter view), their labels, a
// note under the faces (e.g. "procedural stand-in"), the HUD panel and the fixation point.
// Faces shrink below display.face_px when the window is too small; nothing is placed
// outside the window or under the HUD.

#include <string>

#include "io/text.hpp"

namespace hyper {

struct Rect {
  int x = 0, y = 0, w = 0, h = 0;  // w == 0: not shown
  bool empty() const { return w <= 0 || h <= 0; }
  bool inside(int width, int height) const { return x >= 0 && y >= 0 && x + w <= width && y + h <= height; }
  bool overlaps(const Rect& o) const {
    return !empty() && !o.empty() && x < o.x + o.w && o.x < x + w && y < o.y + o.h && o.y < y + h;
  }
};

struct ScreenLayout {
  Rect decoded, truth;                            // truth empty when not shown
  Rect decoded_label, truth_label, note;          // text boxes ("decoded", "shown", the note)
  Rect hud;                                       // empty when the HUD is off
  int fixation_x = 0, fixation_y = 0;             // the decoded face's centre
};

inline constexpr int kHudWidth = 300, kHudHeight = 136;
inline constexpr int kTextHeight = 12;           // io/text.hpp: 12 px a line

ScreenLayout layout_screen(int width, int height, int face_px, bool truth, bool hud, const std::string& note);

}  // namespace hyper

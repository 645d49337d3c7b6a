#include "sinks/screen_layout.hpp"

#include <algorithm>

namespace hyper {

ScreenLayout layout_screen(int width, int height, int face_px, bool truth, bool hud, const std::string& note) {
  constexpr int kGap = 16, kMargin = 8;
  ScreenLayout l;
  if (hud) l.hud = {0, 0, std::min(width, kHudWidth), std::min(height, kHudHeight)};
  // The faces' region: the window less margins, below the HUD's band when the HUD is on,
  // with a line above the faces for their labels (truth) and one below for the note.
  const int top = (hud ? l.hud.h : 0) + kMargin + (truth ? kTextHeight + 2 : 0);
  const int bottom = height - kMargin - (note.empty() ? 0 : kTextHeight + 6);
  const int faces = truth ? 2 : 1;
  const int side = std::max(1, std::min({face_px, (width - 2 * kMargin - (faces - 1) * kGap) / faces, bottom - top}));
  const int row_w = faces * side + (faces - 1) * kGap;
  const int x0 = (width - row_w) / 2;
  // Centred on the window when there is room (the fixation point stays where the eyes are),
  // else as high as the region allows.
  const int y = std::clamp((height - side) / 2, top, std::max(top, bottom - side));
  if (truth) {
    l.truth = {x0, y, side, side};
    l.decoded = {x0 + side + kGap, y, side, side};
    l.truth_label = {l.truth.x, y - kTextHeight - 2, text_width("shown"), kTextHeight};
    l.decoded_label = {l.decoded.x, y - kTextHeight - 2, text_width("decoded"), kTextHeight};
  } else {
    l.decoded = {x0, y, side, side};
  }
  if (!note.empty()) {
    const int w = std::min(text_width(note), width - 2 * kMargin);
    l.note = {l.decoded.x + (side - w) / 2, y + side + 6, w, kTextHeight};
    l.note.x = std::clamp(l.note.x, kMargin, width - kMargin - w);
  }
  l.fixation_x = l.decoded.x + side / 2;
  l.fixation_y = l.decoded.y + side / 2;
  return l;
}

}  // namespace hyper

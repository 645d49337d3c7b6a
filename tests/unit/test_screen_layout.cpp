// The screen's layout (plugins/sinks/screen_layout.hpp) at the window sizes a lab meets:
// every face and label inside the window, none under the HUD, none over another.
#include <doctest/doctest.h>

#include <vector>

#include "sinks/screen_layout.hpp"

using namespace hyper;

TEST_CASE("faces and labels fit 800x600, 1024x768 and 1920x1080, clear of the HUD and of each other") {
  for (const auto& [w, h] : {std::pair{800, 600}, std::pair{1024, 768}, std::pair{1920, 1080}})
    for (const bool truth : {false, true})
      for (const bool hud : {false, true}) {
        CAPTURE(w);
        CAPTURE(h);
        CAPTURE(truth);
        CAPTURE(hud);
        const ScreenLayout l = layout_screen(w, h, 512, truth, hud, "procedural stand-in");
        std::vector<Rect> items{l.decoded, l.note};
        if (truth) items.insert(items.end(), {l.truth, l.truth_label, l.decoded_label});
        for (const Rect& r : items) {
          CHECK(!r.empty());
          CHECK(r.inside(w, h));
          CHECK(!r.overlaps(l.hud));
        }
        for (size_t i = 0; i < items.size(); ++i)
          for (size_t j = i + 1; j < items.size(); ++j) CHECK(!items[i].overlaps(items[j]));
        CHECK(l.hud.empty() == !hud);
        CHECK(l.decoded.w == l.decoded.h);
        CHECK(l.decoded.w >= 300);  // shrunk only as far as the window needs
        // The cross sits on the decoded face's centre.
        CHECK(l.fixation_x == l.decoded.x + l.decoded.w / 2);
        CHECK(l.fixation_y == l.decoded.y + l.decoded.h / 2);
        if (truth) CHECK(l.truth.x + l.truth.w < l.decoded.x);  // shown left of decoded
      }
}

TEST_CASE("with room to spare the face keeps its size and the window's centre") {
  const ScreenLayout l = layout_screen(1920, 1080, 512, false, false, "");
  CHECK(l.decoded.w == 512);
  CHECK(l.fixation_x == 960);
  CHECK(l.fixation_y == 540);
  // The 1024x768 window the first wave drew with the shown face at x = -272: now inside.
  const ScreenLayout t = layout_screen(1024, 768, 512, true, true, "");
  CHECK(t.truth.x >= 0);
  CHECK(t.truth.w < 512);
}

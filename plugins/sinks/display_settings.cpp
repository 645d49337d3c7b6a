// The [display] settings and the HUD's feed (display.hpp); the window itself is display.cpp.
#include <cmath>
#include <cstdio>

#include <spdlog/fmt/fmt.h>

#include "core/settings.hpp"
#include "sinks/display.hpp"

namespace hyper {

namespace {

std::array<uint8_t, 3> parse_colour(const std::string& key, const std::string& s) {
  unsigned r = 0, g = 0, b = 0;
  if (s.size() != 7 || s[0] != '#' || std::sscanf(s.c_str() + 1, "%2x%2x%2x", &r, &g, &b) != 3)
    throw SettingsError(key + ": '" + s + "' is not a colour like \"#808080\"");
  return {static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
}

}  // namespace

std::vector<SettingSpec> display_settings() {
  using T = SettingType;
  return {
      {.key = "display.enabled", .type = T::Bool, .def = false,
         .help = "show the faces in a window (display.screen, display.fullscreen)", .flag = "--display"},
      {.key = "display.driver", .type = T::String, .def = std::string(""),
         .help = "SDL video driver: empty for SDL's choice; dummy or offscreen for headless runs"},
      {.key = "display.screen", .type = T::Int, .def = int64_t{0}, .help = "which display (0: the first; the projector's index)",
         .min = 0.0, .max = 16.0},
      {.key = "display.fullscreen", .type = T::Bool, .def = false, .help = "fullscreen on that display (F toggles)",
         .flag = "--fullscreen"},
      {.key = "display.width", .type = T::Int, .def = int64_t{1024}, .unit = "px", .help = "window width", .min = 64.0, .max = 16384.0},
      {.key = "display.height", .type = T::Int, .def = int64_t{768}, .unit = "px", .help = "window height", .min = 64.0, .max = 16384.0},
      {.key = "display.face_px", .type = T::Int, .def = int64_t{512}, .unit = "px", .help = "face size on screen",
         .min = 8.0, .max = 16384.0},
      {.key = "display.background", .type = T::String, .def = std::string("#808080"), .help = "background colour"},
      {.key = "display.fixation_px", .type = T::Int, .def = int64_t{12}, .unit = "px",
         .help = "fixation cross size (arm to arm); 0: none", .min = 0.0, .max = 4096.0},
      {.key = "display.fixation_deg", .type = T::Float, .def = 0.0, .unit = "deg",
         .help = "fixation cross size in visual angle (the paper: 0.6); needs screen_width_cm and distance_cm; "
                 "0 uses fixation_px",
         .min = 0.0, .max = 90.0},
      {.key = "display.screen_width_cm", .type = T::Float, .def = 0.0, .unit = "cm",
         .help = "visible width of the screen (projection) the participant sees", .min = 0.0},
      {.key = "display.distance_cm", .type = T::Float, .def = 0.0, .unit = "cm", .help = "eye to screen", .min = 0.0},
      {.key = "display.fixation_color", .type = T::String, .def = std::string("#ff0000"), .help = "fixation cross colour"},
      {.key = "display.hud", .type = T::Bool, .def = false, .help = "start with the experimenter HUD on (H toggles)"},
      {.key = "display.hud_trs", .type = T::Int, .def = int64_t{100}, .unit = "TRs", .help = "TRs in the HUD's strip charts",
         .min = 2.0, .max = 10000.0},
      {.key = "display.truth", .type = T::String, .def = std::string(""),
         .help = "replaying a twin: its dataset folder; the face presented (the response's peak earlier) is shown "
                 "left of the decoded one (on the screen and the dashboard, which also plots their latents' correlation)", .existing = true},
      {.key = "display.experimenter_screen", .type = T::Int, .def = int64_t{-1},
         .help = "a second window on this display carries the HUD and the truth view, so the subject's never shows them; "
                 "-1: none (one monitor: they go on the subject's window)",
         .min = -1.0, .max = 16.0},
      {.key = "display.vsync", .type = T::Bool, .def = true, .help = "present in step with the screen's refresh"},
      {.key = "display.capture", .type = T::Bool, .def = false,
         .help = "write each presented screen as <out>/<run>/screen/INDEX.png (the experimenter's: experimenter/INDEX.png)"}};
}

DisplayOptions display_options(const Params& st) {
  DisplayOptions o;
  o.driver = st.get_string("display.driver");
  o.screen = static_cast<int>(st.get_int("display.screen"));
  o.fullscreen = st.get_bool("display.fullscreen");
  o.width = static_cast<int>(st.get_int("display.width"));
  o.height = static_cast<int>(st.get_int("display.height"));
  o.face_px = static_cast<int>(st.get_int("display.face_px"));
  o.background = parse_colour("display.background", st.get_string("display.background"));
  o.fixation = parse_colour("display.fixation_color", st.get_string("display.fixation_color"));
  o.fixation_px = static_cast<int>(st.get_int("display.fixation_px"));
  const double deg = st.get_float("display.fixation_deg");
  if (deg > 0) {
    const double width_cm = st.get_float("display.screen_width_cm"), distance = st.get_float("display.distance_cm");
    if (width_cm <= 0 || distance <= 0)
      throw SettingsError("display.fixation_deg: needs display.screen_width_cm and display.distance_cm (the viewing geometry)");
    // Size on screen of `deg` at that distance, in pixels of the window's width.
    const double cm = 2.0 * distance * std::tan(deg * M_PI / 360.0);
    o.fixation_px = std::max(1, static_cast<int>(std::lround(cm / width_cm * o.width)));
    o.fixation_width_fraction = cm / width_cm;  // in pixels of the window's real width when drawn (fullscreen included)
  }
  o.hud = st.get_bool("display.hud");
  o.hud_trs = static_cast<int>(st.get_int("display.hud_trs"));
  o.vsync = st.get_bool("display.vsync");
  o.capture = st.get_bool("display.capture");
  o.truth = st.get_string("display.truth");
  o.experimenter_screen = static_cast<int>(st.get_int("display.experimenter_screen"));
  if (o.experimenter_screen >= 0 && o.experimenter_screen == o.screen)
    throw SettingsError(fmt::format("display.experimenter_screen: {} is the subject's display (display.screen): give the "
                                    "experimenter's monitor, or -1 for one window", o.screen));
  return o;
}

void HudFeed::add(const std::string& run, const Sample& s, size_t keep) {
  std::lock_guard lock(mutex_);
  if (run != run_) run_ = run, recent_.clear();
  recent_.push_back(s);
  while (recent_.size() > keep) recent_.pop_front();
}
void HudFeed::set_stages(std::vector<std::string> names) {
  std::lock_guard lock(mutex_);
  stages_ = std::move(names);
}
void HudFeed::set_skipped(int64_t skipped) {
  std::lock_guard lock(mutex_);
  skipped_ = skipped;
}
void HudFeed::set_dropped(int64_t dropped) {
  std::lock_guard lock(mutex_);
  dropped_ = dropped;
}
HudFeed::View HudFeed::view() const {
  std::lock_guard lock(mutex_);
  return {run_, stages_, std::vector<Sample>(recent_.begin(), recent_.end()), skipped_, dropped_};
}

}  // namespace hyper

#pragma once
// The participant's screen (SDL2), run on the main thread: the newest face scaled to a set
// size on a set background, a fixation cross over it, and an experimenter HUD (H), on the
// subject's window or, with display.experimenter_screen, on a window of its own. Keys:
// Esc or Q quits, F toggles fullscreen, H the HUD. Presented with vsync; t_present is
// stamped when SDL_RenderPresent returns. Headless runs use SDL's dummy or offscreen
// driver (display.driver) and can capture each presented screen as PNG. The screen sink
// (screen.cpp) runs it; hyper bench's in-process mode too.

#include <array>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hyper/params.hpp"
#include "hyper/setting_spec.hpp"
#include "hyper/sink.hpp"
#include "io/png.hpp"
#include "sinks/screen_layout.hpp"

struct SDL_Window;
struct SDL_Renderer;
struct SDL_Texture;

namespace hyper {

struct DisplayOptions {
  std::string driver;        // SDL video driver; empty: SDL's choice (x11, wayland...)
  int screen = 0;            // which display (the projector)
  bool fullscreen = false;
  int width = 1024, height = 768;  // window size when not fullscreen
  int face_px = 512;
  std::array<uint8_t, 3> background{128, 128, 128};
  int fixation_px = 12;      // half-length of the cross's arms
  double fixation_width_fraction = 0;  // > 0 (display.fixation_deg): the cross's size as a fraction of the window's width
  std::array<uint8_t, 3> fixation{255, 0, 0};
  bool hud = false;
  int hud_trs = 100;         // TRs in the strip charts
  bool vsync = true;
  std::string label_text;    // under the face, e.g. "procedural stand-in"
  std::string truth;         // a BIDS twin dataset: show the face presented beside the decoded one
  int experimenter_screen = -1;  // a second window on this display carries the HUD and the truth view; -1: none
  bool capture = false;      // each presented screen as PNG in <out>/<run>/screen/
  std::filesystem::path out;
};

// The [display] settings (declared by the screen sink).
std::vector<SettingSpec> display_settings();
// The fixation size from display.fixation_deg and the viewing geometry when set.
DisplayOptions display_options(const Params& settings);

// What the HUD shows, fed by the processing and generator threads.
class HudFeed {
 public:
  struct Sample {
    int64_t index = 0;
    double sent_to_ready_ms = 0, fd_mm = 0;
    std::vector<double> stage_ms;  // per chain stage, in `stages` order
  };
  void set_stages(std::vector<std::string> names);
  void add(const std::string& run, const Sample& s, size_t keep);
  void set_skipped(int64_t skipped);
  void set_dropped(int64_t dropped);
  struct View {
    std::string run;
    std::vector<std::string> stages;
    std::vector<Sample> recent;
    int64_t skipped = 0, dropped = 0;
  };
  View view() const;

 private:
  mutable std::mutex mutex_;
  std::string run_;
  std::vector<std::string> stages_;
  std::deque<Sample> recent_;
  int64_t skipped_ = 0, dropped_ = 0;
};

class Display {
 public:
  explicit Display(DisplayOptions options);  // throws with SDL's error
  ~Display();
  Display(const Display&) = delete;
  Display& operator=(const Display&) = delete;

  // Handles events and, with a new face, shows it (`t_present` gets the time it was on the
  // subject's screen, CLOCK_REALTIME ns). False once the user quit (Esc, Q, closing the
  // subject's window).
  bool step(const Face* face, const HudFeed& hud, int64_t* t_present = nullptr);

  // The presentation (presentation.cpp): its faces uploaded once, by stimulus index (RGB,
  // side x side), then one frame per call: stimulus `stim` (-1: none) under the fixation
  // cross, presented; returns when SDL_RenderPresent returned (CLOCK_REALTIME ns).
  void load_stimuli(const std::map<int64_t, std::vector<uint8_t>>& faces, int side);
  // `capture` (when given): the frame's pixels (RGB, width x height), read back before it is
  // presented (a copy: the caller encodes it after the flip, off the frame's time).
  int64_t present_stimulus(int64_t stim, RgbImage* capture = nullptr);
  // Handles the window's events; false once the user quit. Keys pressed are kept for take_keys().
  bool poll();
  struct KeyPress {
    int32_t sym = 0;   // SDL_Keycode
    int64_t t_ns = 0;  // when SDL received it (CLOCK_REALTIME ns)
  };
  std::vector<KeyPress> take_keys();
  double mode_refresh_hz() const;  // the subject's display mode's refresh rate; 0 unknown

 private:
  // One window: the subject's (the face and the fixation cross; with no experimenter
  // window also the HUD and the truth view) or the experimenter's (both faces and the HUD).
  struct Surface {
    SDL_Window* window = nullptr;
    SDL_Renderer* renderer = nullptr;
    SDL_Texture* face = nullptr;
    SDL_Texture* truth = nullptr;  // the face presented, shown beside the reconstruction
    int tex_w = 0, tex_h = 0;
    bool experimenter = false;
  };
  Surface open(const std::string& title, int screen, bool fullscreen, bool vsync, bool experimenter);
  void close(Surface& s);
  void upload(Surface& s, const Face& face);
  void draw(Surface& s, const HudFeed& hud);
  void draw_hud(SDL_Renderer* r, const HudFeed& hud);
  void capture(Surface& s, const Face& face, const char* folder);
  void record(const Face& f, int64_t t_present);
  void draw_fixation(SDL_Renderer* r, int x, int y, int width);
  void draw_thermometer(SDL_Renderer* r, const Rect& face, int width);

  DisplayOptions o_;
  Surface subject_, experimenter_;  // experimenter_.window == nullptr: none
  bool have_face_ = false, have_truth_ = false;
  bool have_feedback_ = false;
  double feedback_bar_ = 0;  // the thermometer beside the face (a feedback protocol)
  std::deque<double> present_ms_;  // sent -> present, for the HUD
  std::string run_;
  int presented_fd_ = -1;          // <out>/<run>/presented.tsv
  bool redraw_ = false;            // an event asked for the screen to be drawn again
  std::vector<KeyPress> keys_;
  std::map<int64_t, SDL_Texture*> stimuli_;  // the presentation's faces
  int stimulus_side_ = 0;
};

}  // namespace hyper

#pragma once
// The participant's screen (SDL2), run on the main thread: the newest face scaled to a set
// size on a set background, a fixation cross over it, and an experimenter HUD (H). Keys:
// Esc or Q quits, F toggles fullscreen, H the HUD. Presented with vsync; t_present is
// stamped when SDL_RenderPresent returns. Headless runs use SDL's dummy or offscreen
// driver (display.driver) and can capture each presented screen as PNG. The screen sink
// (screen.cpp) runs it; hyper bench's in-process mode too.

#include <array>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hyper/params.hpp"
#include "hyper/setting_spec.hpp"
#include "hyper/sink.hpp"

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
  std::array<uint8_t, 3> fixation{255, 0, 0};
  bool hud = false;
  int hud_trs = 100;         // TRs in the strip charts
  bool vsync = true;
  std::string label_text;    // under the face, e.g. "procedural stand-in"
  std::string truth;         // a BIDS twin dataset: show the face presented beside the decoded one
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

  // Handles events and, with a new face, shows it (`t_present` gets the time it was on
  // screen, CLOCK_REALTIME ns). False once the user quit (Esc, Q, close).
  bool step(const Face* face, const HudFeed& hud, int64_t* t_present = nullptr);

 private:
  void draw(const HudFeed& hud);
  void text(int x, int y, const std::string& s);
  void record(const Face& f, int64_t t_present);

  DisplayOptions o_;
  SDL_Window* window_ = nullptr;
  SDL_Renderer* renderer_ = nullptr;
  SDL_Texture* texture_ = nullptr;
  SDL_Texture* truth_ = nullptr;  // shown beside the reconstruction when the stimulus is known
  int tex_w_ = 0, tex_h_ = 0;
  bool have_face_ = false, have_truth_ = false;
  std::deque<double> present_ms_;  // sent -> present, for the HUD
  std::string run_;
  int presented_fd_ = -1;          // <out>/<run>/presented.tsv
};

}  // namespace hyper

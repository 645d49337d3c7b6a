#include "sinks/display.hpp"

#include <SDL.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "io/files.hpp"
#include "io/png.hpp"

namespace stb {
#include <stb_easy_font.h>  // text as quads: the HUD needs no font file
}

namespace hyper {

namespace {

std::array<uint8_t, 3> parse_colour(const std::string& key, const std::string& s) {
  unsigned r = 0, g = 0, b = 0;
  if (s.size() != 7 || s[0] != '#' || std::sscanf(s.c_str() + 1, "%2x%2x%2x", &r, &g, &b) != 3)
    throw SettingsError(key + ": '" + s + "' is not a colour like \"#808080\"");
  return {static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
}

[[noreturn]] void sdl_fail(const std::string& what) { throw std::runtime_error(what + ": " + SDL_GetError()); }

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
                 "left of the decoded one", .existing = true},
      {.key = "display.vsync", .type = T::Bool, .def = true, .help = "present in step with the screen's refresh"},
      {.key = "display.capture", .type = T::Bool, .def = false,
         .help = "write each presented screen as <out>/<run>/screen/INDEX.png (tests, documentation)"}};
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
  }
  o.hud = st.get_bool("display.hud");
  o.hud_trs = static_cast<int>(st.get_int("display.hud_trs"));
  o.vsync = st.get_bool("display.vsync");
  o.capture = st.get_bool("display.capture");
  o.truth = st.get_string("display.truth");
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

Display::Display(DisplayOptions options) : o_(std::move(options)) {
  if (!o_.driver.empty()) SDL_SetHint(SDL_HINT_VIDEODRIVER, o_.driver.c_str());
  if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) sdl_fail("display: SDL could not start video (display.driver '" + o_.driver + "')");
  const std::string driver = SDL_GetCurrentVideoDriver() ? SDL_GetCurrentVideoDriver() : "";
  if (o_.driver.empty() && (driver == "offscreen" || driver == "dummy")) {
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
    throw SettingsError("display.enabled: SDL found no screen and fell back to its '" + driver +
                        "' driver, which shows nothing: check DISPLAY / WAYLAND_DISPLAY, or set display.driver = \"" + driver +
                        "\" if a headless run is what you want");
  }
  window_ = SDL_CreateWindow("HYPER-RT", SDL_WINDOWPOS_CENTERED_DISPLAY(o_.screen), SDL_WINDOWPOS_CENTERED_DISPLAY(o_.screen),
                             o_.width, o_.height, o_.fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
  if (!window_) sdl_fail("display: no window");
  renderer_ = SDL_CreateRenderer(window_, -1, o_.vsync ? SDL_RENDERER_PRESENTVSYNC : 0);
  if (!renderer_) renderer_ = SDL_CreateRenderer(window_, -1, SDL_RENDERER_SOFTWARE);
  if (!renderer_) sdl_fail("display: no renderer");
  SDL_RendererInfo info;
  SDL_GetRendererInfo(renderer_, &info);
  spdlog::info("display: {} driver, {} renderer{}", SDL_GetCurrentVideoDriver(), info.name,
               (info.flags & SDL_RENDERER_PRESENTVSYNC) ? ", vsync" : ", no vsync");
  SDL_ShowCursor(o_.fullscreen ? SDL_DISABLE : SDL_ENABLE);
  draw(HudFeed{});
  SDL_RenderPresent(renderer_);
}

Display::~Display() {
  if (presented_fd_ >= 0) close(presented_fd_);
  if (texture_) SDL_DestroyTexture(texture_);
  if (truth_) SDL_DestroyTexture(truth_);
  if (renderer_) SDL_DestroyRenderer(renderer_);
  if (window_) SDL_DestroyWindow(window_);
  SDL_QuitSubSystem(SDL_INIT_VIDEO);
}

bool Display::step(const Face* face, const HudFeed& hud, int64_t* t_present_out) {
  bool redraw = face != nullptr || o_.hud;
  SDL_Event e;
  while (SDL_PollEvent(&e)) {
    if (e.type == SDL_QUIT) return false;
    if (e.type == SDL_KEYDOWN) {
      const auto key = e.key.keysym.sym;
      if (key == SDLK_ESCAPE || key == SDLK_q) return false;
      if (key == SDLK_f) {
        o_.fullscreen = !o_.fullscreen;
        SDL_SetWindowFullscreen(window_, o_.fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
      }
      if (key == SDLK_h) o_.hud = !o_.hud;
      redraw = true;
    }
    if (e.type == SDL_WINDOWEVENT) redraw = true;
  }
  if (face) {
    if (!texture_ || tex_w_ != face->width || tex_h_ != face->height) {
      for (SDL_Texture** t : {&texture_, &truth_}) {
        if (*t) SDL_DestroyTexture(*t);
        *t = SDL_CreateTexture(renderer_, SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STREAMING, face->width, face->height);
        if (!*t) sdl_fail("display: no texture");
      }
      tex_w_ = face->width, tex_h_ = face->height;
    }
    SDL_UpdateTexture(texture_, nullptr, face->rgb.data(), face->width * 3);
    have_truth_ = !face->truth_rgb.empty();
    if (have_truth_) SDL_UpdateTexture(truth_, nullptr, face->truth_rgb.data(), face->width * 3);
    have_face_ = true;
  }
  if (!redraw) return true;
  draw(hud);
  std::vector<uint8_t> screen;
  int w = 0, h = 0;
  if (face && o_.capture && !o_.out.empty()) {  // the back buffer, before it is presented
    SDL_GetRendererOutputSize(renderer_, &w, &h);
    screen.resize(static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
    if (SDL_RenderReadPixels(renderer_, nullptr, SDL_PIXELFORMAT_RGB24, screen.data(), w * 3) != 0) screen.clear();
  }
  SDL_RenderPresent(renderer_);
  if (face) {
    const int64_t t_present = realtime_ns();
    if (t_present_out) *t_present_out = t_present;
    record(*face, t_present);
    if (!screen.empty()) {
      ensure_dir(o_.out / face->run / "screen");
      write_png(o_.out / face->run / "screen" / fmt::format("{:06d}.png", face->index), w, h, screen);
    }
  }
  return true;
}

void Display::record(const Face& f, int64_t t_present) {
  const double ms = f.t_sent >= 0 ? ns_to_ms(t_present - f.t_sent) : -1.0;
  present_ms_.push_back(ms);
  while (present_ms_.size() > static_cast<size_t>(o_.hud_trs)) present_ms_.pop_front();
  if (o_.out.empty()) return;
  if (f.run != run_) {
    run_ = f.run;
    if (presented_fd_ >= 0) close(presented_fd_);
    ensure_dir(o_.out / f.run);
    presented_fd_ = open((o_.out / f.run / "presented.tsv").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    const std::string header = "index\tt_present_ns\tsent_to_present_ms\n";
    if (presented_fd_ >= 0 && write(presented_fd_, header.data(), header.size()) < 0) spdlog::warn("presented.tsv: write failed");
  }
  const std::string line = fmt::format("{}\t{}\t{:.3f}\n", f.index, t_present, ms);
  if (presented_fd_ >= 0 && write(presented_fd_, line.data(), line.size()) < 0) spdlog::warn("presented.tsv: write failed");
}

void Display::text(int x, int y, const std::string& s) {
  static char buffer[60000];
  std::string copy = s;
  const int quads = stb::stb_easy_font_print(0, 0, copy.data(), nullptr, buffer, sizeof buffer);
  std::vector<SDL_Rect> rects(static_cast<size_t>(quads));
  const float* v = reinterpret_cast<const float*>(buffer);  // 4 vertices of x, y, z, colour (16 bytes) per quad
  for (int q = 0; q < quads; ++q) {
    const float* a = v + q * 16;
    const float* c = a + 8;  // the opposite corner
    rects[static_cast<size_t>(q)] = {x + static_cast<int>(a[0]), y + static_cast<int>(a[1]), static_cast<int>(c[0] - a[0]),
                                     static_cast<int>(c[1] - a[1])};
  }
  SDL_RenderFillRects(renderer_, rects.data(), quads);
}

void Display::draw(const HudFeed& hud) {
  int w = 0, h = 0;
  SDL_GetRendererOutputSize(renderer_, &w, &h);
  SDL_SetRenderDrawColor(renderer_, o_.background[0], o_.background[1], o_.background[2], 255);
  SDL_RenderClear(renderer_);
  if (have_face_) {
    const SDL_Rect dst{(w - o_.face_px) / 2, (h - o_.face_px) / 2, o_.face_px, o_.face_px};
    SDL_RenderCopy(renderer_, texture_, nullptr, &dst);
    if (have_truth_) {  // the experimenter's view: shown (left) and decoded (centre)
      const SDL_Rect left{dst.x - o_.face_px - 16, dst.y, o_.face_px, o_.face_px};
      SDL_RenderCopy(renderer_, truth_, nullptr, &left);
      SDL_SetRenderDrawColor(renderer_, 230, 230, 230, 255);
      text(left.x, left.y - 12, "shown");
      text(dst.x, dst.y - 12, "decoded");
    }
  }
  if (!o_.label_text.empty()) {
    SDL_SetRenderDrawColor(renderer_, 230, 230, 230, 255);
    text((w - 6 * static_cast<int>(o_.label_text.size())) / 2, (h + o_.face_px) / 2 + 6, o_.label_text);
  }
  if (o_.fixation_px > 0) {  // the cross, 2 px thick, over the face's centre
    const int half = std::max(1, o_.fixation_px / 2), t = std::max(2, o_.fixation_px / 8);
    SDL_SetRenderDrawColor(renderer_, o_.fixation[0], o_.fixation[1], o_.fixation[2], 255);
    const SDL_Rect arms[2] = {{w / 2 - half, h / 2 - t / 2, 2 * half, t}, {w / 2 - t / 2, h / 2 - half, t, 2 * half}};
    SDL_RenderFillRects(renderer_, arms, 2);
  }
  if (!o_.hud) return;
  const HudFeed::View v = hud.view();
  SDL_SetRenderDrawColor(renderer_, 0, 0, 0, 255);
  const SDL_Rect panel{0, 0, std::min(w, 300), 136};  // top left, clear of a centred face
  SDL_RenderFillRect(renderer_, &panel);
  SDL_SetRenderDrawColor(renderer_, 255, 255, 255, 255);
  const auto& s = v.recent.empty() ? HudFeed::Sample{} : v.recent.back();
  text(6, 6, fmt::format("run {}  TR {}", v.run.empty() ? "-" : v.run, v.recent.empty() ? -1 : s.index));
  // Unknown values show as "-", never as a made-up -1.
  const auto ms = [](bool known, double v) { return known && v >= 0 ? fmt::format("{:.1f} ms", v) : std::string("-"); };
  text(6, 18, fmt::format("sent->ready {}  sent->screen {}", ms(!v.recent.empty(), s.sent_to_ready_ms),
                          ms(!present_ms_.empty(), present_ms_.empty() ? -1.0 : present_ms_.back())));
  text(6, 30, fmt::format("skipped faces {}  dropped volumes {}", v.skipped, v.dropped));
  std::string stages;
  for (size_t i = 0; i < v.stages.size() && i < s.stage_ms.size(); ++i) stages += fmt::format("{} {:.2f}  ", v.stages[i], s.stage_ms[i]);
  text(6, 126, stages.empty() ? "stages: -" : stages + "ms");
  // Strip charts of the last TRs: processing latency (green, 0-50 ms) and FD (yellow, 0-1 mm).
  text(6, 44, "sent->ready, 0-50 ms");
  text(6, 86, "framewise displacement, 0-1 mm");
  const int n = std::max<int>(1, o_.hud_trs), x0 = 6, width = 288;
  for (size_t i = 0; i < v.recent.size(); ++i) {
    const int x = x0 + static_cast<int>(i) * width / n, bw = std::max(1, width / n);
    const int lat = std::clamp(static_cast<int>(v.recent[i].sent_to_ready_ms / 50.0 * 28), 0, 28);
    const int fd = std::clamp(static_cast<int>(v.recent[i].fd_mm * 28), 0, 28);
    SDL_SetRenderDrawColor(renderer_, 80, 220, 80, 255);
    const SDL_Rect a{x, 82 - lat, bw, std::max(1, lat)};
    SDL_RenderFillRect(renderer_, &a);
    SDL_SetRenderDrawColor(renderer_, 230, 200, 60, 255);
    const SDL_Rect b{x, 124 - fd, bw, std::max(1, fd)};
    SDL_RenderFillRect(renderer_, &b);
    // Beyond a chart's range the bar is cut: a red cap says so.
    SDL_SetRenderDrawColor(renderer_, 255, 40, 40, 255);
    if (v.recent[i].sent_to_ready_ms > 50.0) {
      const SDL_Rect cap{x, 52, bw, 3};
      SDL_RenderFillRect(renderer_, &cap);
    }
    if (v.recent[i].fd_mm > 1.0) {
      const SDL_Rect cap{x, 94, bw, 3};
      SDL_RenderFillRect(renderer_, &cap);
    }
  }
}

}  // namespace hyper

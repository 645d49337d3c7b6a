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
#include "io/text.hpp"
#include "sinks/screen_layout.hpp"

namespace hyper {

namespace {

[[noreturn]] void sdl_fail(const std::string& what) { throw std::runtime_error(what + ": " + SDL_GetError()); }

}  // namespace

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
  const int screens = SDL_GetNumVideoDisplays();
  for (const auto& [key, index] : {std::pair{"display.screen", o_.screen}, std::pair{"display.experimenter_screen", o_.experimenter_screen}})
    if (index >= screens && driver != "offscreen" && driver != "dummy")
      throw SettingsError(fmt::format("{}: display {} does not exist: SDL sees {} (0 to {})", key, index, screens, screens - 1));
  subject_ = open("HYPER-RT", o_.screen, o_.fullscreen, o_.vsync, false);
  // The experimenter's window: not in step with the refresh (the subject's present is the one timed).
  if (o_.experimenter_screen >= 0) experimenter_ = open("HYPER-RT experimenter", o_.experimenter_screen, false, false, true);
  SDL_RendererInfo info;
  SDL_GetRendererInfo(subject_.renderer, &info);
  spdlog::info("display: {} driver, {} renderer{}{}", driver, info.name, (info.flags & SDL_RENDERER_PRESENTVSYNC) ? ", vsync" : ", no vsync",
               experimenter_.window ? fmt::format("; the HUD and truth view on display {}", o_.experimenter_screen) : "");
  SDL_ShowCursor(o_.fullscreen ? SDL_DISABLE : SDL_ENABLE);
  for (Surface* sf : {&subject_, &experimenter_}) {
    if (!sf->window) continue;
    draw(*sf, HudFeed{});
    SDL_RenderPresent(sf->renderer);
  }
}

Display::Surface Display::open(const std::string& title, int screen, bool fullscreen, bool vsync, bool experimenter) {
  Surface sf;
  sf.experimenter = experimenter;
  sf.window = SDL_CreateWindow(title.c_str(), SDL_WINDOWPOS_CENTERED_DISPLAY(screen), SDL_WINDOWPOS_CENTERED_DISPLAY(screen), o_.width,
                               o_.height, fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
  if (!sf.window) sdl_fail("display: no window");
  sf.renderer = SDL_CreateRenderer(sf.window, -1, vsync ? SDL_RENDERER_PRESENTVSYNC : 0);
  if (!sf.renderer) sf.renderer = SDL_CreateRenderer(sf.window, -1, SDL_RENDERER_SOFTWARE);
  if (!sf.renderer) sdl_fail("display: no renderer");
  return sf;
}

void Display::close(Surface& sf) {
  for (SDL_Texture* t : {sf.face, sf.truth})
    if (t) SDL_DestroyTexture(t);
  if (sf.renderer) SDL_DestroyRenderer(sf.renderer);
  if (sf.window) SDL_DestroyWindow(sf.window);
  sf = Surface{};
}

Display::~Display() {
  for (auto& [stim, t] : stimuli_) SDL_DestroyTexture(t);
  if (presented_fd_ >= 0) ::close(presented_fd_);
  close(experimenter_);
  close(subject_);
  SDL_QuitSubSystem(SDL_INIT_VIDEO);
}

void Display::upload(Surface& sf, const Face& face) {
  if (!sf.face || sf.tex_w != face.width || sf.tex_h != face.height) {
    for (SDL_Texture** t : {&sf.face, &sf.truth}) {
      if (*t) SDL_DestroyTexture(*t);
      *t = SDL_CreateTexture(sf.renderer, SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STREAMING, face.width, face.height);
      if (!*t) sdl_fail("display: no texture");
    }
    sf.tex_w = face.width, sf.tex_h = face.height;
  }
  SDL_UpdateTexture(sf.face, nullptr, face.rgb.data(), face.width * 3);
  if (!face.truth_rgb.empty()) SDL_UpdateTexture(sf.truth, nullptr, face.truth_rgb.data(), face.width * 3);
}

bool Display::poll() {
  SDL_Event e;
  while (SDL_PollEvent(&e)) {
    if (e.type == SDL_QUIT) return false;
    if (e.type == SDL_WINDOWEVENT && e.window.event == SDL_WINDOWEVENT_CLOSE) {
      if (experimenter_.window && e.window.windowID == SDL_GetWindowID(experimenter_.window)) {
        spdlog::warn("the experimenter's window was closed: the HUD and truth view are gone until the next start");
        close(experimenter_);
        continue;
      }
      return false;  // the subject's window
    }
    if (e.type == SDL_KEYDOWN) {
      const auto key = e.key.keysym.sym;
      if (key == SDLK_ESCAPE || key == SDLK_q) return false;
      // The event's own stamp (ms since SDL started). SDL stamps an event when it takes it from
      // the OS, which most video drivers (X11, Wayland) do only when polled: a key trigger's time
      // is then its poll's, up to a frame after the press (README, "Timing").
      const int64_t waited_ms = static_cast<int64_t>(SDL_GetTicks()) - static_cast<int64_t>(e.key.timestamp);
      if (!e.key.repeat) keys_.push_back({key, realtime_ns() - std::max<int64_t>(0, waited_ms) * 1000000});
      if (key == SDLK_f) {
        o_.fullscreen = !o_.fullscreen;
        SDL_SetWindowFullscreen(subject_.window, o_.fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
      }
      if (key == SDLK_h) o_.hud = !o_.hud;
      redraw_ = true;
    }
    if (e.type == SDL_WINDOWEVENT) redraw_ = true;
  }
  return true;
}

std::vector<Display::KeyPress> Display::take_keys() { return std::exchange(keys_, {}); }

double Display::mode_refresh_hz() const {
  SDL_DisplayMode mode;
  const int index = SDL_GetWindowDisplayIndex(subject_.window);
  if (index < 0 || SDL_GetCurrentDisplayMode(index, &mode) != 0) return 0;
  return mode.refresh_rate;
}

void Display::load_stimuli(const std::map<int64_t, std::vector<uint8_t>>& faces, int side) {
  for (auto& [stim, t] : stimuli_) SDL_DestroyTexture(t);
  stimuli_.clear();
  stimulus_side_ = side;
  for (const auto& [stim, rgb] : faces) {
    SDL_Texture* t = SDL_CreateTexture(subject_.renderer, SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STATIC, side, side);
    if (!t) sdl_fail("display: no texture for stimulus " + std::to_string(stim));
    SDL_UpdateTexture(t, nullptr, rgb.data(), side * 3);
    stimuli_[stim] = t;
  }
}

int64_t Display::present_stimulus(int64_t stim, RgbImage* capture) {
  SDL_Renderer* r = subject_.renderer;
  int w = 0, h = 0;
  SDL_GetRendererOutputSize(r, &w, &h);
  SDL_SetRenderDrawColor(r, o_.background[0], o_.background[1], o_.background[2], 255);
  SDL_RenderClear(r);
  if (const auto it = stimuli_.find(stim); it != stimuli_.end()) {
    const SDL_Rect dst{(w - stimulus_side_) / 2, (h - stimulus_side_) / 2, stimulus_side_, stimulus_side_};
    SDL_RenderCopy(r, it->second, nullptr, &dst);
  }
  draw_fixation(r, w / 2, h / 2, w);  // always on: the subject keeps fixating through the ISI
  if (capture) {
    capture->rgb.resize(static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
    capture->width = SDL_RenderReadPixels(r, nullptr, SDL_PIXELFORMAT_RGB24, capture->rgb.data(), w * 3) == 0 ? w : 0;
    capture->height = h;
  }
  SDL_RenderPresent(r);
  return realtime_ns();
}

bool Display::step(const Face* face, const HudFeed& hud, int64_t* t_present_out) {
  redraw_ = face != nullptr || (o_.hud && !experimenter_.window);  // the subject's window
  if (!poll()) return false;
  keys_.clear();  // the reconstruction's screen takes no trigger
  const bool redraw = redraw_;
  if (face) {
    for (Surface* sf : {&subject_, &experimenter_})
      if (sf->window) upload(*sf, *face);
    if (!face->coarse) have_truth_ = !face->truth_rgb.empty();  // a coarse-first face has no truth: the last one stays
    have_face_ = true;
    have_feedback_ = face->has_feedback;
    feedback_bar_ = face->feedback_bar;
  }
  if (redraw) {
    draw(subject_, hud);
    if (face && o_.capture) capture(subject_, *face, "screen");  // the back buffer, before it is presented
    SDL_RenderPresent(subject_.renderer);
  }
  if (face) {
    const int64_t t_present = realtime_ns();
    if (t_present_out) *t_present_out = t_present;
    record(*face, t_present);
  }
  if (experimenter_.window) {  // redrawn every step: its HUD moves with every TR
    draw(experimenter_, hud);
    if (face && o_.capture) capture(experimenter_, *face, "experimenter");
    SDL_RenderPresent(experimenter_.renderer);
  }
  return true;
}

void Display::capture(Surface& sf, const Face& face, const char* folder) {
  if (o_.out.empty()) return;
  int w = 0, h = 0;
  SDL_GetRendererOutputSize(sf.renderer, &w, &h);
  std::vector<uint8_t> pixels(static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
  if (SDL_RenderReadPixels(sf.renderer, nullptr, SDL_PIXELFORMAT_RGB24, pixels.data(), w * 3) != 0) return;
  ensure_dir(o_.out / face.run / folder);
  write_png(o_.out / face.run / folder / fmt::format("{:06d}.png", face.index), w, h, pixels);
}

void Display::record(const Face& f, int64_t t_present) {
  const double ms = f.t_sent >= 0 ? ns_to_ms(t_present - f.t_sent) : -1.0;
  present_ms_.push_back(ms);
  while (present_ms_.size() > static_cast<size_t>(o_.hud_trs)) present_ms_.pop_front();
  if (o_.out.empty()) return;
  if (f.run != run_) {
    run_ = f.run;
    if (presented_fd_ >= 0) ::close(presented_fd_);
    ensure_dir(o_.out / f.run);
    // A run's folder is never reused but by a resumed run (the Session's rule): continue its file.
    const auto path = o_.out / f.run / "presented.tsv";
    const bool resumed = std::filesystem::exists(path);
    presented_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const std::string header = "index\tt_present_ns\tsent_to_present_ms\tcoarse\n";
    if (presented_fd_ >= 0 && !resumed && write(presented_fd_, header.data(), header.size()) < 0) spdlog::warn("presented.tsv: write failed");
  }
  const std::string line = fmt::format("{}\t{}\t{:.3f}\t{}\n", f.index, t_present, ms, f.coarse ? 1 : 0);
  if (presented_fd_ >= 0 && write(presented_fd_, line.data(), line.size()) < 0) spdlog::warn("presented.tsv: write failed");
}

namespace {

void text(SDL_Renderer* r, int x, int y, const std::string& s) {
  std::vector<SDL_Rect> rects;
  for (const TextRect& t : text_rects(s, x, y)) rects.push_back({t.x, t.y, t.w, t.h});
  SDL_RenderFillRects(r, rects.data(), static_cast<int>(rects.size()));
}

SDL_Rect sdl(const Rect& r) { return {r.x, r.y, r.w, r.h}; }

}  // namespace

void Display::draw(Surface& sf, const HudFeed& hud) {
  SDL_Renderer* r = sf.renderer;
  int w = 0, h = 0;
  SDL_GetRendererOutputSize(r, &w, &h);
  // With an experimenter window the subject's shows the face and the cross only.
  const bool aids = sf.experimenter || o_.experimenter_screen < 0;  // closed or not, never on the subject's once asked
  // The truth view keeps its place when no face was on screen at the time (an ISI): no jumping.
  const bool truth = aids && !o_.truth.empty(), hud_on = aids && (o_.hud || sf.experimenter);
  const ScreenLayout l = layout_screen(w, h, o_.face_px, truth, hud_on, o_.label_text);
  SDL_SetRenderDrawColor(r, o_.background[0], o_.background[1], o_.background[2], 255);
  SDL_RenderClear(r);
  if (have_face_) {
    const SDL_Rect dst = sdl(l.decoded);
    SDL_RenderCopy(r, sf.face, nullptr, &dst);
    if (truth) {  // the experimenter's view: shown (left) and decoded (right)
      const SDL_Rect left = sdl(l.truth);
      SDL_SetRenderDrawColor(r, 230, 230, 230, 255);
      if (have_truth_) SDL_RenderCopy(r, sf.truth, nullptr, &left);
      else text(r, l.truth.x + 8, l.truth.y + l.truth.h / 2, "no face on screen then");
      text(r, l.truth_label.x, l.truth_label.y, "shown");
      text(r, l.decoded_label.x, l.decoded_label.y, "decoded");
    }
  }
  if (!l.note.empty()) {
    SDL_SetRenderDrawColor(r, 230, 230, 230, 255);
    text(r, l.note.x, l.note.y, o_.label_text);
  }
  if (!sf.experimenter) draw_fixation(r, l.fixation_x, l.fixation_y, w);  // over the decoded face's centre
  if (have_face_ && have_feedback_) draw_thermometer(r, l.decoded, w);
  if (hud_on) draw_hud(r, hud);
}

void Display::draw_fixation(SDL_Renderer* r, int x, int y, int width) {
  if (o_.fixation_px <= 0) return;
  const int px = o_.fixation_width_fraction > 0 ? std::max(1, static_cast<int>(std::lround(o_.fixation_width_fraction * width))) : o_.fixation_px;
  const int half = std::max(1, px / 2), t = std::max(2, px / 8);
  SDL_SetRenderDrawColor(r, o_.fixation[0], o_.fixation[1], o_.fixation[2], 255);
  const SDL_Rect arms[2] = {{x - half, y - t / 2, 2 * half, t}, {x - t / 2, y - half, t, 2 * half}};
  SDL_RenderFillRects(r, arms, 2);
}

// A vertical bar right of the face: filled from the bottom by the feedback, a white line at
// one half where chance sits.
void Display::draw_thermometer(SDL_Renderer* r, const Rect& face, int width) {
  const int bar_w = std::max(8, face.w / 12), x = std::min(face.x + face.w + bar_w, width - bar_w);
  const SDL_Rect frame{x, face.y, bar_w, face.h};
  SDL_SetRenderDrawColor(r, 40, 40, 40, 255);
  SDL_RenderFillRect(r, &frame);
  const int fill = static_cast<int>(std::lround(std::clamp(feedback_bar_, 0.0, 1.0) * face.h));
  const SDL_Rect level{x, face.y + face.h - fill, bar_w, fill};
  SDL_SetRenderDrawColor(r, 60, 200, 90, 255);
  SDL_RenderFillRect(r, &level);
  const SDL_Rect chance{x - 2, face.y + face.h / 2, bar_w + 4, 2};
  SDL_SetRenderDrawColor(r, 255, 255, 255, 255);
  SDL_RenderFillRect(r, &chance);
}

void Display::draw_hud(SDL_Renderer* r, const HudFeed& hud) {
  const HudFeed::View v = hud.view();
  SDL_SetRenderDrawColor(r, 0, 0, 0, 255);
  const SDL_Rect panel{0, 0, kHudWidth, kHudHeight};  // top left; the layout keeps the faces below it
  SDL_RenderFillRect(r, &panel);
  SDL_SetRenderDrawColor(r, 255, 255, 255, 255);
  const auto& s = v.recent.empty() ? HudFeed::Sample{} : v.recent.back();
  text(r, 6, 6, fmt::format("run {}  TR {}", v.run.empty() ? "-" : v.run, v.recent.empty() ? std::string("-") : std::to_string(s.index)));
  // Unknown values show as "-", never as a made-up -1.
  const auto ms = [](bool known, double v) { return known && v >= 0 ? fmt::format("{:.1f} ms", v) : std::string("-"); };
  text(r, 6, 18, fmt::format("sent->ready {}  sent->screen {}", ms(!v.recent.empty(), s.sent_to_ready_ms),
                             ms(!present_ms_.empty(), present_ms_.empty() ? -1.0 : present_ms_.back())));
  text(r, 6, 30, fmt::format("skipped faces {}  dropped volumes {}", v.skipped, v.dropped));
  std::string stages;
  for (size_t i = 0; i < v.stages.size() && i < s.stage_ms.size(); ++i) stages += fmt::format("{} {:.2f}  ", v.stages[i], s.stage_ms[i]);
  text(r, 6, 126, stages.empty() ? "stages: -" : stages + "ms");
  // Strip charts of the last TRs: processing latency (green, 0-50 ms) and FD (yellow, 0-1 mm).
  text(r, 6, 44, "sent->ready, 0-50 ms");
  text(r, 6, 86, "framewise displacement, 0-1 mm");
  const int n = std::max<int>(1, o_.hud_trs), x0 = 6, width = 288;
  for (size_t i = 0; i < v.recent.size(); ++i) {
    const int x = x0 + static_cast<int>(i) * width / n, bw = std::max(1, width / n);
    const int lat = std::clamp(static_cast<int>(v.recent[i].sent_to_ready_ms / 50.0 * 28), 0, 28);
    const int fd = std::clamp(static_cast<int>(v.recent[i].fd_mm * 28), 0, 28);
    SDL_SetRenderDrawColor(r, 80, 220, 80, 255);
    const SDL_Rect a{x, 82 - lat, bw, std::max(1, lat)};
    SDL_RenderFillRect(r, &a);
    SDL_SetRenderDrawColor(r, 230, 200, 60, 255);
    const SDL_Rect b{x, 124 - fd, bw, std::max(1, fd)};
    SDL_RenderFillRect(r, &b);
    // Beyond a chart's range the bar is cut: a red cap says so.
    SDL_SetRenderDrawColor(r, 255, 40, 40, 255);
    if (v.recent[i].sent_to_ready_ms > 50.0) {
      const SDL_Rect cap{x, 52, bw, 3};
      SDL_RenderFillRect(r, &cap);
    }
    if (v.recent[i].fd_mm > 1.0) {
      const SDL_Rect cap{x, 94, bw, 3};
      SDL_RenderFillRect(r, &cap);
    }
  }
}

}  // namespace hyper

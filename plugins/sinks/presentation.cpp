// The presentation sink (`hyper stream --present DESIGN`, the `present` runs of hyper
// session; README, "Running an experiment"): the design's faces on the subject's screen,
// in step with the scanner. Before the run every face is drawn (or read from the cache);
// the first trigger is time zero; from then on each frame of the measured refresh shows
// what the design says (each face flickering on and off, the fixation cross always), every
// flip is stamped, late flips are counted as missed frames, and each event is written to
// the run's BIDS _events.tsv as it ends, with its measured onset and duration (relative to
// the first trigger) beside the planned ones: hyper train reads the measured ones.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>

#include <SDL.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "core/stats.hpp"
#include "generators/generator_settings.hpp"
#include "hyper/registry.hpp"
#include "io/bids.hpp"
#include "io/files.hpp"
#include "sinks/dashboard.hpp"
#include "sinks/display.hpp"
#include "sinks/frame_schedule.hpp"
#include "sinks/presentation.hpp"
#include "sinks/stimulus_cache.hpp"
#include "sinks/trigger.hpp"

namespace hyper {

namespace fs = std::filesystem;

namespace {

class PresentationSink : public Sink {
 public:
  PresentationSink(PresentOptions o, DisplayOptions d, TriggerOptions t, std::map<int64_t, std::vector<uint8_t>> faces)
      : o_(std::move(o)), t_(std::move(t)), display_(std::move(d)),
        triggers_(o_.record / "triggers.tsv", t_.max_drift_ms) {
    display_.load_stimuli(faces, o_.side);
    measure_refresh();
    schedule_.emplace(o_.events, frame_s_, o_.flicker_hz);
    if (t_.source == "serial") serial_ = std::make_unique<SerialTrigger>(t_);
    if (t_.source == "key") {
      key_ = SDL_GetKeyFromName(t_.key.c_str());
      if (key_ == SDLK_UNKNOWN) throw SettingsError("trigger.key: SDL knows no key named '" + t_.key + "' (e.g. 5, t, space)");
    }
    events_ = std::fopen((o_.stem.string() + "_events.tsv").c_str(), "w");
    if (!events_) throw std::runtime_error(o_.stem.string() + "_events.tsv: cannot write");
    flips_ = std::fopen((o_.record / "flips.tsv").c_str(), "w");
    if (!flips_) {  // a throwing constructor runs no destructor
      std::fclose(events_);
      throw std::runtime_error((o_.record / "flips.tsv").string() + ": cannot write");
    }
    std::fputs("frame\tt_flip_ns\tstim_index\tevent\n", flips_);
    std::fputs("onset\tduration\ttrial_type\tstim_index\tplanned_onset\tplanned_duration\tframes\n", events_);
    std::fflush(events_);
    spdlog::info("presentation: {} faces in {:.1f} s, frames of {:.3f} ms ({}), the events in {}_events.tsv", o_.events.size(),
                 schedule_->end_frame() * frame_s_, frame_s_ * 1000, paced_ ? "paced by the clock" : "in step with vsync",
                 o_.stem.string());
  }
  ~PresentationSink() override {
    for (std::FILE* f : {flips_, events_})
      if (f) std::fclose(f);
  }

  Threading threading() const override { return Threading::MainThread; }

  void on_received(const Tr& tr) override {  // the processing thread: the volumes' arrival times
    std::lock_guard lock(mutex_);
    if (tr_s_ <= 0) tr_s_ = tr.tr_s;
    if (first_index_ < 0) first_index_ = tr.index;
    if (arrivals_.size() < 100000) arrivals_.push_back({tr.index, tr.t.t_recv});
  }
  void on_tr(const Tr&) override {}

  bool pump(std::chrono::milliseconds wait) override {
    if (!display_.poll()) {
      spdlog::warn("presentation: the subject's window was closed (Esc): stopping{}",
                   state_ == State::Presenting ? fmt::format(" at event {} of {}", written_, o_.events.size()) : "");
      return false;
    }
    take_triggers();
    switch (state_) {
      case State::Waiting:
        if (triggers_.started()) start();
        else wait_frame(wait);
        break;
      case State::Presenting: frame(); break;
      case State::Done: wait_frame(wait); break;
    }
    return true;
  }

  void finish() override {
    if (state_ == State::Presenting)
      spdlog::warn("presentation: the run ended at event {} of {}: the rest was not shown (events.tsv has the {} shown)", written_,
                   o_.events.size(), written_);
    if (state_ == State::Waiting) spdlog::warn("presentation: no trigger came: nothing was shown");
    if (state_ != State::Waiting) summary();  // again: the triggers after the design ended
  }

 private:
  enum class State : uint8_t { Waiting, Presenting, Done };

  // Vsync or not: presents that return at once (a virtual or headless display) are paced
  // by the clock at the display mode's rate instead.
  void measure_refresh() {
    const double mode_hz = display_.mode_refresh_hz();
    const double nominal = o_.refresh_hz > 0 ? o_.refresh_hz : mode_hz > 0 ? mode_hz : 60.0;
    std::vector<double> gaps;
    int64_t last = display_.present_stimulus(-1);
    for (int i = 0; i < 60; ++i) {
      const int64_t t = display_.present_stimulus(-1);
      gaps.push_back(ns_to_ms(t - last) / 1000.0);
      last = t;
    }
    const double med = summarize(gaps).p50;
    paced_ = !(med > 0.75 / nominal && med < 1.5 / nominal);
    double sum = 0;
    int regular = 0;
    for (double g : gaps)
      if (g > 0.5 * med && g < 1.5 * med) sum += g, ++regular;
    const double period = regular ? sum / regular : med;  // the mean of the regular gaps: the median of a few is too coarse
    period_ns_ = period * 1e9;
    frame_s_ = o_.refresh_hz > 0 || paced_ ? 1.0 / nominal : period;
    spdlog::info("presentation: presents take {:.2f} ms (median of 60), the display mode says {} Hz: {}", med * 1000, mode_hz,
                 paced_ ? fmt::format("no vsync, frames paced by the clock at {:.2f} Hz", nominal)
                        : fmt::format("in step with vsync at {:.3f} Hz", 1.0 / frame_s_));
  }

  void take_triggers() {
    for (const Display::KeyPress& k : display_.take_keys()) {
      std::string name = SDL_GetKeyName(k.sym);
      if (name.rfind("Keypad ", 0) == 0) name = name.substr(7);  // the keypad's 5 is a 5
      if (t_.source == "key" && (k.sym == key_ || SDL_GetKeyFromName(name.c_str()) == key_)) triggers_.add(k.t_ns, "key");
    }
    if (serial_)
      for (int64_t t : serial_->take()) triggers_.add(t, "serial");
    std::lock_guard lock(mutex_);
    if (tr_s_ > 0) triggers_.set_tr(tr_s_);
    // Volume mode: each arrival stands for the trigger of its acquisition, one TR and the export delay earlier.
    if (t_.source == "volume")
      for (; volume_triggers_ < arrivals_.size(); ++volume_triggers_)
        triggers_.add(arrivals_[volume_triggers_].second - static_cast<int64_t>((tr_s_ + t_.export_delay_s) * 1e9), "volume");
  }

  void start() {
    t0_ = triggers_.first();
    state_ = State::Presenting;
    next_ = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(static_cast<double>(realtime_ns() - t0_) / (frame_s_ * 1e9))));
    dashboard_state("presenting: the trigger (" + t_.source + ") came");
    spdlog::info("presentation: trigger ({}) received; {} faces from now, the last ends {:.1f} s after the trigger", t_.source,
                 o_.events.size(), schedule_->end_frame() * frame_s_);
    // The trigger known late (a volume trigger, known when the volume arrives): faces already over are never shown.
    for (size_t e = 0; e < o_.events.size(); ++e) skipped_ += schedule_->onset_frame(e) + schedule_->duration_frames(e) <= next_;
    if (next_ > schedule_->onset_frame(0))
      spdlog::warn("presentation: the first face was due {:.0f} ms after the trigger, which was known {:.0f} ms after it: it starts "
                   "late{}", schedule_->onset_frame(0) * frame_s_ * 1000, next_ * frame_s_ * 1000,
                   skipped_ ? fmt::format(", and {} faces already over are not shown (presentation.json: skipped_events; a design "
                                          "for a volume trigger starts after the first TR and the export delay)", skipped_) : "");
  }

  void sleep_until_ns(int64_t t_ns) {
    const int64_t left = t_ns - realtime_ns();
    if (left > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(left));
  }

  void wait_frame(std::chrono::milliseconds wait) {
    const int64_t now = realtime_ns();
    display_.present_stimulus(-1);
    if (paced_) sleep_until_ns(now + static_cast<int64_t>(frame_s_ * 1e9));
    if (state_ == State::Waiting && SteadyClock::now() - last_report_ > std::chrono::seconds(5)) {
      last_report_ = SteadyClock::now();
      dashboard_state("waiting for the trigger (" + t_.source + ")");
      spdlog::info("presentation: waiting for the trigger: {}; Esc quits",
                   t_.source == "key"      ? "press " + t_.key + " or start the sequence (trigger.key)"
                   : t_.source == "serial" ? "start the sequence (" + t_.device + " sends the trigger)"
                                           : "start the sequence (the first volume starts the run)");
    }
    (void)wait;
  }

  // One frame. What it shows is decided by time, not by counting frames: the frame's
  // expected flip time from the trigger, in the design's frames. Paced by the clock, that
  // time is a deadline slept to; with vsync it is the last flip plus the refresh period as
  // measured (kept up to date), so a refresh a little off its nominal rate never drifts
  // from the scanner's clock.
  void frame() {
    const int64_t frame_ns = static_cast<int64_t>(frame_s_ * 1e9);
    int64_t n = next_;
    if (paced_) {
      sleep_until_ns(t0_ + n * frame_ns);
    } else {
      const double expected = last_flip_ < 0 ? static_cast<double>(realtime_ns()) + period_ns_ : static_cast<double>(last_flip_) + period_ns_;
      n = std::llround((expected - static_cast<double>(t0_)) / static_cast<double>(frame_ns));
    }
    const int ev = schedule_->event_at(n);
    const int64_t stim = schedule_->stimulus_at(n);
    // With display.capture, the first frame of each event as PNG (tests, the README's pictures).
    const bool shoot = o_.capture && ev >= 0 && ev != current_;
    RgbImage shot;
    const int64_t t = display_.present_stimulus(stim, shoot ? &shot : nullptr);
    if (shoot && shot.width > 0) {  // encoded after the flip was stamped
      ensure_dir(o_.record / "screen");
      write_png(o_.record / "screen" / fmt::format("event-{:03d}.png", ev), shot.width, shot.height, shot.rgb);
    }
    if (first_flip_ < 0) first_flip_ = t;
    if (paced_) {
      const int64_t actual = (t - t0_) / frame_ns;  // the frame whose interval the flip fell in
      if (actual > n) missed_ += actual - n;  // woke or drew too late for its frame
      next_ = std::max(actual, n) + 1;
    } else if (last_flip_ >= 0) {
      const double gap = static_cast<double>(t - last_flip_);
      if (gap > 1.5 * period_ns_) missed_ += std::llround(gap / period_ns_) - 1;  // a refresh went by without a flip
      else period_ns_ += 0.01 * (gap - period_ns_);
    }
    last_flip_ = t;
    ++flips_count_;
    std::fprintf(flips_, "%lld\t%lld\t%lld\t%d\n", static_cast<long long>(n), static_cast<long long>(t), static_cast<long long>(stim), ev);
    if (ev != current_) {
      if (current_ >= 0) end_event(t);
      if (ev >= 0) on_t_ = t;
      current_ = ev;
    }
    if (n >= schedule_->end_frame()) {
      state_ = State::Done;
      summary();
    }
  }

  void end_event(int64_t t) {
    const auto frames = std::llround(static_cast<double>(t - on_t_) / (paced_ ? frame_s_ * 1e9 : period_ns_));
    const Event& e = schedule_->events()[static_cast<size_t>(current_)];
    const double onset = static_cast<double>(on_t_ - t0_) * 1e-9, duration = static_cast<double>(t - on_t_) * 1e-9;
    std::fprintf(events_, "%.4f\t%.4f\t%s\t%lld\t%.4f\t%.4f\t%lld\n", onset, duration, e.trial_type.empty() ? "n/a" : e.trial_type.c_str(),
                 static_cast<long long>(e.stim_index), e.onset, e.duration, static_cast<long long>(frames));
    std::fflush(events_);  // a line per event as it ends: readable during the run and after a crash
    std::fflush(flips_);
    durations_.push_back(duration);
    ++written_;
  }

  // Logged when the design ends; the JSON written again at the end with the later triggers.
  void summary() {
    std::fflush(flips_);
    double lo = 0, hi = 0;
    if (!durations_.empty()) {
      lo = *std::min_element(durations_.begin(), durations_.end());
      hi = *std::max_element(durations_.begin(), durations_.end());
    }
    // Key or serial triggers: how long after its acquisition each volume arrived (the export delay).
    std::vector<double> delays;
    {
      std::lock_guard lock(mutex_);
      if (t_.source != "volume" && tr_s_ > 0)
        for (const auto& [index, t_recv] : arrivals_)
          delays.push_back(ns_to_ms(t_recv - t0_) - (static_cast<double>(index - first_index_) + 1) * tr_s_ * 1000);
    }
    const double delay = delays.empty() ? -1 : summarize(delays).p50;
    if (!std::exchange(summarized_, true))
      spdlog::info("presentation: {} of {} faces shown in {} flips, {} missed frames; face durations {:.1f}-{:.1f} ms; {} triggers{}{}",
                 written_, o_.events.size(), flips_count_, missed_, lo * 1000, hi * 1000, triggers_.stamps().size(),
                 triggers_.drifted() ? fmt::format(", {} off the TR", triggers_.drifted()) : "",
                 delay >= 0 ? fmt::format("; volumes arrived a median {:.0f} ms after their acquisition ended", delay) : "");
    nlohmann::json j{{"design", o_.design.string()},
                     {"events", o_.events.size()},
                     {"events_shown", written_},
                     {"skipped_events", skipped_},
                     {"frame_ms", frame_s_ * 1000},
                     {"paced_by", paced_ ? "clock" : "vsync"},
                     {"flips", flips_count_},
                     {"missed_frames", missed_},
                     {"trigger_source", t_.source},
                     {"triggers", triggers_.stamps().size()},
                     {"triggers_off_tr", triggers_.drifted()},
                     {"t_first_trigger_ns", t0_},
                     {"first_flip_after_trigger_ms", first_flip_ >= 0 ? ns_to_ms(first_flip_ - t0_) : -1.0},
                     {"export_delay_ms", delay}};
    write_file_atomic(o_.record / "presentation.json", j.dump(2) + "\n");
  }

  PresentOptions o_;
  TriggerOptions t_;
  Display display_;
  TriggerLog triggers_;
  std::unique_ptr<SerialTrigger> serial_;
  int32_t key_ = 0;
  double frame_s_ = 1.0 / 60;
  bool paced_ = true;
  std::optional<FrameSchedule> schedule_;
  State state_ = State::Waiting;
  SteadyClock::time_point last_report_{};
  int64_t t0_ = 0, next_ = 0, last_flip_ = -1, first_flip_ = -1;
  double period_ns_ = 1e9 / 60;  // vsync: the refresh period as measured
  int64_t missed_ = 0, flips_count_ = 0, written_ = 0, on_t_ = 0, skipped_ = 0;
  int current_ = -1;
  bool summarized_ = false;
  std::vector<double> durations_;
  std::FILE *flips_ = nullptr, *events_ = nullptr;
  std::mutex mutex_;  // what the processing thread hands over
  double tr_s_ = 0;
  int64_t first_index_ = -1;
  std::vector<std::pair<int64_t, int64_t>> arrivals_;  // (index, t_recv)
  size_t volume_triggers_ = 0;
};

}  // namespace

std::vector<SettingSpec> present_settings() {
  using T = SettingType;
  return {
      {.key = "present.design", .type = T::String, .def = std::string(""),
       .help = "present this design (a BIDS events.tsv: onset, duration, trial_type, stim_index) on the subject's screen, "
               "from the first trigger; empty: no presentation",
       .flag = "--present", .existing = true},
      {.key = "present.latents", .type = T::String, .def = std::string(""),
       .help = "the stimulus latents (.npy, rows = stim_index); empty: stimuli/latents.npy of the design's dataset",
       .flag = "--stimuli", .existing = true},
      {.key = "present.flicker_hz", .type = T::Float, .def = 3.33, .unit = "Hz",
       .help = "each face flickers on and off at this rate while it is on (the paper: 3.33); 0: steady", .min = 0.0, .max = 60.0},
      {.key = "present.refresh_hz", .type = T::Float, .def = 0.0, .unit = "Hz",
       .help = "the screen's refresh rate; 0: measured (vsync), else the display mode's", .min = 0.0, .max = 1000.0},
      {.key = "present.cache", .type = T::String, .def = std::string(""),
       .help = "folder of the drawn faces (PNG, reused across runs and sessions); empty: <out>/stimuli"},
  };
}

fs::path design_latents(const fs::path& design) {
  for (fs::path p = fs::absolute(design).parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
    if (fs::exists(p / "stimuli" / "latents.npy")) return p / "stimuli" / "latents.npy";
  return {};
}

fs::path present_cache_dir(const Params& p, const std::string& out) {
  return p.get_string("present.cache").empty() ? fs::path(out) / "stimuli" : fs::path(p.get_string("present.cache"));
}

PresentOptions present_options(const Params& p, const std::string& out) {
  PresentOptions o;
  o.design = p.get_string("present.design");
  if (o.design.empty()) return o;
  if (out.empty()) throw SettingsError("present.design: a presentation records its events and flips: give --out DIR");
  o.latents = p.get_string("present.latents");
  if (o.latents.empty()) o.latents = design_latents(o.design);
  if (o.latents.empty())
    throw SettingsError("present.latents: no stimuli/latents.npy above " + o.design.string() + ": give the latents with --stimuli FILE");
  try {
    o.events = read_events(o.design);
  } catch (const std::exception& e) {
    throw SettingsError(std::string("present.design: ") + e.what());
  }
  if (o.events.empty()) throw SettingsError("present.design: " + o.design.string() + " has no events");
  for (const Event& e : o.events)
    if (e.stim_index < 0)
      throw SettingsError(fmt::format("present.design: {}: the event at {} s has no stim_index (the row of {} to show)",
                                      o.design.string(), e.onset, o.latents.string()));
  o.flicker_hz = p.get_float("present.flicker_hz");
  o.refresh_hz = p.get_float("present.refresh_hz");
  o.side = static_cast<int>(p.get_int("display.face_px"));
  o.capture = p.get_bool("display.capture");
  o.cache = present_cache_dir(p, out);
  o.stem = bids_run_stem(out, p.get_string("bold.subject"), p.get_string("bold.session"), p.get_string("bold.task"),
                         static_cast<int>(p.get_int("bold.run")));
  o.record = fs::path(out) / "presentation" / o.stem.filename();
  return o;
}

void register_presentation(Registry& r) {
  std::vector<SettingSpec> specs = present_settings();
  for (SettingSpec& s : trigger_settings()) specs.push_back(std::move(s));
  r.add_sink({"presentation", "the design's faces on the subject's screen from the first scanner trigger (SDL, main thread)",
              std::move(specs), [](const SinkContext& ctx) -> std::unique_ptr<Sink> {
                const Params& p = ctx.settings;
                PresentOptions o = present_options(p, ctx.out);
                if (o.design.empty()) return nullptr;
                if (p.get_bool("display.enabled"))
                  throw SettingsError("present.design: the subject's screen shows either the design (--present) or the "
                                      "reconstructions (--display), not both in one run");
                const TriggerOptions t = trigger_options(p);
                DisplayOptions d = display_options(p);
                if (d.driver.empty() && !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY"))
                  throw SettingsError("present.design: there is no display to present on (DISPLAY and WAYLAND_DISPLAY are unset): "
                                      "start it from the desktop session of the subject's screen, or set display.driver = "
                                      "\"offscreen\" for a headless run");
                std::vector<int64_t> stims;
                for (const Event& e : o.events) stims.push_back(e.stim_index);
                auto faces = cached_faces({o.cache, o.latents, generator_options(p), o.side}, stims, ctx.make_generator);
                ensure_dir(o.record);
                ensure_dir(o.stem.parent_path());
                return std::make_unique<PresentationSink>(std::move(o), std::move(d), t, std::move(faces));
              }});
}

}  // namespace hyper

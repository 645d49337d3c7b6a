// The screen sink (`hyper stream --display`): the participant's screen (display.hpp) on the
// main thread, as SDL wants. It takes the newest face drawn (a latest-value slot), feeds
// the experimenter's HUD from every processed TR, and hands each presented face on with
// its t_present.
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/latest_slot.hpp"
#include "core/settings.hpp"
#include "hyper/registry.hpp"
#include "generators/generator_settings.hpp"
#include "sinks/display.hpp"

namespace hyper {

namespace {

class ScreenSink : public Sink {
 public:
  ScreenSink(const SinkContext& ctx, DisplayOptions o)
      : hud_trs_(static_cast<size_t>(o.hud_trs)), display_(std::move(o)), publish_(ctx.publish_face), dropped_(ctx.dropped) {}

  Threading threading() const override { return Threading::MainThread; }

  void on_run_start(const RunStart& run) override { hud_.set_stages(run.stages); }
  void on_tr(const Tr& tr) override {
    hud_.add(tr.run, {tr.index, tr.t.t_sent >= 0 ? ns_to_ms(tr.t.t_ready - tr.t.t_sent) : -1.0, tr.fd_mm, tr.stage_ms}, hud_trs_);
  }
  void on_face(const std::shared_ptr<const Face>& face) override {
    if (face->t_present >= 0) return;  // one this screen presented
    hud_.set_skipped(face->skipped);
    slot_.put(face);
  }

  bool pump(std::chrono::milliseconds wait) override {
    if (!show(slot_.take(wait))) {
      spdlog::info("the display was closed: stopping");
      return false;
    }
    return true;
  }
  void finish() override { show(slot_.take(std::chrono::milliseconds(0))); }  // the last face drawn

 private:
  bool show(const std::optional<std::shared_ptr<const Face>>& face) {
    hud_.set_dropped(dropped_());
    int64_t t_present = -1;
    const bool go_on = display_.step(face ? face->get() : nullptr, hud_, &t_present);
    if (face && t_present >= 0) {  // the presented face, for the other sinks (pixels left out)
      auto shown = std::make_shared<Face>();
      const Face& f = **face;
      shown->run = f.run;
      shown->index = f.index;
      shown->t_sent = f.t_sent;
      shown->t_generate = f.t_generate;
      shown->t_present = t_present;
      shown->generate_ms = f.generate_ms;
      shown->skipped = f.skipped;
      shown->width = f.width;
      shown->height = f.height;
      shown->coarse = f.coarse;
      publish_(std::move(shown));
    }
    return go_on;
  }

  size_t hud_trs_;
  HudFeed hud_;
  Display display_;
  LatestSlot<std::shared_ptr<const Face>> slot_;
  std::function<void(std::shared_ptr<const Face>)> publish_;
  std::function<int64_t()> dropped_;
};

}  // namespace

void register_screen(Registry& r) {
  r.add_sink({"screen", "the participant's screen (SDL, main thread): newest face, fixation cross, experimenter HUD",
              display_settings(), [](const SinkContext& ctx) -> std::unique_ptr<Sink> {
                const Params& p = ctx.settings;
                if (!p.get_bool("display.enabled")) return nullptr;
                if (!p.get_bool("stream.faces")) throw SettingsError("display.enabled: the screen shows faces: add --faces (and --decoder)");
                DisplayOptions o = display_options(p);
                // An invisible screen is worse than none: headless only when asked for.
                if (o.driver.empty() && !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY"))
                  throw SettingsError("display.enabled: there is no display to show the faces on (DISPLAY and WAYLAND_DISPLAY "
                                      "are unset): start it from the desktop session of the screen the participant sees, or "
                                      "set display.driver = \"offscreen\" (or \"dummy\") for a headless run that shows nothing");
                o.out = ctx.out;
                if (generator_options(p).kind == "procedural") o.label_text = "procedural stand-in";
                return std::make_unique<ScreenSink>(ctx, std::move(o));
              }});
}

}  // namespace hyper

// The faces sink (`hyper stream --faces`): a generator thread takes the newest decoded
// latent (a latest-value slot, so a slow generator never holds up processing), draws the
// face, hands it to the other sinks (the screen) and records it in <out>/<run>/frames.tsv
// (and frames/INDEX.png when asked). Latents replaced before they were drawn are counted
// as skipped, per run. In serial mode (hyper bench --process in) each face is drawn at once
// on the loop's thread: nothing is skipped.
#include <array>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/latest_slot.hpp"
#include "core/settings.hpp"
#include "generators/generator.hpp"
#include "generators/generator_settings.hpp"
#include "io/files.hpp"
#include "io/png.hpp"
#include "sinks/twin_truth.hpp"

namespace hyper {

namespace {

// A small RGB image scaled up to side x side by repeating pixels (the coarse-first face).
std::vector<uint8_t> upscale_nearest(const std::vector<uint8_t>& rgb, int w, int h, int side) {
  std::vector<uint8_t> out(static_cast<size_t>(side) * static_cast<size_t>(side) * 3);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      const size_t from = (static_cast<size_t>(y * h / side) * static_cast<size_t>(w) + static_cast<size_t>(x * w / side)) * 3;
      std::copy_n(rgb.begin() + static_cast<std::ptrdiff_t>(from), 3, out.begin() + (static_cast<std::ptrdiff_t>(y) * side + x) * 3);
    }
  return out;
}

class FacesSink : public Sink {
 public:
  FacesSink(const SinkContext& ctx, std::unique_ptr<Generator> gen)
      : gen_(std::move(gen)),
        out_(ctx.out),
        png_frames_(ctx.settings.get_bool("stream.png_frames")),
        delay_ms_(ctx.settings.get_float("stream.test_face_delay_ms")),
        serial_(ctx.serial),
        catch_up_(ctx.settings.get_string("stream.when_behind") == "catch_up"),
        max_lag_trs_(ctx.settings.get_float("stream.max_lag_trs")),
        publish_(ctx.publish_face) {
    const auto coarse = static_cast<int>(ctx.settings.get_int("stream.coarse_first"));
    if (auto* c = dynamic_cast<CoarseFirst*>(gen_.get()); c && coarse >= 4 && coarse < gen_->resolution()) coarse_first_ = c, coarse_ = coarse;
    // Pixels for whoever shows them: the screen, PNG frames, the dashboard (and its truth view).
    const bool shown = ctx.settings.get_bool("display.enabled") || !ctx.settings.get_string("dashboard.listen").empty();
    need_rgb_ = shown || png_frames_;
    if (shown && !ctx.settings.get_string("display.truth").empty()) truth_ = twin_truth(ctx.settings.get_string("display.truth"));
    spdlog::info("faces: {}", gen_->describe());
    if (!serial_) thread_ = std::jthread([this] { loop(); });
  }
  ~FacesSink() override { stop(); }

  Threading threading() const override { return serial_ ? Threading::Inline : Threading::OwnThread; }

  void on_tr(const Tr& tr) override {
    if (!tr.decoded) return;
    Counts& c = counts_[tr.run];
    ++c.offered;
    if (catch_up_ && tr.t.t_sent > 0 && static_cast<double>(realtime_ns() - tr.t.t_sent) * 1e-9 > max_lag_trs_ * tr.tr_s) {
      ++c.late;  // behind the scanner: the generator's CPU goes to catching up instead
      return;
    }
    // A feedback protocol may choose the face (the target, the base moved along a direction).
    Item item{tr.run, tr.index, tr.t.t_sent, tr.has_show ? tr.show : tr.latent, tr.has_feedback, tr.feedback, tr.feedback_bar};
    if (serial_) return draw(item);
    if (slot_.put(std::move(item))) {
      ++c.skipped;
      ++skipped_total_;
    }
  }

  void finish() override {  // draws what is pending, then reports
    stop();
    for (const auto& [run, c] : counts_)
      spdlog::info("run {}: {} decoded latents, {} faces drawn, {} skipped (the newest latent wins){}", run, c.offered, drawn_[run],
                   c.skipped, catch_up_ ? fmt::format(", {} not drawn while behind (stream.when_behind = catch_up)", c.late) : "");
    counts_.clear();
  }

 private:
  struct Item {
    std::string run;
    int64_t index = 0, t_sent = -1;
    Latent latent{};
    bool has_feedback = false;
    double feedback = 0, feedback_bar = 0;
  };
  struct Counts {
    int64_t offered = 0, skipped = 0, late = 0;
  };

  void stop() {
    slot_.close();
    if (thread_.joinable()) thread_.join();
  }

  void loop() {
    while (true) {
      auto item = slot_.take(std::chrono::milliseconds(100));
      if (item) draw(*item);
      else if (slot_.closed()) break;
    }
  }

  // A face of `item`'s volume, its feedback with it; the caller adds pixels and stamps.
  static std::shared_ptr<Face> face_of(const Item& item) {
    auto face = std::make_shared<Face>();
    face->run = item.run, face->index = item.index, face->t_sent = item.t_sent;
    face->has_feedback = item.has_feedback, face->feedback = item.feedback, face->feedback_bar = item.feedback_bar;
    return face;
  }

  void draw(const Item& item) {
    try {
      const auto t0 = SteadyClock::now();
      int64_t t_first = -1;
      // Coarse-first: the early level's face to the screen at once, the full one below.
      auto early = [&](const ImageBatch& small) {
        auto face = face_of(item);
        face->coarse = true;
        face->width = face->height = gen_->resolution();
        if (need_rgb_) face->rgb = upscale_nearest(to_rgb8(small, 0), small.width, small.height, face->width);
        face->t_generate = t_first = realtime_ns();
        face->generate_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
        face->skipped = skipped_total_;
        publish_(std::move(face));
      };
      const ImageBatch& img = coarse_first_ ? coarse_first_->generate_coarse_first(item.latent.data(), 1, coarse_, early)
                                            : gen_->generate(item.latent.data(), 1);
      auto face = face_of(item);
      face->width = img.width;
      face->height = img.height;
      if (need_rgb_) face->rgb = to_rgb8(img, 0);  // img is overwritten by the next generate
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms_));
      face->t_generate = realtime_ns();
      face->generate_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
      face->skipped = skipped_total_;
      ++drawn_[item.run];
      if (truth_)
        if (const auto z = truth_(item.run, item.index)) face->truth_rgb = to_rgb8(gen_->generate(z->data(), 1), 0);
      record(*face, t_first);
      publish_(std::move(face));
    } catch (const std::exception& e) {  // a failed face is logged; the stream goes on
      spdlog::error("run {}: face of volume {}: {}", item.run, item.index, e.what());
    }
  }

  // `t_first`: when the coarse-first face was ready (-1: none).
  void record(const Face& f, int64_t t_first) {
    if (out_.empty()) return;
    const auto dir = out_ / f.run;
    if (f.run != frames_run_) {
      frames_run_ = f.run;
      ensure_dir(dir);
      // A run's folder is never reused but by a resumed run (the Session's rule): continue its file.
      const bool resumed = std::filesystem::exists(dir / "frames.tsv");
      frames_ = std::ofstream(dir / "frames.tsv", std::ios::app);
      if (!resumed) frames_ << "index\tt_image_ns\tgenerate_ms\tsent_to_image_ms\tsent_to_first_image_ms\n";
    }
    frames_ << f.index << '\t' << f.t_generate << '\t' << f.generate_ms << '\t'
            << (f.t_sent >= 0 ? ns_to_ms(f.t_generate - f.t_sent) : -1.0) << '\t'
            << (f.t_sent >= 0 && t_first >= 0 ? ns_to_ms(t_first - f.t_sent) : -1.0) << '\n'
            << std::flush;
    if (png_frames_) {
      ensure_dir(dir / "frames");
      write_png(dir / "frames" / fmt::format("{:06d}.png", f.index), f.width, f.height, f.rgb);
    }
  }

  std::unique_ptr<Generator> gen_;
  std::filesystem::path out_;
  bool png_frames_, need_rgb_ = false;
  double delay_ms_;
  bool serial_, catch_up_;
  double max_lag_trs_;
  std::function<void(std::shared_ptr<const Face>)> publish_;
  Truth truth_;
  CoarseFirst* coarse_first_ = nullptr;  // gen_ itself, when it draws level by level and stream.coarse_first asks
  int coarse_ = 0;
  LatestSlot<Item> slot_;
  std::map<std::string, Counts> counts_;   // loop thread
  std::map<std::string, int64_t> drawn_;   // generator thread (read after it ended)
  std::atomic<int64_t> skipped_total_{0};
  std::string frames_run_;                 // generator thread: <out>/<run>/frames.tsv, a line per face
  std::ofstream frames_;
  std::jthread thread_;
};

}  // namespace

void register_faces(Registry& r) {
  using T = SettingType;
  r.add_sink({"faces", "draws the newest decoded latent's face on a generator thread; frames.tsv",
              {{.key = "stream.faces", .type = T::Bool, .def = false,
                .help = "draw the face of the newest decoded latent with [generator] (needs --decoder); recorded in "
                        "<out>/<run>/frames.tsv",
                .flag = "--faces"},
               {.key = "stream.png_frames", .type = T::Bool, .def = false,
                .help = "also write each face as <out>/<run>/frames/INDEX.png", .flag = "--png-frames"},
               {.key = "stream.when_behind", .type = T::String, .def = std::string("draw"),
                .help = "when processing is behind (a volume ready later than stream.max_lag_trs after it was sent): draw: "
                        "the newest latent's face all the same; catch_up: draw none until processing is current again (every "
                        "volume is processed and recorded either way)",
                .choices = {"draw", "catch_up"}},
               {.key = "stream.coarse_first", .type = T::Int, .def = int64_t{64}, .unit = "px",
                .help = "a generator that draws level by level (pggan): its face at this resolution, scaled up, goes to the "
                        "screen as soon as it exists, then the full face replaces it (both stamped: frames.tsv, presented.tsv); "
                        "0: only the full face",
                .min = 0.0, .max = 1024.0},
               {.key = "stream.test_face_delay_ms", .type = T::Float, .def = 0.0, .unit = "ms",
                .help = "for tests: added to every face's drawing time (a slow generator)", .min = 0.0, .max = 60000.0}},
              [](const SinkContext& ctx) -> std::unique_ptr<Sink> {
                if (!ctx.settings.get_bool("stream.faces")) return nullptr;
                if (!ctx.decoding) throw SettingsError("stream.faces: drawing faces needs a decoder (--decoder FILE)");
                std::unique_ptr<Generator> gen;
                try {
                  gen = ctx.make_generator(generator_options(ctx.settings));
                } catch (const std::runtime_error& e) {  // the [generator] settings (a file, a size, a device): exit 2
                  throw SettingsError(e.what());
                }
                return std::make_unique<FacesSink>(ctx, std::move(gen));
              }});
}

}  // namespace hyper

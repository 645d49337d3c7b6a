#include "cli/stream_faces.hpp"

#include <fstream>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "io/files.hpp"
#include "io/png.hpp"

namespace hyper {

FaceWorker::FaceWorker(std::unique_ptr<Generator> generator, std::filesystem::path out, bool png_frames, double delay_ms,
                       LatestSlot<Face>* screen, HudFeed* hud)
    : gen_(std::move(generator)), out_(std::move(out)), png_frames_(png_frames), delay_ms_(delay_ms), screen_(screen), hud_(hud) {
  thread_ = std::jthread([this] { loop(); });
}

FaceWorker::~FaceWorker() { finish(); }

void FaceWorker::offer(const Tr& tr) {
  Item item{tr.run, tr.index, tr.t.t_sent, tr.latent};
  FaceCounts& c = offered_[tr.run];
  ++c.offered;
  if (slot_.put(std::move(item))) {
    ++c.skipped;
    if (hud_) hud_->count_skipped();
  }
}

std::map<std::string, FaceCounts> FaceWorker::finish() {
  slot_.close();
  if (thread_.joinable()) thread_.join();
  auto counts = offered_;
  for (auto& [run, c] : counts) c.drawn = drawn_[run];
  return counts;
}

void FaceWorker::loop() {
  std::string run;
  std::ofstream frames;  // <out>/<run>/frames.tsv, a line per face, flushed at once
  while (true) {
    auto item = slot_.take(std::chrono::milliseconds(100));
    if (!item) {
      if (slot_.closed()) break;
      continue;
    }
    try {
      const auto t0 = SteadyClock::now();
      const ImageBatch& img = gen_->generate(item->latent.data(), 1);
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms_));
      const int64_t t_image = realtime_ns();
      const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
      ++drawn_[item->run];
      if (screen_) screen_->put(Face{item->run, item->index, item->t_sent, img.width, img.height, to_rgb8(img, 0)});
      if (out_.empty()) continue;
      const auto dir = out_ / item->run;
      if (item->run != run) {
        run = item->run;
        ensure_dir(dir);
        frames = std::ofstream(dir / "frames.tsv", std::ios::trunc);
        frames << "index\tt_image_ns\tgenerate_ms\tsent_to_image_ms\n";
      }
      frames << item->index << '\t' << t_image << '\t' << ms << '\t'
             << (item->t_sent >= 0 ? ns_to_ms(t_image - item->t_sent) : -1.0) << '\n'
             << std::flush;
      if (png_frames_) {
        ensure_dir(dir / "frames");
        write_png(dir / "frames" / fmt::format("{:06d}.png", item->index), img.width, img.height, to_rgb8(img, 0));
      }
    } catch (const std::exception& e) {  // a failed face is logged; the stream goes on
      spdlog::error("run {}: face of volume {}: {}", item->run, item->index, e.what());
    }
  }
}

}  // namespace hyper

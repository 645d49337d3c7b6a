#include "cli/stream_faces.hpp"

#include <fstream>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/hrf.hpp"
#include "io/bids.hpp"
#include "io/nifti.hpp"
#include "io/npy.hpp"
#include "io/files.hpp"
#include "io/png.hpp"

namespace hyper {

FaceWorker::FaceWorker(std::unique_ptr<Generator> generator, std::filesystem::path out, bool png_frames, double delay_ms,
                       LatestSlot<Face>* screen, HudFeed* hud, Truth truth)
    : gen_(std::move(generator)),
      out_(std::move(out)),
      png_frames_(png_frames),
      delay_ms_(delay_ms),
      screen_(screen),
      hud_(hud),
      truth_(std::move(truth)) {
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
      const int w = img.width, h = img.height;
      std::vector<uint8_t> rgb;  // for the screen and PNG frames (img is overwritten by the next generate)
      if (screen_ || png_frames_) rgb = to_rgb8(img, 0);
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms_));
      const int64_t t_image = realtime_ns();
      const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
      ++drawn_[item->run];
      if (screen_) {
        Face face{item->run, item->index, item->t_sent, w, h, rgb, {}};
        if (truth_)
          if (const auto z = truth_(item->run, item->index)) face.truth_rgb = to_rgb8(gen_->generate(z->data(), 1), 0);
        screen_->put(std::move(face));
      }
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
        write_png(dir / "frames" / fmt::format("{:06d}.png", item->index), w, h, rgb);
      }
    } catch (const std::exception& e) {  // a failed face is logged; the stream goes on
      spdlog::error("run {}: face of volume {}: {}", item->run, item->index, e.what());
    }
  }
}

FaceWorker::Truth twin_truth(const std::filesystem::path& dataset) {
  const NpyArray latents = read_npy(dataset / "stimuli" / "latents.npy");
  if (latents.shape.size() != 2 || latents.shape[1] != kLatentDim)
    throw std::runtime_error((dataset / "stimuli" / "latents.npy").string() + ": not rows of 512 latents");
  struct Shown {
    double from_s, to_s;  // when the response to it peaks: onset + delay .. end + delay
    int64_t stim;
  };
  struct Run {
    double tr_s = 0;
    std::vector<Shown> shown;
  };
  std::map<std::string, Run> runs;
  std::map<double, double> delay;  // per block duration
  for (const RunFile& r : find_runs(dataset)) {
    const NiftiInfo info = read_nifti_info(r.path);
    Run& run = runs[r.run_id];
    run.tr_s = run_tr(r, info.tr_s, info.time_unit);
    for (const Event& e : read_events(events_path(r.path))) {
      if (e.stim_index < 0 || e.stim_index >= latents.shape[0]) continue;
      if (!delay.count(e.duration)) delay[e.duration] = block_peak_delay(e.duration);
      run.shown.push_back({e.onset + delay[e.duration], e.onset + e.duration + delay[e.duration], e.stim_index});
    }
  }
  return [latents, runs](const std::string& run, int64_t index) -> std::optional<std::array<float, kLatentDim>> {
    auto it = runs.find(run);
    if (it == runs.end()) return std::nullopt;
    const double t = static_cast<double>(index) * it->second.tr_s;
    for (const Shown& s : it->second.shown)
      if (s.from_s <= t && t < s.to_s) {
        std::array<float, kLatentDim> z{};
        std::copy_n(latents.data.begin() + s.stim * kLatentDim, kLatentDim, z.begin());
        return z;
      }
    return std::nullopt;
  };
}

}  // namespace hyper

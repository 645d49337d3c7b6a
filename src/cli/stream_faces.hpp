#pragma once
// The generator thread of `hyper stream`: it takes the newest decoded latent (a latest-value
// slot, so a slow generator never holds up processing), draws the face, and records it in
// <out>/<run>/frames.tsv (and frames/INDEX.png when asked). Latents replaced before they
// were drawn are counted as skipped, per run.

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "cli/display.hpp"
#include "core/latest_slot.hpp"
#include "generators/generator.hpp"
#include "hyper/tr.hpp"

namespace hyper {

struct FaceCounts {
  int64_t offered = 0, drawn = 0, skipped = 0;
};

class FaceWorker {
 public:
  // `out` empty: nothing recorded. `delay_ms` slows each face down (tests of back-pressure).
  // `screen`, when given, gets each face for the display; `hud` the skip count.
  // `truth`, when set, gives the latent of the face presented for a run's volume (or none).
  using Truth = std::function<std::optional<std::array<float, kLatentDim>>(const std::string& run, int64_t index)>;
  FaceWorker(std::unique_ptr<Generator> generator, std::filesystem::path out, bool png_frames, double delay_ms,
             LatestSlot<Face>* screen = nullptr, HudFeed* hud = nullptr, Truth truth = {});
  ~FaceWorker();

  void offer(const Tr& tr);  // processing thread, for each decoded TR
  // Draws what is pending, stops the thread, and returns the counts per run.
  std::map<std::string, FaceCounts> finish();

 private:
  struct Item {
    std::string run;
    int64_t index = 0, t_sent = -1;
    std::array<float, kLatentDim> latent{};
  };
  void loop();

  std::unique_ptr<Generator> gen_;
  std::filesystem::path out_;
  bool png_frames_;
  double delay_ms_;
  LatestSlot<Item> slot_;
  LatestSlot<Face>* screen_;
  HudFeed* hud_;
  Truth truth_;
  std::map<std::string, FaceCounts> offered_;  // processing thread: offered, skipped
  std::map<std::string, int64_t> drawn_;       // generator thread
  std::jthread thread_;
};

// The truth of a twin dataset (BIDS with stimuli/latents.npy): for a run id and volume, the
// latent of the face on screen the canonical response's peak delay earlier.
FaceWorker::Truth twin_truth(const std::filesystem::path& dataset);

}  // namespace hyper

#pragma once
// What the presentation sink (presentation.cpp) and hyper session share: the [present]
// settings read and checked, with the files a presentation run writes.

#include <filesystem>
#include <string>
#include <vector>

#include "hyper/params.hpp"
#include "io/bids.hpp"

namespace hyper {

struct PresentOptions {
  std::filesystem::path design, latents, cache;
  std::vector<Event> events;
  double flicker_hz = 3.33, refresh_hz = 0;
  int side = 512;                  // display.face_px
  bool capture = false;            // display.capture: each event's first frame as PNG in <record>/screen/
  std::filesystem::path stem;      // the BIDS run: <stem>_events.tsv beside <stem>_bold.nii
  std::filesystem::path record;    // <out>/presentation/<run>/: flips.tsv, triggers.tsv, presentation.json
};

// present.design "" : no presentation (the rest unread). Throws SettingsError naming the key.
PresentOptions present_options(const Params& settings, const std::string& out);
// present.cache, or <out>/stimuli.
std::filesystem::path present_cache_dir(const Params& settings, const std::string& out);
// stimuli/latents.npy in the design's folder or one above it; "" when none.
std::filesystem::path design_latents(const std::filesystem::path& design);

}  // namespace hyper

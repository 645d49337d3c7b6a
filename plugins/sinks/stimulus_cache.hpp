#pragma once
// The presentation's faces, made before the run (README, "Running an experiment"): each
// stimulus of the design drawn from its row of the latents file by the configured
// generator, scaled to the size it is shown at, and kept as PNG in a cache folder named
// after the generator, the size and the latents file's checksum, so a session draws each
// face once and the next run (or a rerun) reads it back.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "hyper/generator.hpp"

namespace hyper {

struct StimulusCache {
  std::filesystem::path dir;       // the cache's top folder (OUT/stimuli)
  std::filesystem::path latents;   // .npy, stimuli x 512
  GeneratorOptions generator;
  int side = 512;                  // pixels on screen
};

// The folder the faces of this latents file, generator and size go in.
std::filesystem::path cache_folder(const StimulusCache& c);

// Every face in `stims` (rows of the latents file) as side x side RGB, drawn where not yet
// cached. Progress on the terminal and in the log. Throws naming the latents file when a row
// is beyond it.
std::map<int64_t, std::vector<uint8_t>> cached_faces(
    const StimulusCache& c, const std::vector<int64_t>& stims,
    const std::function<std::unique_ptr<Generator>(const GeneratorOptions&)>& make_generator);

}  // namespace hyper

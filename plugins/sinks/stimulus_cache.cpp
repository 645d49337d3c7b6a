#include "sinks/stimulus_cache.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/crc32.hpp"
#include "core/progress.hpp"
#include "eval/image_metrics.hpp"
#include "generators/generator.hpp"
#include "io/files.hpp"
#include "io/npy.hpp"
#include "io/png.hpp"

namespace hyper {

namespace fs = std::filesystem;

fs::path cache_folder(const StimulusCache& c) {
  std::ifstream in(c.latents, std::ios::binary);
  if (!in) throw std::runtime_error(c.latents.string() + ": cannot open the stimulus latents");
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string b = bytes.str();
  const uint32_t sum = crc32(std::as_bytes(std::span(b.data(), b.size())));
  const std::string weights = c.generator.weights.empty() ? "" : "-" + fs::path(c.generator.weights).stem().string();
  return c.dir / fmt::format("{}{}-{}px-{:08x}", c.generator.kind, weights, c.side, sum);
}

std::map<int64_t, std::vector<uint8_t>> cached_faces(
    const StimulusCache& c, const std::vector<int64_t>& stims,
    const std::function<std::unique_ptr<Generator>(const GeneratorOptions&)>& make_generator) {
  const fs::path folder = cache_folder(c);
  ensure_dir(folder);
  std::map<int64_t, std::vector<uint8_t>> faces;
  std::vector<int64_t> missing;
  for (int64_t s : stims) {
    if (s < 0 || faces.count(s)) continue;
    const fs::path png = folder / fmt::format("{:05d}.png", s);
    if (fs::exists(png)) {
      RgbImage img = read_png(png);
      if (img.width == c.side && img.height == c.side) {
        faces[s] = std::move(img.rgb);
        continue;
      }
    }
    faces[s] = {};
    missing.push_back(s);
  }
  if (missing.empty()) {
    spdlog::info("stimuli: {} faces read from the cache {}", faces.size(), folder.string());
    return faces;
  }
  const NpyArray lat = read_npy(c.latents);
  if (lat.shape.size() != 2 || lat.shape[1] != 512)
    throw std::runtime_error(c.latents.string() + ": the stimulus latents must be a 2D array, stimuli x 512");
  for (int64_t s : missing)
    if (s >= lat.shape[0])
      throw std::runtime_error(fmt::format("{}: the design shows stimulus {}, the latents file has rows 0-{}", c.latents.string(), s,
                                           lat.shape[0] - 1));
  const auto generator = make_generator(c.generator);
  spdlog::info("stimuli: drawing {} faces with {} into {} ({} cached)", missing.size(), generator->describe(), folder.string(),
               faces.size() - missing.size());
  ProgressLine progress;
  const auto t0 = SteadyClock::now();
  for (size_t i = 0; i < missing.size(); ++i) {
    const int64_t s = missing[i];
    const ImageBatch& img = generator->generate(lat.data.data() + s * 512, 1);
    faces[s] = resize_rgb(to_rgb8(img, 0), img.width, img.height, c.side, c.side);
    write_png(folder / fmt::format("{:05d}.png", s), c.side, c.side, faces[s]);
    const double elapsed = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    const double left = elapsed / static_cast<double>(i + 1) * static_cast<double>(missing.size() - i - 1);
    progress.update(fmt::format("stimuli: {}/{} faces drawn, {:.0f} s left", i + 1, missing.size(), left));
    if (!progress.enabled() && (i + 1) * 4 / missing.size() != i * 4 / missing.size())
      spdlog::info("stimuli: {}/{} faces drawn, {:.0f} s left", i + 1, missing.size(), left);
  }
  progress.finish();
  spdlog::info("stimuli: {} faces drawn in {:.1f} s", missing.size(), std::chrono::duration<double>(SteadyClock::now() - t0).count());
  return faces;
}

}  // namespace hyper

// `hyper render`: draw the faces of a latents file as PNGs (README, "Generators"), e.g. a
// stimulus set, or the reconstructions a run decoded.
#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "core/clock.hpp"
#include "core/progress.hpp"
#include "generators/generator_settings.hpp"
#include "io/files.hpp"
#include "io/npy.hpp"
#include "io/png.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "render.latents", .type = T::String, .def = std::string(""), .help = "latents .npy (rows x 512)",
         .flag = "--latents", .required = true, .existing = true});
  s.add({.key = "render.out", .type = T::String, .def = std::string(""), .help = "folder for ROW.png (6-digit row numbers)",
         .flag = "--out", .required = true});
  s.add({.key = "render.first", .type = T::Int, .def = int64_t{0}, .help = "first row to draw", .flag = "--first", .min = 0.0});
  s.add({.key = "render.count", .type = T::Int, .def = int64_t{-1}, .help = "rows to draw; -1: to the end", .flag = "--count",
         .min = -1.0});
  s.add({.key = "render.batch", .type = T::Int, .def = int64_t{8}, .unit = "images", .help = "latents per generator call",
         .min = 1.0, .max = 1024.0});
}

int run(const Settings& st, const PartRegistry& parts) {
  const std::string latents_path = st.get_string("render.latents"), out = st.get_string("render.out");
  const NpyArray lat = read_npy(latents_path);
  if (lat.shape.size() != 2 || lat.shape[1] != kLatentDim)
    throw std::runtime_error(latents_path + fmt::format(": latents must be a 2D array, rows x {}", kLatentDim));
  const int64_t first = st.get_int("render.first");
  const int64_t end = st.get_int("render.count") < 0 ? lat.shape[0] : std::min(lat.shape[0], first + st.get_int("render.count"));
  if (first >= end) throw SettingsError(fmt::format("render.first: {} leaves no row of the {} in {}", first, lat.shape[0], latents_path));

  const auto gen = parts.make_generator(generator_options(st));
  spdlog::info("drawing rows {}..{} of {} with {}", first, end - 1, latents_path, gen->describe());
  ensure_dir(out);
  const auto batch = st.get_int("render.batch");
  ProgressLine progress;
  const auto t0 = SteadyClock::now();
  for (int64_t row = first; row < end; row += batch) {
    const int n = static_cast<int>(std::min(batch, end - row));
    const ImageBatch& images = gen->generate(lat.data.data() + row * kLatentDim, n);
    for (int i = 0; i < n; ++i)
      write_png(std::filesystem::path(out) / fmt::format("{:06d}.png", row + i), images.width, images.height, to_rgb8(images, i));
    progress.update(fmt::format("{} / {} faces", row + n - first, end - first));
  }
  progress.finish();
  const double s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  spdlog::info("wrote {} PNGs ({}x{}) to {} in {:.1f} s", end - first, gen->resolution(), gen->resolution(), out, s);
  return 0;
}

}  // namespace

Command render_command() {
  return {.name = "render",
          .help = "draw the faces of a latents file as PNGs with a generator",
          .sections = {"render", "generator"},
          .declare = declare,
          .run = run,
          .example = "hyper render --latents twin/stimuli/latents.npy --out faces --generator procedural --resolution 128"};
}

}  // namespace hyper

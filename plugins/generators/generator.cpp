#include "generators/generator.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hyper {

std::unique_ptr<Generator> make_generator(const GeneratorOptions& o) {
  if (o.kind == "pggan") return make_pggan(o);
  if (o.kind == "torchscript") return make_torchscript(o);
  if (o.kind == "procedural") return make_procedural(o);
  throw std::runtime_error("generator.kind: '" + o.kind + "' is not a generator (pggan, torchscript, procedural)");
}

std::vector<uint8_t> to_rgb8(const ImageBatch& b, int i) {
  const size_t plane = static_cast<size_t>(b.height) * static_cast<size_t>(b.width);
  const float* img = b.data.data() + static_cast<size_t>(i) * 3 * plane;
  std::vector<uint8_t> out(3 * plane);
  for (size_t p = 0; p < plane; ++p)
    for (size_t c = 0; c < 3; ++c) {
      const float v = std::clamp((img[c * plane + p] + 1.0f) * 0.5f, 0.0f, 1.0f);
      out[3 * p + c] = static_cast<uint8_t>(std::lround(v * 255.0f));
    }
  return out;
}

}  // namespace hyper

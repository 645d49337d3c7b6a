#include "generators/generator.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "builtin.hpp"

namespace hyper {

namespace {
// Takes the generators of the built-in list (the other kinds are not asked of it).
struct GeneratorList final : Registry {
  std::vector<GeneratorInfo> generators;
  void add_stage(StageInfo) override { throw std::logic_error("the generator list registers generators only"); }
  void add_sink(SinkInfo) override { throw std::logic_error("the generator list registers generators only"); }
  void add_source(SourceInfo) override { throw std::logic_error("the generator list registers generators only"); }
  void add_generator(GeneratorInfo g) override { generators.push_back(std::move(g)); }
};
}  // namespace

const std::vector<GeneratorInfo>& builtin_generators() {
  static const std::vector<GeneratorInfo> list = [] {
    GeneratorList l;
    register_builtin_generators(l);
    return l.generators;
  }();
  return list;
}

std::unique_ptr<Generator> make_generator(const std::vector<GeneratorInfo>& known, const GeneratorOptions& o) {
  std::string names;
  for (const GeneratorInfo& g : known) {
    if (g.name == o.kind) return g.make(o);
    names += (names.empty() ? "" : ", ") + g.name;
  }
  throw std::runtime_error("generator.kind: '" + o.kind + "' is not a generator (" + names + ")");
}

std::unique_ptr<Generator> make_generator(const GeneratorOptions& o) { return make_generator(builtin_generators(), o); }

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

#pragma once
// Generators turn latents into faces (DESIGN.md, "Generators"; README, "Generators"):
//   pggan        the native LibTorch port of Karras et al.'s CelebA-HQ generator, from a
//                weights file in our format (tools/convert_pggan.py makes one)
//   torchscript  any exported module: latents [N, 512] -> images [N, 3, H, H] in [-1, 1]
//   procedural   a drawn face for runs without GAN weights ("procedural stand-in")
// Each is one file registering itself (register_NAME) from plugins/generators/list.cpp.
// Torch headers stay inside the generator .cpp files: this interface is plain C++.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hyper/generator.hpp"
#include "hyper/registry.hpp"

namespace hyper {

// A generator that computes a face level by level (pggan) and can hand over an early,
// coarser image of it mid-way (stream.coarse_first): `coarse` gets the image at
// `coarse_resolution` as soon as it exists, then the full images are returned.
class CoarseFirst {
 public:
  virtual ~CoarseFirst() = default;
  virtual const ImageBatch& generate_coarse_first(const float* latents, int n, int coarse_resolution,
                                                  const std::function<void(const ImageBatch&)>& coarse) = 0;
};

// The generators of the built-in list (plugins/generators/list.cpp).
const std::vector<GeneratorInfo>& builtin_generators();

// The generator named by options.kind among `known` (by default the built-in ones).
// Throws std::runtime_error naming the file, tensor or setting that is wrong.
std::unique_ptr<Generator> make_generator(const GeneratorOptions& options);
std::unique_ptr<Generator> make_generator(const std::vector<GeneratorInfo>& known, const GeneratorOptions& options);

// Image i of a batch as 8-bit RGB, row-major, 3 bytes per pixel: (x + 1) / 2 clipped to [0, 1].
std::vector<uint8_t> to_rgb8(const ImageBatch& batch, int i);

}  // namespace hyper

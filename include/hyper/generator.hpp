#pragma once
// A generator turns latents into faces (DESIGN.md, "Generators"). Plain C++: torch stays
// inside the implementations. Built-in ones (plugins/generators) and a plugin's are
// registered with Registry::add_generator and chosen by name (generator.kind).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hyper {

// N images, N x 3 x H x W floats in C order, nominally in [-1, 1] (the GAN's range).
struct ImageBatch {
  int n = 0, height = 0, width = 0;
  std::vector<float> data;
};

struct GeneratorOptions {
  std::string kind = "pggan";
  std::string weights;          // pggan: our weights file; torchscript: the module (.pt)
  int resolution = 0;           // output side in pixels; pggan: a power of 2, 0 its largest; procedural: 0 is 256
  std::string device = "cpu";   // cpu | cuda | cuda:N
  std::string dtype = "float32";  // float32, float64 (checks); on CUDA also float16, bfloat16
  int threads = 1;              // CPU threads for LibTorch's intra-op pool (its default here is 1)
  bool cuda_graph = false;      // pggan on CUDA: record the forward once as a CUDA graph, replay it per call
  bool prepack = true;          // pggan on the CPU in float32: small-input convs' weights reordered for oneDNN once, at load
  bool channels_last = false;   // pggan: tensors in NHWC and plain nearest upsampling before each block's first conv
};

class Generator {
 public:
  virtual ~Generator() = default;
  // "pggan 256x256, cpu float32, 2 threads": for logs and reports.
  virtual std::string describe() const = 0;
  virtual int resolution() const = 0;
  // `latents`: n rows of 512 floats. The returned batch is owned by the generator and
  // reused (overwritten) by the next call. Not thread-safe: one thread calls it.
  virtual const ImageBatch& generate(const float* latents, int n) = 0;
};

}  // namespace hyper

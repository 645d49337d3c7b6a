// The [generator] settings, shared by every command that draws faces.
#include "generators/generator_settings.hpp"

#include <mutex>

#include <spdlog/spdlog.h>

namespace hyper {

void declare_generator_settings(Schema& s, const std::vector<std::string>& kinds) {
  using T = SettingType;
  std::vector<std::string> choices{"auto"};
  choices.insert(choices.end(), kinds.begin(), kinds.end());
  s.add({.key = "generator.kind", .type = T::String, .def = std::string("auto"),
         .help = "the registered generator to draw with: pggan (the native PGGAN), torchscript (an exported module), "
                 "procedural (a drawn stand-in face); auto: pggan with generator.weights (torchscript for a .pt), else "
                 "procedural, said once",
         .flag = "--generator", .choices = choices});
  s.add({.key = "generator.weights", .type = T::String, .def = std::string(""),
         .help = "pggan: weights (hyper-pggan/1, from tools/convert_pggan.py); torchscript: the module .pt",
         .flag = "--weights", .existing = true});
  s.add({.key = "generator.resolution", .type = T::Int, .def = int64_t{0}, .unit = "pixels",
         .help = "output side, a power of 2 (pggan: that level's toRGB); 0: the largest", .flag = "--resolution",
         .min = 0.0, .max = 4096.0});
  s.add({.key = "generator.device", .type = T::String, .def = std::string("cpu"), .help = "cpu, cuda or cuda:N",
         .flag = "--device"});
  s.add({.key = "generator.dtype", .type = T::String, .def = std::string("float32"),
         .help = "float32; float64 (checks); on CUDA also float16 or bfloat16", .flag = "--dtype",
         .choices = {"float32", "float64", "float16", "bfloat16"}});
  s.add({.key = "generator.threads", .type = T::Int, .def = int64_t{1}, .unit = "threads",
         .help = "CPU threads for LibTorch (its default here is 1)", .flag = "--threads", .min = 1.0, .max = 256.0});
  s.add({.key = "generator.cuda_graph", .type = T::Bool, .def = false,
         .help = "pggan on CUDA: replay the forward as one CUDA graph (removes per-kernel launch cost at batch 1)"});
  s.add({.key = "generator.prepack", .type = T::Bool, .def = true,
         .help = "pggan on the CPU in float32: the weights of the convs on inputs up to 32 px reordered once, at load, "
                 "into oneDNN's layout (false: LibTorch's conv2d reorders them every call and runs the smallest convs "
                 "through im2col and BLAS)"});
  s.add({.key = "generator.channels_last", .type = T::Bool, .def = false,
         .help = "pggan: tensors in channels-last (NHWC) layout, where cuDNN's tensor-core kernels read them, and "
                 "nearest upsampling before each block's first conv instead of the folded 2x2 conv (false: NCHW, "
                 "folded)"});
}

GeneratorOptions generator_options(const Params& s) {
  GeneratorOptions o;
  o.kind = s.get_string("generator.kind");
  o.weights = s.get_string("generator.weights");
  if (o.kind == "auto") {  // no weights ship: a first run draws the stand-in instead of failing
    if (o.weights.empty()) {
      o.kind = "procedural";
      static std::once_flag said;
      std::call_once(said, [] {
        spdlog::warn("no GAN weights given (generator.weights, --weights): drawing the procedural stand-in face. For the "
                     "real network convert its weights with tools/convert_pggan.py and pass --weights FILE");
      });
    } else {
      o.kind = o.weights.ends_with(".pt") ? "torchscript" : "pggan";
    }
  }
  if (o.kind == "pggan" && o.weights.empty())  // every command that draws: a settings error, before anything starts
    throw SettingsError("generator.weights: the pggan generator needs a weights file: convert the network with "
                        "tools/convert_pggan.py and pass --weights FILE, or draw the stand-in with --generator procedural "
                        "(generator.kind = \"auto\" does so when no weights are given)");
  o.resolution = static_cast<int>(s.get_int("generator.resolution"));
  if (o.resolution != 0 && (o.resolution < 4 || (o.resolution & (o.resolution - 1)) != 0))  // every kind: PGGAN's levels
    throw SettingsError(fmt::format("generator.resolution: {} is not a power of 2 from 4 (4, 8, 16, ..., 1024; 0: the "
                                    "generator's largest)", o.resolution));
  o.device = s.get_string("generator.device");
  o.dtype = s.get_string("generator.dtype");
  o.threads = static_cast<int>(s.get_int("generator.threads"));
  o.cuda_graph = s.get_bool("generator.cuda_graph");
  o.prepack = s.get_bool("generator.prepack");
  o.channels_last = s.get_bool("generator.channels_last");
  return o;
}

}  // namespace hyper

// The `torchscript` generator: any scripted or traced module with the contract
//   forward(Tensor latents [N, 512] float32) -> Tensor images [N, 3, H, W], values in [-1, 1]
// (H = W), checked at load with one forward of two latents. Its own resolution; the
// generator.resolution setting, if not 0, must equal it.
#include <torch/script.h>
#include <torch/torch.h>

#include <stdexcept>

#include <spdlog/fmt/fmt.h>

#include "generators/generator.hpp"
#include "generators/torch_common.hpp"

namespace hyper {

namespace {

class TorchScript : public Generator {
 public:
  explicit TorchScript(const GeneratorOptions& o) : device_(o.device), path_(o.weights) {
    if (path_.empty()) throw std::runtime_error("generator.weights: the torchscript generator needs a module file (.pt)");
    dtype_ = torch_dtype(o.dtype, device_);
    threads_ = std::max(1, o.threads);
    torch::set_num_threads(threads_);
    try {
      module_ = torch::jit::load(path_, device_);
    } catch (const c10::Error& e) {
      throw std::runtime_error(path_ + ": not a TorchScript module (" + std::string(e.what_without_backtrace()) + ")");
    }
    module_.eval();
    module_.to(dtype_);
    // The contract, on two latents.
    const torch::Tensor probe = torch::zeros({2, 512});
    torch::Tensor y;
    try {
      y = run(probe);
    } catch (const std::exception& e) {
      throw std::runtime_error(path_ + ": forward on latents [2, 512] failed: " + e.what());
    }
    if (y.dim() != 4 || y.size(0) != 2 || y.size(1) != 3 || y.size(2) != y.size(3))
      throw std::runtime_error(fmt::format("{}: forward on latents [2, 512] gave shape {}, the contract is [2, 3, H, H]", path_,
                                           c10::str(y.sizes())));
    resolution_ = static_cast<int>(y.size(2));
    if (o.resolution > 0 && o.resolution != resolution_)
      throw std::runtime_error(fmt::format("generator.resolution: {}, but {} draws {}x{}", o.resolution, path_, resolution_,
                                           resolution_));
  }

  std::string describe() const override {
    return fmt::format("torchscript {} {}x{}, {} {}", path_, resolution_, resolution_, device_.str(), c10::toString(dtype_));
  }
  int resolution() const override { return resolution_; }

  const ImageBatch& generate(const float* latents, int n) override {
    const torch::Tensor z = torch::from_blob(const_cast<float*>(latents), {n, 512}, torch::kFloat32);
    return copy_images(run(z), out_);
  }

 private:
  torch::Tensor run(const torch::Tensor& z) {
    torch::InferenceMode guard;
    return module_.forward({z.to(device_, dtype_)}).toTensor();
  }

  torch::Device device_;
  std::string path_;
  torch::Dtype dtype_ = torch::kFloat32;
  int threads_ = 1, resolution_ = 0;
  torch::jit::Module module_;
  ImageBatch out_;
};

}  // namespace

void register_torchscript(Registry& r) {
  r.add_generator({"torchscript", "an exported TorchScript module: latents [N, 512] -> images [N, 3, H, H]",
                   [](const GeneratorOptions& o) -> std::unique_ptr<Generator> { return std::make_unique<TorchScript>(o); }});
}

}  // namespace hyper

#include "eval/feature_net.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <cstring>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

namespace hyper {

struct FeatureNet::Impl {
  std::string path;
  torch::Device device{torch::kCPU};
  int size = 224;
  int64_t dims = 0;
  torch::jit::Module module;

  torch::Tensor run(const torch::Tensor& x) {
    torch::InferenceMode guard;
    const torch::Tensor y = module.forward({x.to(device)}).toTensor();
    if (y.dim() < 1 || y.size(0) != x.size(0))
      throw std::runtime_error(fmt::format("{}: forward on images [{}, 3, {}, {}] gave shape {}, the contract is [{}, ...]", path,
                                           x.size(0), size, size, c10::str(y.sizes()), x.size(0)));
    return y.reshape({y.size(0), -1}).to(torch::kCPU, torch::kFloat64).contiguous();
  }
};

FeatureNet::FeatureNet(const std::string& path, const std::string& device, int size) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->size = size;
  try {
    impl_->device = torch::Device(device);
  } catch (const c10::Error&) {
    throw std::runtime_error("generator.device: '" + device + "' is not a torch device");
  }
  if (impl_->device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("generator.device: " + device + ", but this LibTorch sees no CUDA device");
  try {
    impl_->module = torch::jit::load(path, impl_->device);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": not a TorchScript module (" + std::string(e.what_without_backtrace()) + ")");
  }
  impl_->module.eval();
  torch::Tensor y;
  try {
    y = impl_->run(torch::full({2, 3, size, size}, 0.5f));
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("{}: forward on images [2, 3, {}, {}] failed: {}", path, size, size, e.what_without_backtrace()));
  }
  impl_->dims = y.size(1);
  if (impl_->dims < 1) throw std::runtime_error(path + ": the feature network returns no features");
}

FeatureNet::~FeatureNet() = default;

std::string FeatureNet::describe() const {
  return fmt::format("{}: {} features of {}x{} RGB, {}", impl_->path, impl_->dims, impl_->size, impl_->size, impl_->device.str());
}

int FeatureNet::size() const { return impl_->size; }

Eigen::MatrixXd FeatureNet::features(const std::vector<std::vector<uint8_t>>& rgb) {
  const int s = impl_->size;
  const auto n = static_cast<int64_t>(rgb.size());
  torch::Tensor x = torch::empty({n, s, s, 3}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    if (rgb[static_cast<size_t>(i)].size() != static_cast<size_t>(s) * static_cast<size_t>(s) * 3)
      throw std::invalid_argument("FeatureNet::features: an image is not " + std::to_string(s) + "x" + std::to_string(s) + " RGB");
    std::memcpy(x[i].data_ptr<uint8_t>(), rgb[static_cast<size_t>(i)].data(), rgb[static_cast<size_t>(i)].size());
  }
  const torch::Tensor y = impl_->run(x.permute({0, 3, 1, 2}).to(torch::kFloat32).div_(255.0f).contiguous());
  Eigen::MatrixXd out(n, y.size(1));
  const auto* p = y.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < y.size(1); ++j) out(i, j) = p[i * y.size(1) + j];
  return out;
}

}  // namespace hyper

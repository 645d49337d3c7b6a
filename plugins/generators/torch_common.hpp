#pragma once
// What the torch generators share: settings in LibTorch's terms, and handing images over
// (include only from files that include torch).
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "generators/generator.hpp"

namespace hyper {

// float16 and bfloat16 only on CUDA; float64 for checks against references.
inline torch::Dtype torch_dtype(const std::string& s, const torch::Device& device) {
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("generator.device: " + device.str() + ", but this LibTorch sees no CUDA device");
  if (s == "float32") return torch::kFloat32;
  if (s == "float64") return torch::kFloat64;
  if (!device.is_cuda() && (s == "float16" || s == "bfloat16"))
    throw std::runtime_error("generator.dtype: " + s + " needs a CUDA device (generator.device = \"cuda\")");
  if (s == "float16") return torch::kFloat16;
  if (s == "bfloat16") return torch::kBFloat16;
  throw std::runtime_error("generator.dtype: '" + s + "' is not float32, float64, float16 or bfloat16");
}

// Images [N, 3, H, W] on any device and dtype into the generator's reused batch (float32):
// converted on their own device, then copied once, straight into the batch (from a GPU: no
// host tensor in between and no second host copy of a 12 MB image at 1024 px).
inline const ImageBatch& copy_images(const torch::Tensor& images, ImageBatch& out) {
  const torch::Tensor img = images.to(torch::kFloat32, false, false, torch::MemoryFormat::Contiguous);  // one copy, also from NHWC
  out.n = static_cast<int>(img.size(0));
  out.height = static_cast<int>(img.size(2));
  out.width = static_cast<int>(img.size(3));
  out.data.resize(static_cast<size_t>(img.numel()));
  torch::from_blob(out.data.data(), img.sizes(), torch::kFloat32).copy_(img);
  return out;
}

}  // namespace hyper

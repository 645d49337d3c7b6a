// The native PGGAN generator (Karras et al. 2018, CelebA-HQ) in LibTorch. Per layer, as
// genforce computes it: pixel norm, nearest 2x upsampling (from the second block on), conv
// with the equalised-learning-rate scale folded into the weights, bias, leaky ReLU 0.2 (the
// upsampling and the conv after it computed as one, upsample_conv); the
// chosen level's toRGB (pixel norm, 1x1 conv, bias, linear) gives the image.
//
// generator.prepack (CPU, float32, a LibTorch with oneDNN): the weights of the convs on
// inputs up to 32 px are reordered once, at load, into oneDNN's blocked layout. conv2d
// otherwise reorders them on every call (~100 MB for the levels up to 64 px), and sends the
// convs on small inputs (below 20480 values, kernels up to 3x3: the 4x4 level's) to im2col +
// OpenBLAS, whose threads then spin beside LibTorch's (README, "hyper bench": the first
// face at 256 px on screen 0.7x as late, 2 cores).
//
// generator.channels_last: the activations and weights in NHWC, the layout in which cuDNN
// runs its tensor-core convolution kernels without transposing, and each block's nearest
// upsampling done as such before its 3x3 conv (the folded conv's parity interleave is a
// reshape that NHWC cannot view). Same result up to rounding.
//
// generator.cuda_graph (CUDA builds of LibTorch only, HYPER_WITH_CUDA): the forward is
// recorded once per batch size as a CUDA graph and replayed per call. At batch 1 the GPU
// time is mostly the launch of ~60 small kernels (../shared/GPU.md); a replay is one launch.
#include <torch/torch.h>
#if defined(HYPER_WITH_CUDA)
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

#include <cmath>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "generators/generator.hpp"
#include "generators/pggan_layout.hpp"
#include "generators/torch_common.hpp"
#include "io/safetensors.hpp"

namespace hyper {

namespace {

// The largest input side whose convs are prepacked. At 64 px and above conv2d already takes
// oneDNN, its weight reorder is small beside the conv, and the prepacked weights ran 3-11%
// slower there (64 to 32 channels at 256 to 1024 px: their layout is chosen without the
// input's size), so those stay with conv2d.
constexpr int64_t kPrepackUpTo = 32;

// One convolution (stride 1) with its weights either as given or prepacked for oneDNN.
struct Conv {
  torch::Tensor w, b;
  int64_t pad = 0;
  bool packed = false;
  torch::Tensor operator()(const torch::Tensor& x) const {
    return packed ? at::mkldnn_convolution(x, w, b, {pad, pad}, {1, 1}, {1, 1}, 1) : torch::conv2d(x, w, b, 1, pad);
  }
  Conv prepacked() const {
    return {at::mkldnn_reorder_conv2d_weight(w.to_mkldnn(), {pad, pad}, {1, 1}, {1, 1}, 1), b, pad, true};
  }
};

torch::Tensor pixel_norm(const torch::Tensor& x) { return x * torch::rsqrt(x.square().mean(1, true) + 1e-8); }

// Nearest 2x upsampling followed by a 3x3 convolution (padding 1) is, for each output
// pixel parity (a, b), a 2x2 convolution of the low-resolution input whose taps are the
// 3x3 taps that land on the same input pixel, summed: along an axis, taps 0, 1, 2 read
// input rows r-1, r, r for the even output row 2r and r, r, r+1 for the odd row 2r+1.
// Same result (up to rounding), 16 instead of 36 multiply-adds per channel pair and 2x2
// output pixels, and no upsampled copy: that conv 2.7x faster at 256 on the CPU (oneDNN).
torch::Tensor fold_taps(const torch::Tensor& w, int64_t dim, int parity) {
  const torch::Tensor t0 = w.select(dim, 0), t1 = w.select(dim, 1), t2 = w.select(dim, 2);
  return parity == 0 ? torch::stack({t0, t1 + t2}, dim) : torch::stack({t0 + t1, t2}, dim);
}

// [Co, Ci, 3, 3] -> [4 Co, Ci, 2, 2], the four parities (00, 01, 10, 11) one after another.
torch::Tensor upsample_conv_weight(const torch::Tensor& w) {
  std::vector<torch::Tensor> parities;
  for (int a : {0, 1})
    for (int b : {0, 1}) parities.push_back(fold_taps(fold_taps(w, 2, a), 3, b));
  return torch::cat(parities, 0);
}

// conv3x3(upsample2x(x)) with the weight from upsample_conv_weight and the bias repeated 4x
// (padding 1).
torch::Tensor upsample_conv(const torch::Tensor& x, const Conv& conv4) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3), co = conv4.b.size(0) / 4;
  // With padding 1 a 2x2 kernel gives (h+1) x (w+1): parity (a, b)'s pixel (r, c) sits at (r+a, c+b).
  const torch::Tensor y = conv4(x).view({n, 2, 2, co, h + 1, w + 1});
  auto parity = [&](int64_t a, int64_t b) { return y.select(1, a).select(1, b).slice(2, a, a + h).slice(3, b, b + w); };
  // [n, co, h, 2, w, 2] -> [n, co, 2h, 2w]: output pixel (2r + a, 2c + b).
  return torch::stack({torch::stack({parity(0, 0), parity(0, 1)}, -1), torch::stack({parity(1, 0), parity(1, 1)}, -1)}, 3)
      .reshape({n, co, 2 * h, 2 * w});
}

// Nearest 2x upsampling, keeping the input's memory layout (the channels-last path).
torch::Tensor upsample2x(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
}

std::vector<int64_t> parse_ints(const std::string& s, const std::string& what) {
  std::vector<int64_t> v;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    try {
      v.push_back(std::stoll(s.substr(start, comma - start)));
    } catch (const std::exception&) {
      throw std::runtime_error(what + ": '" + s + "' is not a list of integers");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return v;
}

class Pggan : public Generator, public CoarseFirst {
 public:
  explicit Pggan(const GeneratorOptions& o) : device_(o.device) {
    if (o.weights.empty()) throw std::runtime_error("generator.weights: the pggan generator needs a weights file");  // see generator_options
    dtype_ = torch_dtype(o.dtype, device_);
    threads_ = std::max(1, o.threads);
    torch::set_num_threads(threads_);
    channels_last_ = o.channels_last;
    prepack_ = o.prepack && !channels_last_ && device_.is_cpu() && dtype_ == torch::kFloat32 && at::hasMKLDNN();
    load(o.weights);
    const int max_res = 4 << (blocks_.size() - 1);
    resolution_ = o.resolution > 0 ? o.resolution : max_res;
    levels_ = 0;
    for (int r = 4; r < resolution_; r *= 2) ++levels_;
    if ((4 << levels_) != resolution_ || resolution_ > max_res)
      throw std::runtime_error(fmt::format("generator.resolution: {} is not a power of 2 from 4 to {} ({}'s largest)",
                                           resolution_, max_res, o.weights));
    ++levels_;  // blocks used
    graph_ = o.cuda_graph;
    if (graph_ && !device_.is_cuda()) throw std::runtime_error("generator.cuda_graph: needs generator.device = \"cuda\"");
#if !defined(HYPER_WITH_CUDA)
    if (graph_) throw std::runtime_error("generator.cuda_graph: this build's LibTorch has no CUDA");
#endif
  }

  std::string describe() const override {
    return fmt::format("pggan {}x{}, {} {}{}{}{}{}", resolution_, resolution_, device_.str(), c10::toString(dtype_),
                       device_.is_cpu() ? fmt::format(", {} thread(s)", threads_) : "", prepack_ ? ", prepacked" : "",
                       channels_last_ ? ", channels-last" : "", graph_ ? ", CUDA graph" : "");
  }
  int resolution() const override { return resolution_; }

  const ImageBatch& generate(const float* latents, int n) override {
    torch::InferenceMode guard;
    const torch::Tensor z = latent_tensor(latents, n);
    return hand_over(graph_ ? replay(z) : forward(z));
  }

  // The block at `coarse_resolution` ends in its own toRGB layer (PGGAN's, trained while the
  // network grew): its image is handed over before the finer blocks run. No CUDA graph here.
  const ImageBatch& generate_coarse_first(const float* latents, int n, int coarse_resolution,
                                          const std::function<void(const ImageBatch&)>& coarse) override {
    torch::InferenceMode guard;
    const torch::Tensor z = latent_tensor(latents, n);
    return hand_over(forward(z, coarse_resolution, &coarse));
  }

 private:
  // The final image into the reused batch (page-locked first on CUDA: pin).
  const ImageBatch& hand_over(const torch::Tensor& images) {
    pin(out_, images.numel());
    return copy_images(images, out_);
  }

  torch::Tensor latent_tensor(const float* latents, int n) const {
    const torch::Tensor z = torch::from_blob(const_cast<float*>(latents), {n, latent_dim_, 1, 1}, torch::kFloat32).to(device_, dtype_);
    return channels_last_ ? z.contiguous(torch::MemoryFormat::ChannelsLast) : z;
  }

  torch::Tensor forward(torch::Tensor x, int coarse_resolution = 0, const std::function<void(const ImageBatch&)>* coarse = nullptr) {
    for (int i = 0; i < levels_; ++i) {
      const Block& b = blocks_[static_cast<size_t>(i)];
      x = pixel_norm(x);  // of the latent first, then after every activation
      x = i == 0 ? b.conv0(x) : channels_last_ ? b.conv0(upsample2x(x)) : upsample_conv(x, b.conv0);
      torch::leaky_relu_(x, 0.2);  // in place: no copy per layer
      x = b.conv1(pixel_norm(x));
      torch::leaky_relu_(x, 0.2);
      if (coarse && (4 << i) == coarse_resolution && i + 1 < levels_) (*coarse)(copy_images(b.rgb(pixel_norm(x)), coarse_out_));
    }
    return blocks_[static_cast<size_t>(levels_ - 1)].rgb(pixel_norm(x));
  }

#if defined(HYPER_WITH_CUDA)
  // Records the forward for this batch size (warmed up on a side stream first, as capture
  // requires: cuDNN's algorithm choice and the allocator settle there), then replays it on
  // fixed input and output tensors.
  torch::Tensor replay(const torch::Tensor& z) {
    if (!cuda_graph_ || graph_batch_ != z.size(0)) {
      cuda_graph_.reset();
      graph_in_ = z.clone();
      torch::cuda::synchronize();  // the side stream must see graph_in_
      c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, device_.index());
      {
        c10::cuda::CUDAStreamGuard on_side(side);
        for (int i = 0; i < 3; ++i) graph_out_ = forward(graph_in_);
        side.synchronize();
        cuda_graph_ = std::make_unique<at::cuda::CUDAGraph>();
        cuda_graph_->capture_begin();
        graph_out_ = forward(graph_in_);
        cuda_graph_->capture_end();
      }
      torch::cuda::synchronize();
      graph_batch_ = z.size(0);
    }
    graph_in_.copy_(z);
    cuda_graph_->replay();
    return graph_out_;
  }
  std::unique_ptr<at::cuda::CUDAGraph> cuda_graph_;
  torch::Tensor graph_in_, graph_out_;
  int64_t graph_batch_ = 0;
  // The image's host memory page-locked (registered with CUDA, once per buffer), so that the
  // copy from the GPU lands there directly instead of through the driver's staging buffer
  // and a second host copy (1.07 ms for a 1024 px image on an H200 machine, the GPU bench).
  // Where registering fails, the copy stays pageable. A new batch size moves the buffer:
  // unregistered before it is freed.
  void pin(ImageBatch& out, int64_t values) {
    if (out.data.size() != static_cast<size_t>(values)) unpin();
    out.data.resize(static_cast<size_t>(values));
    if (!device_.is_cuda() || pin_failed_ || out.data.empty() || out.data.data() == pinned_) return;
    unpin();
    c10::cuda::OptionalCUDAGuard on_device;  // registered from the generator's device (cuda:N), for every device
    if (device_.has_index()) on_device.set_index(device_.index());
    if (const cudaError_t e = cudaHostRegister(out.data.data(), out.data.size() * sizeof(float), cudaHostRegisterPortable);
        e != cudaSuccess) {
      (void)cudaGetLastError();  // clear it: LibTorch checks the last error after its own calls
      spdlog::warn("generator: the image's host memory could not be page-locked ({}): its copy from the GPU stays pageable",
                   cudaGetErrorString(e));
      pin_failed_ = true;
      return;
    }
    pinned_ = out.data.data();
  }
  void unpin() {
    if (pinned_ && cudaHostUnregister(pinned_) != cudaSuccess) (void)cudaGetLastError();
    pinned_ = nullptr;
  }
  float* pinned_ = nullptr;
  bool pin_failed_ = false;

 public:
  ~Pggan() override { unpin(); }

 private:
#else
  torch::Tensor replay(const torch::Tensor& z) { return forward(z); }  // unreachable: refused at construction
  void pin(ImageBatch&, int64_t) {}
#endif

  struct Block {
    Conv conv0, conv1, rgb;  // conv0: 4x4 (padding 3) in the first block, upsample_conv's in the others
  };

  // Checks every tensor's name and shape against the layout the file's metadata declares,
  // naming the first that differs, and folds each weight's scale in.
  void load(const std::string& path) {
    const TensorFile f = read_safetensors(path);
    auto meta = [&](const std::string& key) {
      auto it = f.metadata.find(key);
      if (it == f.metadata.end())
        throw std::runtime_error(path + ": not a HYPER-RT PGGAN weights file (no '" + key + "'; tools/convert_pggan.py writes one)");
      return it->second;
    };
    if (meta("format") != "hyper-pggan/1") throw std::runtime_error(path + ": format " + meta("format") + ", expected hyper-pggan/1");
    const auto channels = parse_ints(meta("channels"), path + ": metadata 'channels'");
    if (channels.empty() || channels.size() > 9) throw std::runtime_error(path + ": metadata 'channels' needs 1 to 9 levels (4x4 to 1024x1024)");
    latent_dim_ = parse_ints(meta("latent_dim"), path + ": metadata 'latent_dim'").at(0);
    if (latent_dim_ != 512) throw std::runtime_error(fmt::format("{}: latent_dim {}, HYPER-RT latents have 512", path, latent_dim_));
    const auto layout = pggan_layout(channels, latent_dim_);
    std::map<std::string, torch::Tensor> t;
    for (const PgganTensor& spec : layout) {
      auto it = f.tensors.find(spec.name);
      if (it == f.tensors.end()) throw std::runtime_error(path + ": tensor '" + spec.name + "' is missing");
      if (it->second.shape != spec.shape)
        throw std::runtime_error(fmt::format("{}: tensor '{}' has shape [{}], the layout needs [{}]", path, spec.name,
                                             fmt::join(it->second.shape, ", "), fmt::join(spec.shape, ", ")));
      const std::vector<float> v = as_f32(it->second);
      // A copy in the run's dtype first, then the scale (in that precision).
      torch::Tensor x = torch::from_blob(const_cast<float*>(v.data()), spec.shape, torch::kFloat32)
                            .to(device_, dtype_, /*non_blocking=*/false, /*copy=*/true);
      if (spec.fan_in > 0) x.mul_(spec.gain / std::sqrt(static_cast<double>(spec.fan_in)));
      t[spec.name] = x;
    }
    if (f.tensors.size() != layout.size())
      for (const auto& [name, tensor] : f.tensors)
        if (!t.count(name)) throw std::runtime_error(path + ": unexpected tensor '" + name + "'");
    for (size_t i = 0; i < channels.size(); ++i) {
      const std::string a = "layer" + std::to_string(2 * i), b = "layer" + std::to_string(2 * i + 1), o = "output" + std::to_string(i);
      // Every block but the first upsamples before its first conv: folded into it (upsample_conv).
      torch::Tensor w0 = t[a + ".conv.weight"], b0 = t[a + ".wscale.bias"];
      if (i > 0 && !channels_last_) {
        // Summed in at least float32, then stored in the run's dtype.
        w0 = upsample_conv_weight(w0.to(torch::promote_types(dtype_, torch::kFloat32))).to(dtype_);
        b0 = b0.repeat({4});
      }
      Block block{{w0, b0, i == 0 ? 3 : 1}, {t[b + ".conv.weight"], t[b + ".wscale.bias"], 1}, {t[o + ".conv.weight"], t[o + ".wscale.bias"], 0}};
      if (channels_last_)
        for (Conv* c : {&block.conv0, &block.conv1, &block.rgb}) c->w = c->w.contiguous(torch::MemoryFormat::ChannelsLast);
      if (prepack_) {  // by the side of each conv's input: conv0 reads the block below's output (the latent in block 0)
        const int64_t side = 4 << i, conv0_side = i == 0 ? 1 : side / 2;
        if (conv0_side <= kPrepackUpTo) block.conv0 = block.conv0.prepacked();
        if (side <= kPrepackUpTo) block.conv1 = block.conv1.prepacked(), block.rgb = block.rgb.prepacked();
      }
      blocks_.push_back(block);
    }
  }

  torch::Device device_;
  torch::Dtype dtype_ = torch::kFloat32;
  ImageBatch coarse_out_;  // the early image (generate_coarse_first)
  int threads_ = 1, resolution_ = 0, levels_ = 0;
  bool graph_ = false, prepack_ = false, channels_last_ = false;
  int64_t latent_dim_ = 512;
  std::vector<Block> blocks_;
  ImageBatch out_;
};

}  // namespace

void register_pggan(Registry& r) {
  r.add_generator({"pggan", "the native PGGAN (Karras et al., CelebA-HQ) from a hyper-pggan/1 weights file",
                   [](const GeneratorOptions& o) -> std::unique_ptr<Generator> { return std::make_unique<Pggan>(o); }});
}

}  // namespace hyper

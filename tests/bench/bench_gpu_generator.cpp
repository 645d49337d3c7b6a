// The generator on a GPU (README, "The generator on a GPU"; tools/gpu_bench builds and runs
// this on a CUDA machine): the native PGGAN from one random full-size network (the file
// tools/gpu_bench writes, else written here, so nothing but LibTorch is needed), batch 1, per
// resolution: CPU float32 (the reference image), then on CUDA float32 (cuDNN's default
// allows TF32), float32 without TF32, float16, bfloat16, CUDA graphs, cuDNN's benchmark mode
// and channels-last. Each: the max difference of its image from the CPU image, and ms per
// image (latent in host memory to image in host memory, what the stream's face thread
// sees): median and p99 of --repeats after 5 warm-up calls. Then the hand-over alone (a
// float16 image on the GPU into host memory as float32), four ways: through a host tensor
// and a copy (the way before), straight into the batch (copy_images), through a pinned
// buffer, and straight into the batch with its memory registered (page-locked: what the
// pggan generator does on CUDA). Markdown.
//
//   hyper_bench_gpu_generator [--resolutions 256,1024] [--repeats 50] [--work DIR] [--cpu-only]
#include <torch/torch.h>
#if defined(HYPER_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "generators/generator.hpp"
#include "generators/pggan_layout.hpp"
#include "generators/torch_common.hpp"
#include "io/safetensors.hpp"

using namespace hyper;
using Clock = std::chrono::steady_clock;

namespace {

// A random full-size network in our weights format (N(0, 1) weights as in training's
// equalised learning rate, zero biases).
void write_random_pggan(const std::filesystem::path& path) {
  const auto channels = pggan_official_channels(1024);
  TensorFile f;
  std::mt19937 rng(1);
  std::normal_distribution<float> n01(0, 1);
  for (const PgganTensor& t : pggan_layout(channels)) {
    int64_t size = 1;
    for (int64_t d : t.shape) size *= d;
    std::vector<float> v(static_cast<size_t>(size), 0.f);
    if (t.fan_in > 0)
      for (float& x : v) x = n01(rng);
    f.tensors[t.name] = tensor_f32(t.shape, v.data());
  }
  std::string list;
  for (int64_t c : channels) list += (list.empty() ? "" : ",") + std::to_string(c);
  f.metadata = {{"format", "hyper-pggan/1"}, {"channels", list}, {"latent_dim", "512"}, {"source", "random (hyper_bench_gpu_generator)"}};
  write_safetensors(path, f);
}

struct Timing {
  double p50 = 0, p99 = 0, max_diff = 0;
};

Timing time_generator(const GeneratorOptions& o, const std::vector<float>& z, const ImageBatch* reference, int repeats) {
  const auto gen = make_generator(o);
  for (int i = 0; i < 5; ++i) gen->generate(z.data(), 1);
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = Clock::now();
    gen->generate(z.data(), 1);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  Timing t{ms[ms.size() / 2], ms[std::min(ms.size() - 1, static_cast<size_t>(std::ceil(0.99 * static_cast<double>(ms.size()))) - 1)], 0};
  const ImageBatch& img = gen->generate(z.data(), 1);
  if (reference)
    for (size_t i = 0; i < img.data.size(); ++i) t.max_diff = std::max(t.max_diff, static_cast<double>(std::abs(img.data[i] - reference->data[i])));
  return t;
}

double p50(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// ms per hand-over of one float16 [1, 3, res, res] image from the GPU into host float32.
void time_hand_over(int res, int repeats) {
  const torch::Tensor img = torch::randn({1, 3, res, res}, torch::TensorOptions().device(torch::kCUDA).dtype(torch::kFloat16));
  ImageBatch out;
  const torch::Tensor pinned = torch::empty({1, 3, res, res}, torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(true));
  std::vector<std::pair<std::string, std::function<void()>>> ways = {
      {"host tensor, then a copy", [&] {
         const torch::Tensor h = img.to(torch::kCPU, torch::kFloat32).contiguous();
         out.data.resize(static_cast<size_t>(h.numel()));
         std::memcpy(out.data.data(), h.data_ptr<float>(), out.data.size() * sizeof(float));
       }},
      {"straight into the batch (copy_images)", [&] { copy_images(img, out); }},
      {"pinned buffer, then a copy", [&] {
         pinned.copy_(img.to(torch::kFloat32));
         out.data.resize(static_cast<size_t>(pinned.numel()));
         std::memcpy(out.data.data(), pinned.data_ptr<float>(), out.data.size() * sizeof(float));
       }}};
#if defined(HYPER_WITH_CUDA)
  ImageBatch registered;  // the pggan generator's way: the batch's own memory page-locked once
  registered.data.resize(static_cast<size_t>(img.numel()));
  const bool registered_ok = cudaHostRegister(registered.data.data(), registered.data.size() * sizeof(float), cudaHostRegisterDefault) == cudaSuccess;
  ways.push_back({registered_ok ? "straight into the batch, its memory registered (pggan)" : "registering failed", [&] { copy_images(img, registered); }});
#endif
  for (const auto& [name, f] : ways) {
    for (int i = 0; i < 5; ++i) f();
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
      const auto t0 = Clock::now();
      f();
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::printf("| %d | %s | %.3f |\n", res, name.c_str(), p50(ms));
  }
#if defined(HYPER_WITH_CUDA)
  if (registered_ok) cudaHostUnregister(registered.data.data());
#endif
}

}  // namespace

int main(int argc, char** argv) {
  std::string resolutions = "256,1024", work = "/tmp/hyper-bench-gpu";
  int repeats = 50;
  bool cpu_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--resolutions") resolutions = next();
    else if (a == "--repeats") repeats = std::max(1, std::stoi(next()));
    else if (a == "--work") work = next();
    else if (a == "--cpu-only") cpu_only = true;
    else {
      std::fprintf(stderr, "usage: hyper_bench_gpu_generator [--resolutions 256,1024] [--repeats 50] [--work DIR] [--cpu-only]\n");
      return 2;
    }
  }
  std::filesystem::create_directories(work);
  const auto weights = std::filesystem::path(work) / "pggan_random_1024.safetensors";
  if (!std::filesystem::exists(weights)) write_random_pggan(weights);
  const bool cuda = !cpu_only && torch::cuda::is_available();
  std::printf("## PGGAN, batch 1, random full-size network (%s)\n\n", cuda ? "CUDA" : "no CUDA device: CPU only");
  std::printf("| resolution | device | dtype | CUDA graph | ms p50 | ms p99 | max abs diff vs CPU float32 |\n|---|---|---|---|---|---|---|\n");
  std::vector<float> z(512);
  std::mt19937 rng(3);
  std::normal_distribution<float> n01(0, 1);
  for (float& x : z) x = n01(rng);
  std::stringstream list(resolutions);
  for (std::string r; std::getline(list, r, ',');) {
    const int res = std::stoi(r);
    GeneratorOptions cpu{.kind = "pggan", .weights = weights.string(), .resolution = res, .threads = static_cast<int>(std::thread::hardware_concurrency())};
    const auto ref_gen = make_generator(cpu);
    const ImageBatch reference = ref_gen->generate(z.data(), 1);  // a copy
    const Timing c = time_generator(cpu, z, &reference, cuda ? 3 : std::min(repeats, 5));
    std::printf("| %d | cpu (%d threads) | float32 | no | %.2f | %.2f | %.2g |\n", res, cpu.threads, c.p50, c.p99, c.max_diff);
    std::fflush(stdout);
    if (!cuda) continue;
    struct Variant {
      std::string dtype;
      bool graph, tf32, benchmark = false, channels_last = false;  // benchmark: cuDNN times its algorithms once per shape
    };
    for (const Variant& v : std::vector<Variant>{{"float32", false, true}, {"float32", false, false}, {"float16", false, true},
                                                  {"bfloat16", false, true}, {"float32", true, true}, {"float16", true, true},
                                                  {"float16", true, true, true}, {"float16", false, true, false, true},
                                                  {"float32", true, true, false, true}, {"float16", true, true, false, true},
                                                  {"float16", true, true, true, true}, {"bfloat16", true, true, false, true}}) {
      at::globalContext().setAllowTF32CuDNN(v.tf32);
      at::globalContext().setAllowTF32CuBLAS(v.tf32);
      at::globalContext().setBenchmarkCuDNN(v.benchmark);
      GeneratorOptions o{.kind = "pggan", .weights = weights.string(), .resolution = res, .device = "cuda", .dtype = v.dtype,
                         .cuda_graph = v.graph, .channels_last = v.channels_last};
      try {
        const Timing t = time_generator(o, z, &reference, repeats);
        std::printf("| %d | cuda | %s%s%s%s | %s | %.3f | %.3f | %.2g |\n", res, v.dtype.c_str(), v.dtype == "float32" && !v.tf32 ? " (TF32 off)" : "",
                    v.benchmark ? " (cuDNN benchmark)" : "", v.channels_last ? " (channels-last)" : "", v.graph ? "yes" : "no", t.p50, t.p99,
                    t.max_diff);
      } catch (const std::exception& e) {
        std::printf("| %d | cuda | %s%s%s | %s | failed: %s | | |\n", res, v.dtype.c_str(), v.benchmark ? " (cuDNN benchmark)" : "",
                    v.channels_last ? " (channels-last)" : "", v.graph ? "yes" : "no", e.what());
      }
      std::fflush(stdout);
    }
    at::globalContext().setAllowTF32CuDNN(true);
    at::globalContext().setBenchmarkCuDNN(false);
  }
  if (cuda) {
    std::printf("\n## The hand-over: a float16 image on the GPU into host memory as float32\n\n| resolution | way | ms p50 |\n|---|---|---|\n");
    std::stringstream again(resolutions);
    for (std::string r; std::getline(again, r, ',');) time_hand_over(std::stoi(r), repeats);
  }
  return 0;
}

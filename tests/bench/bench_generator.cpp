// Milliseconds per image of the native PGGAN (batch 1, float32, CPU) at each output level,
// with 1 and 2 threads, its convs prepacked for oneDNN (the default) and through conv2d per
// call (generator.prepack = false; calls of the two alternate, so drift hits both), beside
// the Python reference of the same network on the same LibTorch (tools/pggan_reference.py
// time), from one random full-size network. Prints Markdown.
//
//   hyper_bench_generator [--resolutions 64,256,1024] [--repeats 5] [--work DIR]
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/stats.hpp"
#include "generators/generator.hpp"

using namespace hyper;
using Clock = std::chrono::steady_clock;

namespace {

std::string run_python(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " + std::string(HYPER_SOURCE_DIR) + "/tools/pggan_reference.py " + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  return pclose(p) == 0 ? out : "";
}

}  // namespace

int main(int argc, char** argv) {
  std::string resolutions = "64,128,256,512,1024", work = "/tmp/hyper-bench-generator";
  int repeats = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--resolutions") resolutions = argv[i + 1];
    else if (a == "--repeats") repeats = std::stoi(argv[i + 1]);
    else if (a == "--work") work = argv[i + 1];
  }
  std::filesystem::create_directories(work);
  const std::string weights = work + "/pggan_random_1024.safetensors";
  if (!std::filesystem::exists(weights) && run_python("random --max-resolution 1024 --out " + weights).empty() &&
      !std::filesystem::exists(weights)) {
    std::fprintf(stderr, "could not write %s with tools/pggan_reference.py\n", weights.c_str());
    return 1;
  }
  std::vector<float> z(512);
  for (size_t i = 0; i < z.size(); ++i) z[i] = static_cast<float>((i * 7919 % 1000) / 500.0 - 1.0);

  std::printf("## PGGAN, CPU, float32, batch 1 (median of %d after one warm-up; ms per image)\n\n", repeats);
  std::printf("| resolution | threads | hyper (C++), prepacked | conv2d per call | prepacked / conv2d | Python reference | "
              "prepacked / Python |\n|---|---|---|---|---|---|---|\n");
  std::stringstream list(resolutions);
  for (std::string r; std::getline(list, r, ',');) {
    const int res = std::stoi(r);
    for (int threads : {1, 2}) {
      std::unique_ptr<Generator> gens[2];
      std::vector<double> ms[2];
      for (int v : {0, 1}) gens[v] = make_generator({.kind = "pggan", .weights = weights, .resolution = res, .threads = threads, .prepack = v == 0});
      for (int k = 0; k <= repeats; ++k)
        for (int v : {0, 1}) {
          const auto t0 = Clock::now();
          gens[v]->generate(z.data(), 1);
          if (k > 0) ms[v].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
      const double cpp = summarize(ms[0]).p50, plain = summarize(ms[1]).p50;
      const std::string py = run_python("time --weights " + weights + " --resolution " + r + " --threads " + std::to_string(threads) +
                                        " --repeats " + std::to_string(repeats));
      const double python = py.empty() ? 0.0 : std::stod(py);
      std::printf("| %d | %d | %.1f | %.1f | %.2f | %.1f | %.2f |\n", res, threads, cpp, plain, cpp / plain, python,
                  python > 0 ? cpp / python : 0.0);
      std::fflush(stdout);
    }
  }
  return 0;
}

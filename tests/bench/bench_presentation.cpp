// The presentation's timing and the face cache, measured in one run (README, "Benchmarks:
// the presentation"). Run it on the screen it is for, or headless under Xvfb:
//
//   xvfb-run -s "-screen 0 1280x1024x24" build/tests/hyper_bench_presentation [--faces 1086] [--side 256]
//       [--trials 10] [--starts 10] [--weights W.safetensors] [--work DIR]
//
// 1. The face cache: --faces faces drawn by the PGGAN at --side pixels (random full-size
//    weights from tools/pggan_reference.py unless --weights), 2 threads, written as PNG.
// 2. Trigger -> first stimulus frame: --starts presentations of a face at onset 0, each
//    started by a trigger key event; the time from the key's stamp to the flip that showed it.
// 3. The paper's trials (1.5 s faces flickering at 3.33 Hz, 3 s ISI): each face's measured
//    duration, the flip intervals, missed frames.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/clock.hpp"
#include "core/stats.hpp"
#include "generators/generator.hpp"
#include "io/npy.hpp"
#include "presentation_support.hpp"
#include "sinks/stimulus_cache.hpp"

using namespace hyper;
namespace fs = std::filesystem;

namespace {

std::string row(const char* what, const LatencySummary& s, const char* unit) {
  return fmt::format("| {} | {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {} |", what, s.n, s.p50, s.p90, s.p99, s.max, unit);
}

}  // namespace

int main(int argc, char** argv) {
  int faces = 1086, side = 256, trials = 10, starts = 10;
  std::string weights, work = "/tmp/hyper-bench-presentation";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--faces") faces = std::stoi(v);
    else if (a == "--side") side = std::stoi(v);
    else if (a == "--trials") trials = std::stoi(v);
    else if (a == "--starts") starts = std::stoi(v);
    else if (a == "--weights") weights = v;
    else if (a == "--work") work = v;
    else return std::fprintf(stderr, "unknown option %s\n", a.c_str()), 2;
  }
  if (!std::getenv("DISPLAY")) return std::fprintf(stderr, "no DISPLAY: run it under xvfb-run or on the screen it is for\n"), 2;
  fs::remove_all(work);
  fs::create_directories(work);
  std::vector<float> lat(static_cast<size_t>(faces) * 512);
  uint64_t x = 88172645463325252ull;
  for (float& v : lat) {  // xorshift: reproducible latents without a distribution's cost
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    v = static_cast<float>(static_cast<double>(x % 20001) / 10000.0 - 1.0);
  }
  write_npy(fs::path(work) / "latents.npy", {faces, 512}, lat);

  // 1. The cache.
  if (weights.empty()) {
    weights = work + "/pggan-random.safetensors";
    const std::string cmd = "/usr/bin/python3 " + std::string(HYPER_SOURCE_DIR) + "/tools/pggan_reference.py random --max-resolution " +
                            std::to_string(std::max(side, 4)) + " --out " + weights;
    if (std::system(cmd.c_str()) != 0) return std::fprintf(stderr, "could not write random weights with %s\n", cmd.c_str()), 1;
  }
  std::vector<int64_t> stims(static_cast<size_t>(faces));
  for (int i = 0; i < faces; ++i) stims[static_cast<size_t>(i)] = i;
  const GeneratorOptions gen{.kind = "pggan", .weights = weights, .resolution = side, .threads = 2};
  auto t0 = SteadyClock::now();
  cached_faces({fs::path(work) / "cache", fs::path(work) / "latents.npy", gen, side}, stims,
               [](const GeneratorOptions& o) { return make_generator(o); });
  const double cache_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  t0 = SteadyClock::now();
  cached_faces({fs::path(work) / "cache", fs::path(work) / "latents.npy", gen, side}, stims,
               [](const GeneratorOptions& o) { return make_generator(o); });
  const double reread_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();

  const auto parts_for = [&](const fs::path& design) {
    return std::vector<std::pair<std::string, SettingValue>>{
        {"present.design", design.string()}, {"present.latents", work + "/latents.npy"}, {"present.cache", work + "/cache"},
        {"display.face_px", int64_t{side}}, {"display.width", int64_t{1024}}, {"display.height", int64_t{768}},
        {"generator.kind", std::string("pggan")}, {"generator.weights", weights}, {"generator.resolution", int64_t{side}}};
  };
  // 2. Trigger -> first frame.
  std::vector<double> first_ms;
  const fs::path one = fs::path(work) / "one.tsv";
  std::ofstream(one) << "onset\tduration\ttrial_type\tstim_index\n0\t0.1\ttrain\t0\n";
  std::string paced;
  for (int k = 0; k < starts; ++k) {
    test::PresentationParts p(parts_for(one));
    const fs::path out = fs::path(work) / fmt::format("start{}", k);
    auto sink = p.make(out);
    for (int i = 0; i < 5; ++i) sink->pump(std::chrono::milliseconds(10));
    test::push_trigger_key();
    const fs::path record = out / "presentation/sub-01_task-faces_run-01";
    test::pump_until(*sink, record / "presentation.json", std::chrono::seconds(10));
    sink->finish();
    const auto flips = test::tsv_rows(record / "flips.tsv");
    const int64_t t_trigger = std::stoll(test::tsv_rows(record / "triggers.tsv").at(1).at(1));
    for (size_t f = 1; f < flips.size(); ++f)
      if (flips[f][2] == "0") {
        first_ms.push_back(ns_to_ms(std::stoll(flips[f][1]) - t_trigger));
        break;
      }
    paced = test::read_json_field(record / "presentation.json", "paced_by");
  }

  // 3. The paper's trials.
  const fs::path paper = fs::path(work) / "paper.tsv";
  {
    std::ofstream d(paper);
    d << "onset\tduration\ttrial_type\tstim_index\n";
    for (int t = 0; t < trials; ++t) d << fmt::format("{}\t1.5\ttrain\t{}\n", 1.0 + 4.5 * t, t % faces);
  }
  test::PresentationParts p(parts_for(paper));
  const fs::path out = fs::path(work) / "paper";
  auto sink = p.make(out);
  test::push_trigger_key();
  const fs::path record = out / "presentation/sub-01_task-faces_run-01";
  test::pump_until(*sink, record / "presentation.json", std::chrono::seconds(static_cast<int>(5 + 4.5 * trials)));
  sink->finish();
  std::vector<double> durations, intervals;
  for (const auto& ev : test::tsv_rows(out / "sub-01/func/sub-01_task-faces_run-01_events.tsv"))
    if (ev[0] != "onset") durations.push_back(std::stod(ev[1]) * 1000);
  const auto flips = test::tsv_rows(record / "flips.tsv");
  for (size_t f = 2; f < flips.size(); ++f) intervals.push_back(ns_to_ms(std::stoll(flips[f][1]) - std::stoll(flips[f - 1][1])));
  const std::string missed = test::read_json_field(record / "presentation.json", "missed_frames");

  std::printf("## The presentation (%s)\n\n", std::getenv("DISPLAY"));
  std::printf("Face cache: %d faces at %d px by the PGGAN (2 threads): %.1f s (%.0f ms a face, drawn, scaled, written); read back %.2f s.\n\n",
              faces, side, cache_s, cache_s * 1000 / faces, reread_s);
  std::printf("Frames %s; the paper's trials: %d faces of 1.5 s at 3.33 Hz, %s missed frames.\n\n", paced == "\"clock\"" ? "paced by the clock (no vsync)" : "in step with vsync", trials, missed.c_str());
  std::printf("| measure | n | p50 | p90 | p99 | max | unit |\n|---|---|---|---|---|---|---|\n");
  std::printf("%s\n%s\n%s\n", row("trigger key -> first face frame", summarize(first_ms), "ms").c_str(),
              row("face duration (planned 1500 ms)", summarize(durations), "ms").c_str(),
              row("flip interval", summarize(intervals), "ms").c_str());
  return 0;
}

// Google Benchmark microbenchmarks of the per-TR hot kernels (README, "Latency"):
// the hyper/1 codec (encode, check, convert), the detrend update (incremental vs refitted
// from the history), smoothing (FFT Gaussian), realignment's trilinear resampling, the
// decoder's GEMV, and the generators per output level (procedural; pggan from a random
// full-size network that tools/pggan_reference.py writes once).
//
//   hyper_microbench [--pggan W.safetensors] [--no-pggan] [Google Benchmark flags, e.g.
//                    --benchmark_filter=detrend --benchmark_min_time=0.2]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "core/clock.hpp"
#include "core/crc32.hpp"
#include "core/chain.hpp"
#include "builtin.hpp"
#include "core/rigid.hpp"
#include "core/rng.hpp"
#include "core/registry.hpp"
#include "generators/generator.hpp"
#include "io/png.hpp"
#include "net/protocol.hpp"

using namespace hyper;

namespace {

// A 64x64x36 int16 volume (the twin's default grid), as a scanner would send it.
struct Message {
  VolumeHeader h;
  std::vector<int16_t> voxels;
  Message() {
    h.run = "bench";
    h.tr_s = 1.5;
    h.dims = {64, 64, 36};
    h.voxel_mm = {3, 3, 3};
    h.dtype = DType::Int16;
    Rng rng(1);
    voxels.resize(64 * 64 * 36);
    for (auto& v : voxels) v = static_cast<int16_t>(1000 + 50 * rng.normal());
  }
  std::span<const std::byte> payload() const { return std::as_bytes(std::span(voxels)); }
};

void codec(benchmark::State& state) {
  Message m;
  for (auto _ : state) {
    m.h.payload_bytes = m.payload().size();
    m.h.crc32 = crc32(m.payload());
    m.h.t_sent = realtime_ns();
    const std::string header = encode_volume_header(m.h);
    const std::span<const std::byte> frames[3] = {std::as_bytes(std::span(kTopicVolume)), std::as_bytes(std::span(header)), m.payload()};
    const Decoded d = decode_message(frames);
    if (const auto* r = std::get_if<Rejection>(&d)) {
      state.SkipWithError(r->detail.c_str());
      break;
    }
    Volume v = to_volume(std::get<VolumeMessage>(d).header, std::get<VolumeMessage>(d).payload);
    benchmark::DoNotOptimize(v.data.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(m.payload().size()));
}

// One chain stage on a 64x64x36 volume (features off: the stage sees the whole volume), or
// on `values` values laid out as a values x 1 x 1 grid. The run's first `history` volumes
// are processed before timing starts.
class StageBench {
 public:
  StageBench(const std::vector<std::string>& assignments, std::array<int64_t, 3> dims, int history) {
    register_builtin_stages(registry_);
    registry_.declare(schema_);
    settings_ = std::make_unique<Settings>(schema_);
    for (const auto& a : assignments) settings_->apply_assignment(a);
    chain_ = std::make_unique<Chain>(registry_, *settings_);
    volume_.dims = dims;
    volume_.voxel_mm = {3, 3, 3};
    volume_.affine = diagonal_affine(volume_.voxel_mm);
    volume_.data.resize(static_cast<size_t>(dims[0] * dims[1] * dims[2]));
    Rng rng(2);
    for (float& x : volume_.data) x = static_cast<float>(1000 + 20 * rng.normal());
    chain_->initialize(spec_of(volume_, 1.5));
    chain_->start_run({"bench", 1.5, -1});
    for (int i = 0; i < history; ++i) step();
  }
  void step() {
    Tr tr;
    tr.index = index_++;
    tr.tr_s = 1.5;
    tr.volume = volume_;
    chain_->process(tr);
    benchmark::DoNotOptimize(tr.volume.data.data());
  }

 private:
  PartRegistry registry_;
  Schema schema_;
  std::unique_ptr<Settings> settings_;
  std::unique_ptr<Chain> chain_;
  Volume volume_;
  int64_t index_ = 0;
};

// Detrend of 20000 values (a whole-brain mask at 3 mm) after `range(0)` volumes of history.
void detrend(benchmark::State& state, const std::string& mode) {
  StageBench b({"preprocess.chain=[\"detrend\"]", "preprocess.detrend.mode=" + mode}, {20000, 1, 1}, static_cast<int>(state.range(0)));
  for (auto _ : state) b.step();  // includes copying the values into the record, as in both modes
}

void smooth(benchmark::State& state) {
  StageBench b({"preprocess.chain=[\"smooth\"]", "preprocess.smooth.fwhm_mm=6"}, {64, 64, 36}, 1);
  for (auto _ : state) b.step();
}

// Realignment's resampling kernel: a 64x64x36 volume moved back by a small rigid motion
// (trilinear, every voxel).
void resample(benchmark::State& state) {
  Volume in;
  in.dims = {64, 64, 36};
  in.voxel_mm = {3, 3, 3};
  in.affine = diagonal_affine(in.voxel_mm);
  in.data.resize(64 * 64 * 36);
  Rng rng(3);
  for (float& x : in.data) x = static_cast<float>(1000 + 20 * rng.normal());
  Volume out;
  for (auto _ : state) {
    resample_realigned(in, {0.3, -0.2, 0.1, 0.01, -0.005, 0.008}, out);
    benchmark::DoNotOptimize(out.data.data());
  }
}

// The decode stage's product: 4096 selected voxels x 512, float32, one core.
void gemv(benchmark::State& state) {
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(4096, 512);
  const Eigen::VectorXf x = Eigen::VectorXf::Random(4096);
  Eigen::VectorXf y(512);
  for (auto _ : state) {
    y.noalias() = w.transpose() * x;
    benchmark::DoNotOptimize(y.data());
  }
}

// What the dashboard sink costs the Session's loop per TR (formatting the TR's message and
// handing it to the feed; the HTTP server and the browsers are on other threads).
void dashboard_tr(benchmark::State& state) {
  PartRegistry registry;
  register_builtin_sinks(registry);
  Schema schema;
  registry.declare(schema);
  schema.add({.key = "stream.max_lag_trs", .type = SettingType::Float, .def = 2.0, .help = "hyper stream's"});
  Settings settings(schema);
  settings.apply_assignment("dashboard.listen=127.0.0.1:0");
  std::unique_ptr<Sink> sink;
  for (const SinkInfo& s : registry.sinks())
    if (s.name == "dashboard") sink = s.make(SinkContext{.settings = settings, .decoding = true, .dropped = [] { return int64_t{0}; }});
  sink->on_run_start({.run = "bench", .count = -1, .stages = {"realign", "mask", "detrend", "zscore", "decode"}});
  Tr tr;
  tr.run = "bench";
  tr.tr_s = 1.5;
  tr.stage_ms = {7.5, 0.15, 0.4, 0.1, 0.7};
  tr.motion = {0.1, -0.2, 0.05, 0.001, -0.002, 0.0005};
  tr.t = {.t_sent = realtime_ns(), .t_recv = realtime_ns(), .t_ready = realtime_ns()};
  for (auto _ : state) {
    ++tr.index;
    sink->on_tr(tr);
  }
}

// The dashboard's face image at 256 px: PNG or JPEG (what /face.jpg serves).
void face_image(benchmark::State& state, bool jpeg) {
  const auto gen = make_generator({.kind = "procedural", .resolution = 256});
  std::vector<float> z(512, 0.3f);
  const std::vector<uint8_t> rgb = to_rgb8(gen->generate(z.data(), 1), 0);
  for (auto _ : state) benchmark::DoNotOptimize(jpeg ? encode_jpeg(256, 256, rgb) : encode_png(256, 256, rgb));
}

void generate(benchmark::State& state, const GeneratorOptions& o) {
  const auto gen = make_generator(o);
  std::vector<float> z(512, 0.3f);
  gen->generate(z.data(), 1);  // first call: allocations
  for (auto _ : state) benchmark::DoNotOptimize(gen->generate(z.data(), 1).data.data());
}

}  // namespace

int main(int argc, char** argv) {
  std::string pggan;
  bool use_pggan = true;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--pggan" && i + 1 < argc) pggan = argv[++i];
    else if (a == "--no-pggan") use_pggan = false;
    else rest.push_back(argv[i]);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());

  benchmark::RegisterBenchmark("codec/64x64x36_int16", codec)->Unit(benchmark::kMicrosecond);
  for (const char* mode : {"glm", "refit"})
    benchmark::RegisterBenchmark((std::string("detrend/") + mode + "/20000_values/history").c_str(),
                                 [mode](benchmark::State& s) { detrend(s, mode); })
        ->Arg(50)->Arg(200)->Arg(800)->Unit(benchmark::kMicrosecond)->Iterations(20);
  benchmark::RegisterBenchmark("smooth/64x64x36_fwhm6mm", smooth)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("resample/64x64x36", resample)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("gemv/4096x512", gemv)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("dashboard/on_tr", dashboard_tr)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("dashboard/face_png_256", [](benchmark::State& s) { face_image(s, false); })->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("dashboard/face_jpeg_256", [](benchmark::State& s) { face_image(s, true); })->Unit(benchmark::kMillisecond);
  for (int res : {64, 128, 256})
    benchmark::RegisterBenchmark(("generate/procedural/" + std::to_string(res)).c_str(),
                                 [res](benchmark::State& s) { generate(s, {.kind = "procedural", .resolution = res}); })
        ->Unit(benchmark::kMillisecond);
  if (use_pggan) {
    if (pggan.empty()) {
      pggan = (std::filesystem::temp_directory_path() / "hyper-microbench-pggan256.safetensors").string();
      const std::string cmd = "/usr/bin/python3 " + std::string(HYPER_SOURCE_DIR) + "/tools/pggan_reference.py random --max-resolution 256 --out " + pggan;
      if (!std::filesystem::exists(pggan) && std::system(cmd.c_str()) != 0) pggan.clear();
    }
    for (int res : {4, 8, 16, 32, 64, 128, 256})
      if (!pggan.empty())
        benchmark::RegisterBenchmark(("generate/pggan/" + std::to_string(res)).c_str(), [res, pggan](benchmark::State& s) {
          generate(s, {.kind = "pggan", .weights = pggan, .resolution = res, .threads = 1});
        })->Unit(benchmark::kMillisecond)->MinTime(0.5);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

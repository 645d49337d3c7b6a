// The decoder: training time and peak memory, and the quality of the test-face
// reconstructions (latent measures with chance levels), for least squares vs ridge-CV and
// trial vs tr mode on one twin dataset; and the per-TR cost of the decode stage on one core.
// Prints Markdown.
//
//   hyper_bench_decoder --dataset TWIN_DIR [--work DIR] [--voxels 4096]
//                       [--chain '["mask"]'] [--variants trial-ls,trial-cv,tr-ls,tr-cv]
//   hyper_bench_decoder --gemv-only
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "core/stats.hpp"
#include "decoders/decode_stage.hpp"
#include "eval/evaluation.hpp"
#include "io/npy.hpp"

using namespace hyper;
using Clock = std::chrono::steady_clock;

namespace {

struct Child {
  int rc = -1;
  double seconds = 0, peak_mib = 0;
};

// Runs `hyper args...` with output to `log`; its exit code, wall time and peak RSS.
Child run_hyper(const std::vector<std::string>& args, const std::string& log) {
  const auto t0 = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(HYPER_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(HYPER_BINARY, argv.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::chrono::duration<double>(Clock::now() - t0).count(),
          static_cast<double>(ru.ru_maxrss) / 1024.0};
}

Eigen::MatrixXd rows_of(const NpyArray& a) {
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(a.data.data(), a.shape[0],
                                                                                                  a.shape[1])
      .cast<double>();
}

void gemv_table() {
  std::printf("\n## Per-TR decode (4096 voxels x 512, one core)\n\n| step | p50 ms | p99 ms | max ms |\n|---|---|---|---|\n");
  auto d = std::make_shared<Decoder>();
  d->dims = {64, 64, 36};
  d->tr_s = 1.5;
  d->mode = "tr";
  const int k = 4096, values = 50000;
  Rng rng(3);
  for (int s = 0; s < k; ++s) d->voxels.push_back(static_cast<int64_t>(s) * 30);
  d->feature_mean.assign(k, 0.1f);
  d->feature_sd.assign(k, 2.0f);
  d->weights = Eigen::MatrixXf::Random(k, kLatentDim);
  d->intercept = Eigen::VectorXf::Random(kLatentDim);
  auto stage = make_decode_stage(d, "bench");
  Spec in;
  in.dims = d->dims;
  in.tr_s = 1.5;
  stage->initialize(in);
  stage->start_run({"bench", 1.5, -1});
  Tr tr;
  tr.volume.dims = d->dims;
  std::vector<int64_t> idx(values);
  for (int i = 0; i < values; ++i) idx[static_cast<size_t>(i)] = static_cast<int64_t>(i) * 2;
  tr.feature_voxels = std::make_shared<const std::vector<int64_t>>(idx);
  tr.features.resize(values);
  for (auto& f : tr.features) f = static_cast<float>(rng.normal());
  std::vector<double> stage_ms, gemv_ms;
  Eigen::VectorXf x = Eigen::VectorXf::Random(k), y(kLatentDim);
  for (int r = 0; r < 3000; ++r) {
    auto t0 = Clock::now();
    stage->process(tr);
    auto t1 = Clock::now();
    y.noalias() = d->weights.transpose() * x;
    auto t2 = Clock::now();
    if (r >= 100) {  // warm-up
      stage_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      gemv_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
  }
  for (auto& [name, v] : std::vector<std::pair<std::string, std::vector<double>*>>{{"decode stage (gather, z-score, GEMV)", &stage_ms},
                                                                                 {"GEMV alone", &gemv_ms}}) {
    const LatencySummary s = summarize(*v);
    std::printf("| %s | %.3f | %.3f | %.3f |\n", name.c_str(), s.p50, s.p99, s.max);
  }
  std::printf("\n(check: %g)\n", static_cast<double>(tr.latent[0] + y(0)));
}

}  // namespace

int main(int argc, char** argv) {
  std::string dataset, work = "/tmp/hyper-bench-decoder", voxels = "4096", chain = "[\"mask\"]";
  std::string variants = "trial-ls,trial-cv,tr-ls,tr-cv";
  bool gemv_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--dataset") dataset = next();
    else if (a == "--work") work = next();
    else if (a == "--voxels") voxels = next();
    else if (a == "--chain") chain = next();
    else if (a == "--variants") variants = next();
    else if (a == "--gemv-only") gemv_only = true;
    else {
      std::fprintf(stderr, "usage: hyper_bench_decoder --dataset DIR [--work DIR] [--voxels N] [--chain TOML] [--variants LIST] | --gemv-only\n");
      return 2;
    }
  }
  gemv_table();
  if (gemv_only) return 0;
  if (dataset.empty()) {
    std::fprintf(stderr, "hyper_bench_decoder: --dataset DIR (a twin from hyper simulate) is required\n");
    return 2;
  }
  std::filesystem::create_directories(work);
  const Eigen::MatrixXd latents = rows_of(read_npy(std::filesystem::path(dataset) / "stimuli/latents.npy"));
  std::vector<RunFile> test_runs;
  for (const RunFile& r : find_runs(dataset)) {
    const auto ev = read_events(events_path(r.path));
    if (!ev.empty() && ev.front().trial_type == "test") test_runs.push_back(r);
  }

  std::printf("\n## Decoders on %s (%zu test runs; %s voxels; chain %s)\n\n", dataset.c_str(), test_runs.size(),
              voxels.c_str(), chain.c_str());
  std::printf("| decoder | penalty | train s | peak MiB | direction r | 1/(1+MSE) | 1/(1+L2) | item r | identification |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  EvalResult scores;
  std::stringstream list(variants);
  for (std::string v; std::getline(list, v, ',');) {
    const bool per_tr = v.rfind("tr-", 0) == 0, ls = v.size() > 3 && v.substr(v.size() - 3) == "-ls";
    const std::string file = work + "/" + v + ".safetensors";
    std::vector<std::string> args{"train", "--dataset", dataset, "--out", file, "--voxels", voxels, "--mode", per_tr ? "tr" : "trial",
                                  "--set", "preprocess.chain=" + chain};
    if (ls) args.insert(args.end(), {"--penalty", "0"});
    const Child c = run_hyper(args, work + "/" + v + ".train.log");
    if (c.rc != 0) {
      std::printf("| %s | training failed (see %s/%s.train.log) |\n", v.c_str(), work.c_str(), v.c_str());
      continue;
    }
    const Decoder d = load_decoder(file);
    std::vector<PredictionFile> files;
    for (const RunFile& r : test_runs) {
      const std::string out = work + "/" + v + "." + r.run_id + ".npy";
      if (run_hyper({"decode", "--input", r.path.string(), "--decoder", file, "--out", out}, work + "/" + v + ".decode.log").rc != 0) {
        std::fprintf(stderr, "decoding %s failed: see %s/%s.decode.log\n", r.run_id.c_str(), work.c_str(), v.c_str());
        return 1;
      }
      files.push_back({out, events_path(r.path)});
    }
    // hyper eval's matching (tr mode: the volume at the response's peak) and measures, each
    // test face's predictions averaged over its repetitions.
    const EvalItems items =
        match_predictions(files, latents.rows(), {.per = per_tr ? "volume" : "event", .tr_s = d.tr_s}, [](const std::string&) {});
    scores = evaluate(items, latents, nullptr, nullptr, {}, {.draws = 100});
    auto value = [&](const char* key) { return scores.find(key)->value; };
    std::printf("| %s | %g | %.1f | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", v.c_str(), d.penalty, c.seconds, c.peak_mib,
                value("direction_r"), value("latent_similarity_mse"), value("latent_similarity_l2"), value("latent_r"),
                value("latent_identification_top1"));
    std::fflush(stdout);
  }
  if (scores.items > 0) {
    auto chance = [&](const char* key) { return scores.find(key)->chance; };
    std::printf("| chance (prior draws) | | | | %.3f | %.3f | %.3f | %.3f | %.3f |\n", chance("direction_r"),
                chance("latent_similarity_mse"), chance("latent_similarity_l2"), chance("latent_r"), chance("latent_identification_top1"));
    std::printf("\n%ld test faces, predictions averaged over their repetitions; direction r over 100 random unit directions; "
                "chance from 100 prior draws (hyper eval's).\n",
                static_cast<long>(scores.items));
  }
  return 0;
}

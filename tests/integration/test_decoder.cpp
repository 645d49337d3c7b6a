// The decoder file, and `hyper train` + `hyper decode` on a high-SNR twin.
#include <doctest/doctest.h>

#include <fstream>
#include <map>

#include "decoders/decoder.hpp"
#include "io/npy.hpp"
#include "io/safetensors.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {
Decoder example() {
  Decoder d;
  d.dims = {10, 12, 8};
  d.tr_s = 1.5;
  d.voxels = {3, 17, 250, 900};
  d.feature_mean = {1.5f, -2.f, 0.25f, 3.f};
  d.feature_sd = {1.f, 2.f, 0.5f, 4.f};
  d.weights = Eigen::MatrixXf::Random(4, 512);
  d.intercept = Eigen::VectorXf::Random(512);
  d.preprocessing = "[preprocess]\nchain = ['mask']\n";
  d.penalty = 10;
  d.penalties = {0, 10, 100};
  d.cv_correlation = {0.5, 0.75, 0.25};
  d.inputs_hash = "deadbeef";
  return d;
}
}  // namespace

TEST_CASE("a decoder file round-trips exactly, and corrupted or foreign files are refused") {
  test::TempDir dir;
  const Decoder d = example();
  save_decoder(dir / "a.safetensors", d);
  const Decoder b = load_decoder(dir / "a.safetensors");
  CHECK(b.dims == d.dims);
  CHECK(b.tr_s == d.tr_s);
  CHECK(b.voxels == d.voxels);
  CHECK(b.feature_mean == d.feature_mean);
  CHECK(b.feature_sd == d.feature_sd);
  CHECK(b.weights == d.weights);
  CHECK(b.intercept == d.intercept);
  CHECK(b.preprocessing == d.preprocessing);
  CHECK(b.penalty == d.penalty);
  CHECK(b.penalties == d.penalties);
  CHECK(b.cv_correlation == d.cv_correlation);
  CHECK(b.inputs_hash == d.inputs_hash);
  save_decoder(dir / "b.safetensors", b);
  CHECK(test::read_text(dir / "a.safetensors") == test::read_text(dir / "b.safetensors"));  // bit-exact

  std::string bytes = test::read_text(dir / "a.safetensors");
  std::string flipped = bytes;
  flipped[flipped.size() - 100] ^= 0x10;
  std::ofstream(dir / "corrupt.safetensors", std::ios::binary) << flipped;
  CHECK_THROWS_WITH_AS(load_decoder(dir / "corrupt.safetensors"), doctest::Contains("corrupt.safetensors: the data is corrupted"),
                       std::runtime_error);
  std::ofstream(dir / "cut.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  CHECK_THROWS_WITH_AS(load_decoder(dir / "cut.safetensors"), doctest::Contains("cut.safetensors: "), std::runtime_error);
  std::ofstream(dir / "junk.safetensors", std::ios::binary) << "not a decoder at all";
  CHECK_THROWS_WITH_AS(load_decoder(dir / "junk.safetensors"), doctest::Contains("junk.safetensors: "), std::runtime_error);
  TensorFile other;
  const float x = 1;
  other.tensors["x"] = tensor_f32({1}, &x);
  write_safetensors(dir / "other.safetensors", other);
  CHECK_THROWS_WITH_AS(load_decoder(dir / "other.safetensors"), doctest::Contains("not a HYPER-RT decoder"), std::runtime_error);
}

TEST_CASE("hyper train and hyper decode recover the test faces of a high-SNR twin (r > 0.95)") {
  test::TempDir d;
  const auto hyper = test::hyper_binary().string();
  REQUIRE(test::run({hyper, "simulate", "--out", (d / "twin").string(), "--preset", "small", "--log-level", "warn", "--set",
                     "twin.runs=9", "--set", "twin.test_runs=3", "--set", "twin.trials_per_run=175", "--set", "twin.snr=50",
                     "--set", "twin.visual_fraction=0.3", "--set", "twin.motion_step_mm=0", "--set", "twin.motion_step_deg=0",
                     "--set", "twin.jerk_rate=0"},
                    d / "sim.log") == 0);
  const int rc = test::run({hyper, "train", "--dataset", (d / "twin").string(), "--out", (d / "dec.safetensors").string(),
                            "--voxels", "1500", "--set", "preprocess.chain=[\"mask\"]"},
                           d / "train.log", 300s);
  INFO(test::read_text(d / "train.log"));
  REQUIRE(rc == 0);
  const Decoder dec = load_decoder(d / "dec.safetensors");
  CHECK(dec.voxels.size() == 1500);
  CHECK(dec.penalties.size() == 7);

  const NpyArray latents = read_npy(d / "twin/stimuli/latents.npy");
  std::map<int64_t, std::pair<Eigen::VectorXd, int>> sum;  // per test face: summed prediction, count
  for (const char* r : {"01", "02", "03"}) {
    const auto run = d / (std::string("twin/sub-01/func/sub-01_task-faces_run-") + r + "_bold.nii.gz");
    const auto out = d / (std::string("pred") + r + ".npy");
    REQUIRE(test::run({hyper, "decode", "--input", run.string(), "--decoder", (d / "dec.safetensors").string(), "--out",
                       out.string()},
                      d / "decode.log") == 0);
    const NpyArray p = read_npy(out);
    const auto events = read_events(events_path(run));
    REQUIRE(p.shape == std::vector<int64_t>{static_cast<int64_t>(events.size()), 512});
    for (size_t j = 0; j < events.size(); ++j) {
      auto& [s, n] = sum[events[j].stim_index];
      if (n == 0) s = Eigen::VectorXd::Zero(512);
      s += Eigen::Map<const Eigen::VectorXf>(p.data.data() + j * 512, 512).cast<double>();
      ++n;
    }
  }
  REQUIRE(sum.size() == 36);
  double mean_r = 0;
  for (const auto& [stim, sn] : sum) {
    const Eigen::VectorXd pred = sn.first / sn.second;
    const Eigen::VectorXd truth = Eigen::Map<const Eigen::VectorXf>(latents.data.data() + stim * 512, 512).cast<double>();
    const Eigen::VectorXd a = pred.array() - pred.mean(), b = truth.array() - truth.mean();
    mean_r += a.dot(b) / std::sqrt(a.squaredNorm() * b.squaredNorm()) / 36.0;
  }
  MESSAGE("mean correlation of the averaged prediction with each test face's latent: " << mean_r);
  CHECK(mean_r > 0.95);

  // A run on another grid is refused, naming the mismatch.
  test::make_run(d / "other.nii.gz", {"--dims", "8", "8", "4", "20"});
  std::ofstream(d / "other_events.tsv") << "onset\tduration\ttrial_type\tstim_index\n3\t1.5\ttest\t1050\n";
  CHECK(test::run({hyper, "decode", "--input", (d / "other.nii.gz").string(), "--events", (d / "other_events.tsv").string(),
                   "--decoder", (d / "dec.safetensors").string(), "--out", (d / "x.npy").string()},
                  d / "other.log") == 1);
  CHECK(test::read_text(d / "other.log").find("grid 8x8x4, the decoder was trained on 32x32x16") != std::string::npos);
}

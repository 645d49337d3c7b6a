// The decoder file, the trial GLM, per-TR targets, the decode stage, and `hyper train` +
// `hyper decode` on a high-SNR twin.
#include <doctest/doctest.h>

#include <fstream>
#include <map>

#include "core/hrf.hpp"
#include "decoders/decode_stage.hpp"
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
  CHECK_THROWS_WITH_AS(load_decoder(dir / "junk.safetensors"),
                       doctest::Contains("junk.safetensors: not a decoder file (safetensors written by hyper train)"), std::runtime_error);
  // Another kind of file given as --decoder (a NIfTI run, a latents .npy): named as such, not as a header length.
  std::ofstream(dir / "run.npy", std::ios::binary) << std::string("\x93NUMPY\x01\x00v\x00{'descr': '<f4'}") + std::string(200, ' ');
  CHECK_THROWS_WITH_AS(load_decoder(dir / "run.npy"), doctest::Contains("run.npy: not a decoder file (safetensors written by hyper train)"),
                       std::runtime_error);
  TensorFile other;
  const float x = 1;
  other.tensors["x"] = tensor_f32({1}, &x);
  write_safetensors(dir / "other.safetensors", other);
  CHECK_THROWS_WITH_AS(load_decoder(dir / "other.safetensors"), doctest::Contains("not a decoder file (safetensors written by hyper train): no 'format'"),
                       std::runtime_error);
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

TEST_CASE("least-squares-separate equals one explicit GLM per trial") {
  // Overlapping trials (3 s apart, the HRF lasts 30 s), as at the scanner.
  std::vector<Event> events;
  for (int j = 0; j < 8; ++j) events.push_back({.onset = 4.0 + 3.0 * j, .duration = 1.5, .trial_type = "train", .stim_index = j});
  const int T = 60;
  const Eigen::MatrixXf Y = Eigen::MatrixXf::Random(T, 5);
  const TrialResponses lss = trial_responses(Y, events, 1.5, "lss");
  const TrialResponses lsa = trial_responses(Y, events, 1.5, "lsa");
  REQUIRE(lss.beta.rows() == 8);
  Eigen::MatrixXd trials(T, 8);
  for (int j = 0; j < 8; ++j) {
    const auto x = block_response(events[static_cast<size_t>(j)].onset, 1.5, 1.5, T, 1.0 / block_peak(1.5));
    for (int t = 0; t < T; ++t) trials(t, j) = x[static_cast<size_t>(t)];
  }
  for (int j = 0; j < 8; ++j) {
    Eigen::MatrixXd X(T, 3);
    X.col(0) = trials.col(j);
    X.col(1) = trials.rowwise().sum() - trials.col(j);
    X.col(2).setOnes();
    const Eigen::MatrixXd B = X.colPivHouseholderQr().solve(Y.cast<double>());
    const Eigen::MatrixXd resid = Y.cast<double>() - X * B;
    const Eigen::MatrixXd cov = (X.transpose() * X).inverse();
    for (int v = 0; v < 5; ++v) {
      const double se = std::sqrt(resid.col(v).squaredNorm() / (T - 3) * cov(0, 0));
      CHECK(lss.beta(j, v) == doctest::Approx(B(0, v)).epsilon(1e-4));
      CHECK(lss.t(j, v) == doctest::Approx(B(0, v) / se).epsilon(1e-4));
    }
  }
  CHECK((lss.beta - lsa.beta).cwiseAbs().maxCoeff() > 1e-3);  // a different estimator
  CHECK_THROWS_WITH_AS(trial_responses(Y, events, 1.5, "lsx"), doctest::Contains("estimator: 'lsx'"), std::invalid_argument);
}

TEST_CASE("per-TR targets: a fixed lag takes the face on screen then, the HRF mode weighs every face") {
  const std::vector<Event> events{{.onset = 3.0, .duration = 1.5, .trial_type = "train", .stim_index = 0},
                                  {.onset = 6.0, .duration = 1.5, .trial_type = "train", .stim_index = 1}};
  const Eigen::MatrixXf latents = Eigen::MatrixXf::Random(2, 512);
  // TR 1 s, lag 4 s: volume t shows the face on screen at t - 4 s.
  const TrTargets lag = tr_targets(events, latents, 14, 1.0, 4.0);
  const std::vector<char> expected{0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0};  // 7, 8 face 0; 10, 11 face 1
  CHECK(lag.use == expected);
  CHECK((lag.y.row(7) - latents.row(0).cast<double>()).norm() < 1e-12);
  CHECK((lag.y.row(11) - latents.row(1).cast<double>()).norm() < 1e-12);
  const TrTargets hrf = tr_targets(events, latents, 30, 1.0, -1);
  const auto x0 = block_response(3.0, 1.5, 1.0, 30, 1.0 / block_peak(1.5));
  const auto x1 = block_response(6.0, 1.5, 1.0, 30, 1.0 / block_peak(1.5));
  for (int t : {2, 3, 8, 20}) {
    CHECK(hrf.use[static_cast<size_t>(t)] == (t >= 3));
    const Eigen::RowVectorXd want = x0[static_cast<size_t>(t)] * latents.row(0).cast<double>() +
                                    x1[static_cast<size_t>(t)] * latents.row(1).cast<double>();
    CHECK((hrf.y.row(t) - want).norm() < 1e-9);
  }
}

TEST_CASE("the decode stage computes W'z + b at the decoder's voxels, and refuses a grid or TR it was not trained on") {
  auto d = std::make_shared<Decoder>(example());
  d->mode = "tr";
  const std::shared_ptr<const Decoder> dc = d;
  auto stage = make_decode_stage(dc, "dec.safetensors");
  Spec in;
  in.dims = {10, 12, 8};
  in.tr_s = 1.5;
  in.features = true;
  Spec out;
  stage->preflight(in, out);
  stage->initialize(in);
  stage->start_run({"r", 1.5, 3});
  Tr tr;
  tr.volume.dims = {10, 12, 8};
  tr.feature_voxels = std::make_shared<const std::vector<int64_t>>(std::vector<int64_t>{1, 3, 17, 900});  // 250 masked out
  tr.features = {7.f, 2.5f, 4.f, -1.f};
  stage->process(tr);
  REQUIRE(tr.decoded);
  Eigen::VectorXf z(4);
  z << (2.5f - 1.5f) / 1.f, (4.f + 2.f) / 2.f, 0.f, (-1.f - 3.f) / 4.f;
  const Eigen::VectorXf want = d->weights.transpose() * z + d->intercept;
  CHECK((Eigen::Map<const Eigen::VectorXf>(tr.latent.data(), 512) - want).cwiseAbs().maxCoeff() < 1e-5);

  Spec other = in;
  other.dims = {10, 12, 9};
  CHECK_THROWS_WITH_AS(stage->preflight(other, out), doctest::Contains("dec.safetensors was trained on grid 10x12x8, these volumes are 10x12x9"),
                       std::invalid_argument);
  other = in;
  other.tr_s = 2.0;
  CHECK_THROWS_WITH_AS(stage->preflight(other, out), doctest::Contains("trained at TR 1.5 s, these volumes come every 2 s"),
                       std::invalid_argument);
  d->mode = "trial";
  CHECK_THROWS_WITH_AS(make_decode_stage(dc, "t.safetensors"), doctest::Contains("t.safetensors was trained in 'trial' mode"),
                       std::invalid_argument);
}

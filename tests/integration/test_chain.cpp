// The preprocessing chain: incremental stages against batch computations, the chain's
// errors, plugins, and the online path (volumes received over hyper/1) against the offline
// path (the same file read directly).
#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <sstream>
#include <random>

#include <Eigen/Dense>

#include "sources/nifti_run.hpp"
#include "builtin.hpp"
#include "io/npy.hpp"
#include "core/rigid.hpp"
#include "decoders/decode_stage.hpp"
#include "preprocess/fft_gaussian.hpp"
#include "preprocess/separable_gaussian.hpp"
#include "io/bids.hpp"
#include "stream_support.hpp"
#include "hyper/version.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  PartRegistry registry;
  Schema schema;
  std::optional<Settings> settings;
  Fixture() {
    register_builtin_stages(registry);
    registry.declare(schema);
    settings.emplace(schema);
  }
  void set(const std::string& a) { settings->apply_assignment(a); }
  Chain chain() { return Chain(registry, *settings); }
};

// T volumes of V values each (a V x 1 x 1 grid): offset + drift + noise per value.
std::vector<std::vector<float>> drifting_data(int T, int V, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 10);
  std::vector<std::vector<float>> out(static_cast<size_t>(T), std::vector<float>(static_cast<size_t>(V)));
  for (int v = 0; v < V; ++v) {
    const double a = 1000 + 5 * v, b = noise(rng) * 2, c = noise(rng) * 0.05;
    for (int t = 0; t < T; ++t) out[static_cast<size_t>(t)][static_cast<size_t>(v)] = static_cast<float>(a + b * t + c * t * t / 10 + noise(rng));
  }
  return out;
}

// Runs the chain over the data as a V x 1 x 1 grid; returns each volume's output.
// `motion`, when given, is put into each record (as realign would).
std::vector<std::vector<float>> run_chain(Chain& chain, const std::vector<std::vector<float>>& data,
                                          const std::vector<std::array<double, 6>>& motion = {}) {
  Volume v;
  v.dims = {static_cast<int64_t>(data[0].size()), 1, 1};
  v.affine = diagonal_affine(v.voxel_mm);
  chain.initialize(spec_of(v, 1.0));
  chain.start_run({"r", 1.0, static_cast<int64_t>(data.size())});
  std::vector<std::vector<float>> out;
  for (size_t t = 0; t < data.size(); ++t) {
    Tr tr;
    tr.index = static_cast<int64_t>(t);
    tr.volume = v;
    tr.volume.data = data[t];
    if (!motion.empty()) tr.motion = motion[t];
    chain.process(tr);
    REQUIRE(tr.stage_ms.size() == chain.names().size());
    out.push_back(tr.features.empty() ? tr.volume.data : tr.features);
  }
  chain.stop_run();
  return out;
}

}  // namespace

TEST_CASE("detrend (incremental, and refitted from the history) equals a least-squares refit on the history at every volume") {
  const int T = 90, V = 40;
  const auto data = drifting_data(T, V, 1);
  for (const std::string mode : {"glm", "refit"})
  for (int order : {0, 1, 2, 3}) {
    CAPTURE(mode);
    CAPTURE(order);
    Fixture f;
    f.set("preprocess.chain=[\"detrend\"]");
    f.set("preprocess.detrend.mode=" + mode);
    f.set("preprocess.detrend.order=" + std::to_string(order));
    Chain chain = f.chain();
    const auto out = run_chain(chain, data);
    double worst = 0;
    for (int t = 0; t < T; ++t) {
      // The batch reference: Legendre terms from the standard library, QR on volumes 0..t.
      const int q = order + 1;
      if (t + 1 <= q) {  // not more volumes than regressors: the stage outputs 0
        for (int v = 0; v < V; ++v) worst = std::max(worst, std::abs(static_cast<double>(out[static_cast<size_t>(t)][static_cast<size_t>(v)])));
        continue;
      }
      Eigen::MatrixXd X(t + 1, q);
      for (int s = 0; s <= t; ++s)
        for (int k = 0; k < q; ++k) X(s, k) = std::legendre(static_cast<unsigned>(k), 2.0 * s / (T - 1) - 1.0);
      for (int v = 0; v < V; ++v) {
        Eigen::VectorXd y(t + 1);
        for (int s = 0; s <= t; ++s) y(s) = data[static_cast<size_t>(s)][static_cast<size_t>(v)];
        const Eigen::VectorXd beta = X.colPivHouseholderQr().solve(y);
        const double residual = y(t) - X.row(t).dot(beta);
        worst = std::max(worst, std::abs(residual - out[static_cast<size_t>(t)][static_cast<size_t>(v)]));
      }
    }
    CHECK(worst < 1e-4 * 1200);  // 1e-4 relative to the data (about 1000-1200)
    CHECK(worst < 0.02);
  }
}

TEST_CASE("detrend with SPM's cosines and motion regressors equals the batch refit too, and ema is an EMA") {
  const int T = 70, V = 12;
  const double tr_s = 1.0;  // run_chain's TR
  const auto data = drifting_data(T, V, 3);
  std::mt19937 rng(5);
  std::normal_distribution<double> n01(0, 1);
  std::vector<std::array<double, 6>> motion(static_cast<size_t>(T));
  for (auto& m : motion)
    for (double& x : m) x = n01(rng);
  Fixture f;
  f.set("preprocess.chain=[\"detrend\"]");
  f.set("preprocess.detrend.order=1");
  f.set("preprocess.detrend.cosine_cutoff_s=30");  // floor(2 * 70 * 1 / 30) = 4 cosines
  f.set("preprocess.detrend.motion=true");
  Chain chain = f.chain();
  const auto out = run_chain(chain, data, motion);
  double worst = 0;
  for (int t = 0; t < T; ++t) {
    Eigen::MatrixXd X(t + 1, 12);
    for (int s = 0; s <= t; ++s) {
      X(s, 0) = 1;
      X(s, 1) = 2.0 * s / (T - 1) - 1.0;
      for (int c = 1; c <= 4; ++c) X(s, 1 + c) = std::cos(3.14159265358979323846 * c * (s + 0.5) / T);  // SPM's spm_dctmtx
      for (int m = 0; m < 6; ++m) X(s, 6 + m) = motion[static_cast<size_t>(s)][static_cast<size_t>(m)];
    }
    if (t + 1 <= 12) {  // not more volumes than regressors: 0
      for (int v = 0; v < V; ++v) worst = std::max(worst, std::abs(static_cast<double>(out[static_cast<size_t>(t)][static_cast<size_t>(v)])));
      continue;
    }
    const Eigen::MatrixXd Xq = X;
    for (int v = 0; v < V; ++v) {
      Eigen::VectorXd y(t + 1);
      for (int s = 0; s <= t; ++s) y(s) = data[static_cast<size_t>(s)][static_cast<size_t>(v)];
      const Eigen::VectorXd beta = Xq.colPivHouseholderQr().solve(y);
      worst = std::max(worst, std::abs(y(t) - Xq.row(t).dot(beta) - out[static_cast<size_t>(t)][static_cast<size_t>(v)]));
    }
  }
  (void)tr_s;
  CHECK(worst < 0.02);

  Fixture e;
  e.set("preprocess.chain=[\"detrend\"]");
  e.set("preprocess.detrend.mode=ema");
  e.set("preprocess.detrend.ema_alpha=0.2");
  Chain ema = e.chain();
  const auto hp = run_chain(ema, data);
  double m = data[0][2], worst_ema = 0;
  for (size_t t = 0; t < data.size(); ++t) {
    if (t > 0) m += 0.2 * (data[t][2] - m);
    worst_ema = std::max(worst_ema, std::abs(data[t][2] - m - hp[t][2]));
  }
  CHECK(worst_ema < 1e-3);
  CHECK(hp[0][2] == 0.0f);
}

TEST_CASE("detrend removes an exact polynomial drift exactly, and outputs 0 until it has more volumes than regressors") {
  Fixture f;
  f.set("preprocess.chain=[\"detrend\"]");
  f.set("preprocess.detrend.order=2");
  std::vector<std::vector<float>> data(60, std::vector<float>(3));
  for (size_t t = 0; t < 60; ++t)
    for (size_t v = 0; v < 3; ++v) data[t][v] = static_cast<float>(500 + 3.0 * v + 0.7 * t - 0.01 * t * t);
  Chain chain = f.chain();
  const auto out = run_chain(chain, data);
  double worst = 0;
  for (const auto& o : out)
    for (float x : o) worst = std::max(worst, std::abs(static_cast<double>(x)));
  CHECK(worst < 1e-3);  // float32 data near 500: its own rounding is 3e-5
  CHECK(out[0][0] == 0.0f);
}

TEST_CASE("zscore equals the batch mean and sample sd of the history") {
  Fixture f;
  f.set("preprocess.chain=[\"zscore\"]");
  const auto data = drifting_data(40, 10, 2);
  Chain chain = f.chain();
  const auto out = run_chain(chain, data);
  CHECK(out[0][3] == 0.0f);
  double worst = 0;
  for (size_t t = 1; t < data.size(); ++t)
    for (size_t v = 0; v < 10; ++v) {
      double mean = 0, ss = 0;
      for (size_t s = 0; s <= t; ++s) mean += data[s][v];
      mean /= static_cast<double>(t + 1);
      for (size_t s = 0; s <= t; ++s) ss += (data[s][v] - mean) * (data[s][v] - mean);
      const double z = (data[t][v] - mean) / std::sqrt(ss / static_cast<double>(t));
      worst = std::max(worst, std::abs(z - out[t][v]));
    }
  CHECK(worst < 1e-5);
}

TEST_CASE("zscore with fixed statistics from a .npy") {
  test::TempDir d;
  write_npy(d / "stats.npy", {2, 3}, std::vector<float>{10, 20, 30, 2, 4, 0});
  Fixture f;
  f.set("preprocess.chain=[\"zscore\"]");
  f.set("preprocess.zscore.fixed=" + (d / "stats.npy").string());
  Chain chain = f.chain();
  const auto out = run_chain(chain, {{12, 10, 99}, {8, 28, 1}});
  CHECK(out[0] == std::vector<float>{1.0f, -2.5f, 0.0f});
  CHECK(out[1] == std::vector<float>{-1.0f, 2.0f, 0.0f});
  f.set("preprocess.zscore.fixed=" + (d / "missing.npy").string());
  Chain bad = f.chain();
  Volume v;
  v.dims = {3, 1, 1};
  CHECK_THROWS_WITH_AS(bad.initialize(spec_of(v, 1)), doctest::Contains("preprocess.zscore.fixed: "), SettingsError);
}

TEST_CASE("mask: automatic from the first volume, or from a NIfTI file, features know their voxels") {
  test::TempDir d;
  Fixture f;
  f.set("preprocess.chain=[\"mask\"]");
  std::vector<std::vector<float>> data(3, std::vector<float>(8, 10.0f));
  for (auto& vol : data) vol[2] = vol[5] = 1000.0f;  // mean 257.5: 0.125 x mean = 32
  Chain chain = f.chain();
  auto out = run_chain(chain, data);
  CHECK(out[1] == std::vector<float>{1000.0f, 1000.0f});

  NiftiInfo info;
  info.dims = {8, 1, 1, 1};
  const std::vector<float> m{0, 1, 0, 0, 0, 0, 0, 1};
  write_nifti(d / "m.nii", info, {reinterpret_cast<const std::byte*>(m.data()), 32});
  f.set("preprocess.mask.source=" + (d / "m.nii").string());
  Chain from_file = f.chain();
  data[0][1] = 7;
  out = run_chain(from_file, data);
  CHECK(out[0] == std::vector<float>{7.0f, 10.0f});

  info.dims = {4, 2, 1, 1};
  write_nifti(d / "wrong.nii", info, {reinterpret_cast<const std::byte*>(m.data()), 32});
  f.set("preprocess.mask.source=" + (d / "wrong.nii").string());
  Chain wrong = f.chain();
  Spec s;
  s.dims = {8, 1, 1};
  CHECK_THROWS_WITH_AS(wrong.preflight(s), doctest::Contains("preprocess.mask.source: "), SettingsError);
  CHECK_THROWS_WITH_AS(wrong.preflight(s), doctest::Contains("is 4x2x1 but the volumes are 8x1x1"), SettingsError);
}

TEST_CASE("smooth, direct (the default) and by FFT, equals a separable convolution in double precision, with anisotropic voxels") {
  const std::array<int64_t, 3> d{20, 16, 12};
  const std::array<double, 3> vox{2.0, 2.5, 3.0};
  Volume v;
  v.dims = d;
  v.voxel_mm = vox;
  v.affine = diagonal_affine(vox);
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(0, 1000);
  v.data.resize(static_cast<size_t>(v.voxel_count()));
  for (float& x : v.data) x = u(rng);
  // The reference: three 1D convolutions, zero outside the grid.
  std::vector<double> ref(v.data.begin(), v.data.end());
  const double sigma_mm = 6.0 / (2 * std::sqrt(2 * std::log(2.0)));
  for (int a = 0; a < 3; ++a) {
    const auto k = gaussian_kernel(sigma_mm / vox[static_cast<size_t>(a)], 4.0);
    const int64_t r = static_cast<int64_t>(k.size() / 2);
    std::vector<double> next(ref.size(), 0.0);
    const int64_t stride = a == 0 ? 1 : a == 1 ? d[0] : d[0] * d[1];
    for (int64_t z = 0; z < d[2]; ++z)
      for (int64_t y = 0; y < d[1]; ++y)
        for (int64_t x = 0; x < d[0]; ++x) {
          const int64_t pos = a == 0 ? x : a == 1 ? y : z, i = x + d[0] * (y + d[1] * z);
          double s = 0;
          for (int64_t j = -r; j <= r; ++j)
            if (pos + j >= 0 && pos + j < d[static_cast<size_t>(a)]) s += k[static_cast<size_t>(j + r)] * ref[static_cast<size_t>(i + j * stride)];
          next[static_cast<size_t>(i)] = s;
        }
    ref = next;
  }
  for (const char* method : {"direct", "fft"}) {
    INFO(method);
    Fixture f;
    f.set("preprocess.chain=[\"smooth\"]");
    f.set("preprocess.smooth.fwhm_mm=6");
    f.set(std::string("preprocess.smooth.method=") + method);
    Chain chain = f.chain();
    chain.initialize(spec_of(v, 1.0));
    chain.start_run({"r", 1.0, 1});
    Tr tr;
    tr.volume = v;
    chain.process(tr);
    double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(ref[i] - tr.volume.data[i]));
    CHECK(worst < 2e-3);  // values up to 1000: float rounding (relative 2e-6)
    CHECK(tr.volume.data[500] != v.data[500]);  // it did smooth
  }
}

TEST_CASE("dilate_cube flags the voxels within r of a flagged one along every axis, as a brute-force search does") {
  const std::array<int64_t, 3> dims{7, 5, 4};
  std::mt19937 rng(3);
  std::vector<uint8_t> flags(7 * 5 * 4);
  for (auto& f : flags) f = rng() % 13 == 0;
  for (int64_t r : {0, 1, 2}) {
    CAPTURE(r);
    const std::vector<uint8_t> got = dilate_cube(flags, dims, r);
    int64_t wrong = 0, set = 0;
    for (int64_t k = 0; k < 4; ++k)
      for (int64_t j = 0; j < 5; ++j)
        for (int64_t i = 0; i < 7; ++i) {
          uint8_t want = 0;
          for (int64_t c = 0; c < 4; ++c)
            for (int64_t b = 0; b < 5; ++b)
              for (int64_t a = 0; a < 7; ++a)
                if (flags[static_cast<size_t>(a + 7 * (b + 5 * c))] && std::abs(a - i) <= r && std::abs(b - j) <= r && std::abs(c - k) <= r) want = 1;
          wrong += got[static_cast<size_t>(i + 7 * (j + 5 * k))] != want;
          set += want;
        }
    CHECK(wrong == 0);
    CHECK(set > (r == 0 ? 0 : 40));
  }
}

TEST_CASE("smoothing rounds the same in every instance, so a second process gives bit-identical volumes") {
  // A plan chosen by timing (FFTW_MEASURE) rounds differently from run to run; resume and
  // online = offline need the same bits. Eight fresh instances of the stages' grid size.
  const std::array<int64_t, 3> d{64, 64, 36};
  std::vector<float> v(static_cast<size_t>(d[0] * d[1] * d[2]));
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(0, 1000);
  for (float& x : v) x = u(rng);
  std::vector<float> first;
  for (int k = 0; k < 8; ++k) {
    fftwf_forget_wisdom();  // plan afresh, as a new process does
    FftGaussian g;
    g.initialize(d, {3.0, 3.0, 3.0}, 6.0);
    std::vector<float> out(v.size());
    g.apply(v.data(), out.data());
    if (k == 0) first = out;
    else REQUIRE(out == first);
  }
  CHECK(first[1000] != v[1000]);
}

TEST_CASE("chain errors name the stage and the key") {
  Fixture f;
  f.set("preprocess.chain=[\"mask\", \"smooth_typo\"]");
  CHECK_THROWS_WITH_AS(f.chain(), doctest::Contains("preprocess.chain: unknown stage 'smooth_typo' (known: detrend, mask, realign, smooth, zscore)"),
                       SettingsError);
  f.set("preprocess.chain=[\"mask\", \"mask\"]");
  Chain twice = f.chain();
  CHECK_THROWS_WITH_AS(twice.preflight(Spec{}), doctest::Contains("preprocess.mask.source: mask needs a grid"), SettingsError);
  CHECK_THROWS_WITH_AS(f.set("preprocess.detrend.order=9"), doctest::Contains("'preprocess.detrend.order' must be in [0, 5]"),
                       SettingsError);
}

TEST_CASE("a plugin built against include/hyper only adds a stage, another API version is refused") {
  Fixture f;
  load_plugin(HYPER_PSC_PLUGIN, f.registry);
  REQUIRE(f.registry.find("psc") != nullptr);
  Schema schema;
  f.registry.declare(schema);
  Settings st(schema);
  st.apply_assignment("preprocess.chain=[\"mask\", \"psc\"]");
  st.apply_assignment("preprocess.mask.threshold=0");
  Chain chain(f.registry, st);
  std::vector<std::vector<float>> data{{100, 200, 50}, {110, 190, 50}};
  const auto out = run_chain(chain, data);
  CHECK(out[1][0] == doctest::Approx(10.0));
  CHECK(out[1][1] == doctest::Approx(-5.0));
  CHECK(out[1][2] == 0.0f);

  PartRegistry other;
  CHECK_THROWS_WITH_AS(load_plugin(HYPER_OLD_PLUGIN, other),
                       doctest::Contains(("built for plugin API version " + std::to_string(kApiVersion + 1000) +
                                          ", this hyper has version " + std::to_string(kApiVersion)).c_str()),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(load_plugin("/lib/x86_64-linux-gnu/libz.so.1", other), doctest::Contains("not a HYPER-RT plugin"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(load_plugin("/nonexistent/x.so", other), doctest::Contains("cannot load"), std::runtime_error);
}

TEST_CASE("hyper preprocess runs a chain with a plugin stage and writes what the decoder sees") {
  test::TempDir d;
  test::make_run(d / "r.nii.gz", {"--dims", "8", "8", "4", "10", "--dtype", "float32"});
  const auto out = d / "pp.nii.gz";
  const int rc = test::run({test::hyper_binary().string(), "preprocess", "--plugin", HYPER_PSC_PLUGIN, "--input",
                            (d / "r.nii.gz").string(), "--output", out.string(), "--set",
                            "preprocess.chain=[\"mask\",\"psc\"]", "--set", "preprocess.psc.scale=1"},
                           d / "pp.log");
  INFO(test::read_text(d / "pp.log"));
  REQUIRE(rc == 0);
  const NiftiRun in = read_nifti(d / "r.nii.gz"), pp = read_nifti(out);
  CHECK(pp.info.dims == in.info.dims);
  CHECK(pp.info.dtype == DType::Float32);
  const Volume v0 = in.volume(0), v5 = in.volume(5), o5 = pp.volume(5);
  int checked = 0;
  for (size_t i = 0; i < v0.data.size(); ++i) {
    if (o5.data[i] == 0.0f) continue;  // outside the mask
    CHECK(o5.data[i] == doctest::Approx((v5.data[i] - v0.data[i]) / v0.data[i]).epsilon(1e-5));
    ++checked;
  }
  CHECK(checked > 50);
  CHECK(test::run({test::hyper_binary().string(), "preprocess", "--plugin", HYPER_OLD_PLUGIN, "--input", "x", "--output",
                   "y"},
                  d / "old.log") == 2);
  CHECK(test::read_text(d / "old.log").find("rebuild it against this include/hyper") != std::string::npos);
}

TEST_CASE("online (volumes received over hyper/1) and offline (the file read directly) give identical features") {
  test::TempDir d;
  test::run({test::hyper_binary().string(), "simulate", "--out", (d / "twin").string(), "--preset", "small"}, d / "sim.log");
  const auto file = d / "twin/sub-01/func/sub-01_task-faces_run-01_bold.nii.gz";
  Fixture f;
  f.set("preprocess.chain=[\"mask\", \"detrend\", \"zscore\"]");

  std::vector<std::vector<float>> offline;
  Chain off = f.chain();
  run_chain_offline(off, read_nifti(file), "r", 1.5, [&](const Tr& tr) { offline.push_back(tr.features); });

  const int port = test::free_tcp_port();
  test::TestReceiver receiver({.endpoint = test::loopback(port)});
  test::Process replay({test::hyper_binary().string(), "replay", "--input", file.string(), "--endpoint",
                        test::loopback(port), "--speed", "max"},
                       d / "replay.log");
  auto c = test::collect(receiver.rx, 1);
  CHECK(replay.wait(30s) == 0);
  REQUIRE(c.volumes.size() == offline.size());
  Chain on = f.chain();
  on.initialize(spec_of(c.volumes[0]->volume, c.volumes[0]->tr_s));
  on.start_run({c.volumes[0]->run, c.volumes[0]->tr_s, c.volumes[0]->n_volumes});
  size_t identical = 0;
  for (size_t t = 0; t < c.volumes.size(); ++t) {
    on.process(*c.volumes[t]);
    identical += c.volumes[t]->features == offline[t];
  }
  CHECK(identical == offline.size());
  CHECK(offline.back().size() > 1000);
}

namespace {
std::vector<Motion> read_motion_tsv(const std::filesystem::path& p) {
  std::istringstream in(test::read_text(p));
  std::string header;
  std::getline(in, header);
  std::vector<Motion> out;
  Motion m;
  while (in >> m[0] >> m[1] >> m[2] >> m[3] >> m[4] >> m[5]) out.push_back(m);
  return out;
}
constexpr double kDeg = 3.14159265358979323846 / 180.0;
}  // namespace

TEST_CASE("realign recovers known rigid transforms of a twin volume") {
  test::TempDir d;
  REQUIRE(test::run({test::hyper_binary().string(), "simulate", "--out", (d / "t").string(), "--preset", "small", "--set",
                     "twin.voxel_mm=3", "--set", "twin.nx=48", "--set", "twin.ny=48", "--set", "twin.nz=32", "--set",
                     "twin.runs=1", "--set", "twin.trials_per_run=2"},
                    d / "sim.log") == 0);
  const Volume base = read_nifti(d / "t/derivatives/twin/baseline.nii.gz").volume(0);
  Fixture f;
  f.set("preprocess.chain=[\"realign\"]");
  Chain chain = f.chain();
  chain.initialize(spec_of(base, 1.5));
  chain.start_run({"r", 1.5, 4});
  const std::vector<Motion> truth{{0, 0, 0, 0, 0, 0},
                                  {1.2, -0.8, 0.5, 1.0 * kDeg, -0.5 * kDeg, 0.7 * kDeg},
                                  {-2.0, 1.5, -1.0, -1.5 * kDeg, 1.0 * kDeg, 2.0 * kDeg},
                                  {0.3, 0.1, -0.2, 0.2 * kDeg, 0.1 * kDeg, -0.3 * kDeg}};
  for (size_t t = 0; t < truth.size(); ++t) {
    Tr tr;
    tr.index = static_cast<int64_t>(t);
    resample_moved(base, truth[t], tr.volume, 30.0f);
    chain.process(tr);
    for (size_t p = 0; p < 6; ++p) {
      CAPTURE(t);
      CAPTURE(p);
      // Trilinear resampling of the moved volume blurs it a little: a few hundredths remain.
      CHECK(std::abs(tr.motion[p] - truth[t][p]) < (p < 3 ? 0.05 : 0.05 * kDeg));
    }
    if (t > 0) CHECK(tr.fd_mm == doctest::Approx(framewise_displacement(truth[t - 1], truth[t])).epsilon(0.02));
  }
  // Against a reference file, the run's first volume is registered too.
  f.set("preprocess.realign.reference=" + (d / "t/derivatives/twin/baseline.nii.gz").string());
  Chain to_file = f.chain();
  to_file.initialize(spec_of(base, 1.5));
  to_file.start_run({"r", 1.5, 1});
  Tr first;
  resample_moved(base, truth[1], first.volume, 30.0f);
  to_file.process(first);
  for (size_t p = 0; p < 6; ++p) CHECK(std::abs(first.motion[p] - truth[1][p]) < (p < 3 ? 0.05 : 0.05 * kDeg));
}

namespace {

// Blobs on a 40x36x28 grid at 3 mm: a volume with structure to register.
Volume blob_volume() {
  Volume base;
  base.dims = {40, 36, 28};
  base.voxel_mm = {3, 3, 3};
  base.affine = diagonal_affine(base.voxel_mm);
  base.affine[3] = -60, base.affine[7] = -54, base.affine[11] = -42;
  base.data.resize(static_cast<size_t>(base.voxel_count()));
  std::mt19937 rng(21);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::array<double, 4>> blobs(40);
  for (auto& b : blobs) b = {5 + 30 * u(rng), 5 + 26 * u(rng), 4 + 20 * u(rng), 1.5 + 3 * u(rng)};
  for (int64_t k = 0; k < 28; ++k)
    for (int64_t j = 0; j < 36; ++j)
      for (int64_t i = 0; i < 40; ++i) {
        double v = 0;
        for (const auto& b : blobs)
          v += 500 * std::exp(-((i - b[0]) * (i - b[0]) + (j - b[1]) * (j - b[1]) + (k - b[2]) * (k - b[2])) / (2 * b[3] * b[3]));
        base.data[static_cast<size_t>(i + 40 * (j + 36 * k))] = static_cast<float>(v);
      }
  return base;
}

// The end of a chain that reads only the flagged voxels (what a decoder does).
class ReadsOnly : public Stage {
 public:
  explicit ReadsOnly(std::vector<uint8_t> flags) : flags_(std::move(flags)) {}
  void preflight(const Spec& in, Spec& out) const override { out = in; }
  void process(Tr&) override {}
  std::vector<uint8_t> uses(const std::vector<uint8_t>&) override { return flags_; }

 private:
  std::vector<uint8_t> flags_;
};

const std::vector<Motion> kBlobMotions{{0, 0, 0, 0, 0, 0},
                                       {0.8, -0.5, 0.3, 0.6 * kDeg, -0.4 * kDeg, 0.5 * kDeg},
                                       {-1.0, 0.7, -0.4, -0.8 * kDeg, 0.6 * kDeg, 1.0 * kDeg},
                                       {0.4, 0.9, -0.8, 0.3 * kDeg, 0.9 * kDeg, -0.6 * kDeg}};

}  // namespace

TEST_CASE("realign and smooth give the same bits with 1, 2 and 3 threads") {
  // Blobs moved by known motions: every thread count must give the same estimates and the
  // same volumes (the sums' chunks are fixed, not the threads').
  const Volume base = blob_volume();
  const std::vector<Motion> truth{{0, 0, 0, 0, 0, 0}, {0.8, -0.5, 0.3, 0.6 * kDeg, -0.4 * kDeg, 0.5 * kDeg},
                                  {-1.0, 0.7, -0.4, -0.8 * kDeg, 0.6 * kDeg, 1.0 * kDeg}};
  std::vector<std::vector<Motion>> motions;
  std::vector<std::vector<std::vector<float>>> volumes;
  for (int threads : {1, 2, 3}) {
    Fixture f;
    f.set("preprocess.chain=[\"realign\", \"smooth\"]");
    f.set("preprocess.realign.threads=" + std::to_string(threads));
    f.set("preprocess.smooth.threads=" + std::to_string(threads));
    Chain chain = f.chain();
    chain.initialize(spec_of(base, 1.5));
    chain.start_run({"r", 1.5, 3});
    motions.emplace_back();
    volumes.emplace_back();
    for (size_t t = 0; t < truth.size(); ++t) {
      Tr tr;
      tr.index = static_cast<int64_t>(t);
      resample_moved(base, truth[t], tr.volume, 0.0f);
      chain.process(tr);
      motions.back().push_back(tr.motion);
      volumes.back().push_back(tr.volume.data);
    }
  }
  for (size_t p = 0; p < 6; ++p) CHECK(std::abs(motions[0][2][p] - truth[2][p]) < (p < 3 ? 0.2 : 0.2 * kDeg));  // it registered (accuracy: the tests below)
  for (size_t n = 1; n < motions.size(); ++n) {
    CAPTURE(n + 1);
    CHECK(motions[n] == motions[0]);
    CHECK(volumes[n] == volumes[0]);
  }
}

TEST_CASE("realign resamples only the voxels the later stages read: there the whole resampling's bits, elsewhere the input") {
  const Volume base = blob_volume();
  // A block and scattered voxels: rows of every length, and rows cut at the grid's edges.
  std::vector<uint8_t> flags(static_cast<size_t>(base.voxel_count()), 0);
  std::mt19937 rng(5);
  for (size_t v = 0; v < flags.size(); ++v) flags[v] = rng() % 10 == 0;
  for (int64_t k = 10; k < 20; ++k)
    for (int64_t j = 0; j < 12; ++j)
      for (int64_t i = 30; i < 40; ++i) flags[static_cast<size_t>(i + 40 * (j + 36 * k))] = 1;
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    Fixture f;
    f.set("preprocess.chain=[\"realign\"]");
    f.set("preprocess.realign.threads=" + std::to_string(threads));
    Chain whole = f.chain(), part = f.chain();
    part.append("reader", std::make_unique<ReadsOnly>(flags));
    for (Chain* c : {&whole, &part}) c->initialize(spec_of(base, 1.5)), c->start_run({"r", 1.5, 4});
    int64_t resampled = 0, kept = 0;
    for (size_t t = 0; t < kBlobMotions.size(); ++t) {
      Tr a, b;
      a.index = b.index = static_cast<int64_t>(t);
      resample_moved(base, kBlobMotions[t], a.volume, 0.0f);
      b.volume = a.volume;
      const std::vector<float> input = a.volume.data;
      whole.process(a);
      part.process(b);
      CHECK(a.motion == b.motion);  // the estimate reads every voxel either way
      int64_t wrong = 0;
      for (size_t v = 0; v < flags.size(); ++v) {
        const float want = flags[v] ? a.volume.data[v] : input[v];
        wrong += b.volume.data[v] != want;
        if (t > 0) (flags[v] ? resampled : kept) += a.volume.data[v] != input[v];
      }
      CHECK(wrong == 0);
    }
    CHECK(resampled > 10000);  // the motions moved the flagged voxels, and the others stayed
    CHECK(kept > 100000);
  }
  // A stage whose flags do not fit its grid (a plugin's bug) is named before any volume.
  Fixture f;
  f.set("preprocess.chain=[\"realign\"]");
  Chain bad = f.chain();
  bad.append("reader", std::make_unique<ReadsOnly>(std::vector<uint8_t>(5, 1)));
  CHECK_THROWS_WITH_AS(bad.initialize(spec_of(base, 1.5)), "preprocess.reader: uses() gave 5 voxel flags for an input grid of 40320 voxels",
                       SettingsError);
}

TEST_CASE("with a decoder at the chain's end, realign resamples its voxels and the smoothing's reach: the same latents bit for bit") {
  const Volume base = blob_volume();
  // The decoder reads a compact block (as visual voxels are) and a few voxels elsewhere.
  auto d = std::make_shared<Decoder>();
  d->dims = base.dims;
  d->tr_s = 1.5;
  d->mode = "tr";
  for (int64_t k = 8; k < 16; ++k)
    for (int64_t j = 10; j < 20; ++j)
      for (int64_t i = 12; i < 22; ++i) d->voxels.push_back(i + 40 * (j + 36 * k));
  for (int64_t v : {5 + 40 * (30 + 36 * 3), 37 + 40 * (2 + 36 * 25)}) d->voxels.push_back(v);
  const auto k = static_cast<Eigen::Index>(d->voxels.size());
  d->feature_mean.assign(static_cast<size_t>(k), 0.1f);
  d->feature_sd.assign(static_cast<size_t>(k), 0.9f);
  std::mt19937 rng(9);
  std::normal_distribution<float> n01(0, 1);
  d->weights.resize(k, 512);
  for (Eigen::Index q = 0; q < d->weights.size(); ++q) d->weights.data()[q] = n01(rng);
  d->intercept = Eigen::VectorXf::Constant(512, 0.5f);
  const std::shared_ptr<const Decoder> dc = d;
  // A reference from a file: the run's first volume is resampled too, and the automatic mask
  // is made from it (the mean of every voxel).
  test::TempDir dir;
  NiftiInfo info;
  info.dims = {40, 36, 28, 1};
  info.voxel_mm = base.voxel_mm;
  info.affine = base.affine;
  write_nifti(dir / "ref.nii", info, {reinterpret_cast<const std::byte*>(base.data.data()), base.data.size() * sizeof(float)});
  for (const std::string smooth : {"direct", "fft", "direct, reference file"}) {
    CAPTURE(smooth);
    Fixture f;
    f.set("preprocess.chain=[\"realign\", \"smooth\", \"mask\", \"detrend\", \"zscore\"]");
    f.set(std::string("preprocess.smooth.method=") + (smooth == "fft" ? "fft" : "direct"));
    if (smooth == "direct, reference file") f.set("preprocess.realign.reference=" + (dir / "ref.nii").string());
    Chain whole = f.chain(), decoding = f.chain();
    decoding.append("decode", make_decode_stage(dc, "dec.safetensors"));
    auto decode_after = make_decode_stage(dc, "dec.safetensors");  // the whole chain's output, decoded
    for (Chain* c : {&whole, &decoding}) c->initialize(spec_of(base, 1.5)), c->start_run({"r", 1.5, 8});
    decode_after->start_run({"r", 1.5, 8});
    int64_t unread_differ = 0;  // features the decoder does not read: not resampled there (direct smoothing)
    for (size_t t = 0; t < 8; ++t) {
      CAPTURE(t);
      Tr a, b;
      a.index = b.index = static_cast<int64_t>(t);
      resample_moved(base, kBlobMotions[t % kBlobMotions.size()], a.volume, 0.0f);
      for (float& x : a.volume.data) x += 20.0f * n01(rng);  // the z-scores need variance
      b.volume = a.volume;
      whole.process(a);
      decode_after->process(a);
      decoding.process(b);
      REQUIRE(a.decoded);
      REQUIRE(b.decoded);
      CHECK(a.latent == b.latent);
      REQUIRE(a.features.size() == b.features.size());
      for (size_t q = 0; q < a.features.size(); ++q) unread_differ += a.features[q] != b.features[q];
    }
    if (smooth != "fft") CHECK(unread_differ > 1000);
    else CHECK(unread_differ == 0);  // the FFT reads every voxel: realign resampled them all
  }
}

TEST_CASE("realign on a noisy twin run: mean absolute error within 0.1 mm and 0.1 degrees of the truth") {
  test::TempDir d;
  REQUIRE(test::run({test::hyper_binary().string(), "simulate", "--out", (d / "t").string(), "--preset", "small", "--set",
                     "twin.voxel_mm=3", "--set", "twin.nx=48", "--set", "twin.ny=48", "--set", "twin.nz=32", "--set",
                     "twin.runs=1", "--set", "twin.jerk_rate=0.05"},
                    d / "sim.log") == 0);
  const auto truth = read_motion_tsv(d / "t/derivatives/twin/sub-01_task-faces_run-01_motion.tsv");
  Fixture f;
  f.set("preprocess.chain=[\"realign\"]");
  Chain chain = f.chain();
  std::array<double, 6> error{}, moved{};
  size_t n = 0;
  run_chain_offline(chain, read_nifti(d / "t/sub-01/func/sub-01_task-faces_run-01_bold.nii.gz"), "r", 1.5,
                    [&](const Tr& tr) {
                      for (size_t p = 0; p < 6; ++p) {
                        error[p] += std::abs(tr.motion[p] - truth[static_cast<size_t>(tr.index)][p]);
                        moved[p] = std::max(moved[p], std::abs(truth[static_cast<size_t>(tr.index)][p]));
                      }
                      ++n;
                    });
  REQUIRE(n == truth.size());
  for (size_t p = 0; p < 6; ++p) {
    CAPTURE(p);
    const double mae = error[p] / static_cast<double>(n);
    MESSAGE("parameter " << p << ": mean abs error " << (p < 3 ? mae : mae / kDeg) << std::string(p < 3 ? " mm" : " deg")
                         << ", largest motion " << (p < 3 ? moved[p] : moved[p] / kDeg));
    CHECK(mae < (p < 3 ? 0.1 : 0.1 * kDeg));
  }
  CHECK(*std::max_element(moved.begin(), moved.begin() + 3) > 0.2);  // there was motion to find
}

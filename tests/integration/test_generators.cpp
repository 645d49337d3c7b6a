// The native PGGAN against the independent Python reference (tools/pggan_reference.py):
// a stored golden fixture, a fresh random network, the full architecture's size, and the
// loader's refusals. `hyper render` writes the PNGs.
#include <doctest/doctest.h>  // generator.hpp is plain C++: no torch (and no glog) in here

#include <cmath>
#include <fstream>

#include <Eigen/Dense>

#include "generators/generator.hpp"
#include "core/rng.hpp"
#include "generators/pggan_layout.hpp"
#include "io/npy.hpp"
#include "io/safetensors.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {
std::filesystem::path fixture(const std::string& name) { return test::source_dir() / "tests/fixtures" / name; }

float max_difference(const ImageBatch& b, const NpyArray& want) {
  REQUIRE(want.shape == std::vector<int64_t>{b.n, 3, b.height, b.width});
  float worst = 0;
  for (size_t i = 0; i < b.data.size(); ++i) worst = std::max(worst, std::abs(b.data[i] - want.data[i]));
  return worst;
}
}  // namespace

// The reference computes in float64. In float64 the port must agree to rounding; in float32
// (what runs) it differs by float32 rounding, which the pixel norms of a tiny random
// network amplify (PyTorch's own float32 run of the reference differs from its float64 run
// by 8e-5 on the fixture): bounded here at 5e-4. Three ways: the convs prepacked for oneDNN
// (the default; float32 only), through conv2d per call, and channels-last with plain
// upsampling (generator.channels_last).
TEST_CASE("pggan equals the Python reference on the stored fixture, at its full and a lower level") {
  const NpyArray z = read_npy(fixture("pggan_tiny_latents.npy"));
  for (int res : {32, 8}) {
    for (const char* dtype : {"float64", "float32"}) {
      for (const std::string way : {"prepack", "conv2d", "channels_last"}) {
        CAPTURE(res);
        CAPTURE(dtype);
        CAPTURE(way);
        const auto gen = make_generator({.kind = "pggan", .weights = fixture("pggan_tiny.safetensors").string(), .resolution = res,
                                         .dtype = dtype, .prepack = way == "prepack", .channels_last = way == "channels_last"});
        CHECK(gen->resolution() == res);
        const bool packed = way == "prepack" && std::string(dtype) == "float32";  // float64 has no oneDNN path: conv2d
        CHECK((gen->describe().find("prepacked") != std::string::npos) == packed);
        CHECK((gen->describe().find("channels-last") != std::string::npos) == (way == "channels_last"));
        const ImageBatch& b = gen->generate(z.data.data(), 3);
        const float worst = max_difference(b, read_npy(fixture("pggan_tiny_" + std::to_string(res) + ".npy")));
        MESSAGE("largest difference from the reference at " << res << " in " << std::string(dtype) << ", " << way << ": " << worst);
        CHECK(worst < (std::string(dtype) == "float64" ? 1e-5f : 5e-4f));
      }
    }
  }
}

TEST_CASE("pggan coarse-first: the early image is the reference's face at that level, and the full face is unchanged") {
  const NpyArray z = read_npy(fixture("pggan_tiny_latents.npy"));
  const auto weights = fixture("pggan_tiny.safetensors").string();
  const auto full = make_generator({.kind = "pggan", .weights = weights, .resolution = 32, .dtype = "float64"});
  const ImageBatch plain = full->generate(z.data.data(), 3);
  auto* coarse_first = dynamic_cast<CoarseFirst*>(full.get());
  REQUIRE(coarse_first != nullptr);
  ImageBatch early;
  int calls = 0;
  const ImageBatch& last = coarse_first->generate_coarse_first(z.data.data(), 3, 8, [&](const ImageBatch& b) { early = b, ++calls; });
  CHECK(calls == 1);
  CHECK(last.data == plain.data);  // bit for bit: the early image costs the full face nothing but time
  REQUIRE(early.height == 8);
  // The reference's face at 8 px (the network stopped there, its toRGB of that level).
  const float worst = max_difference(early, read_npy(fixture("pggan_tiny_8.npy")));
  MESSAGE("coarse-first 8 px against the reference: " << worst);
  CHECK(worst < 1e-5f);
  // No level below the full one asked for: no early image.
  calls = 0;
  coarse_first->generate_coarse_first(z.data.data(), 3, 32, [&](const ImageBatch&) { ++calls; });
  CHECK(calls == 0);
  // The procedural stand-in draws at once: it does not offer it.
  CHECK(dynamic_cast<CoarseFirst*>(make_generator({.kind = "procedural", .resolution = 64}).get()) == nullptr);
}

TEST_CASE("pggan equals the Python reference on a fresh random network, float64, 2 threads, batch of 5") {
  test::TempDir d;
  const auto ref = (test::source_dir() / "tools/pggan_reference.py").string();
  REQUIRE(test::run({test::python(), ref, "random", "--channels", "16,8,8,8,4", "--seed", "3", "--out", (d / "w.safetensors").string()},
                    d / "random.log") == 0);
  std::vector<float> z(5 * 512);
  for (size_t i = 0; i < z.size(); ++i) z[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * 1.3);
  write_npy(d / "z.npy", {5, 512}, z);
  REQUIRE(test::run({test::python(), ref, "generate", "--weights", (d / "w.safetensors").string(), "--latents",
                     (d / "z.npy").string(), "--out", (d / "img.npy").string()},
                    d / "generate.log", 120s) == 0);
  const auto gen = make_generator({.kind = "pggan", .weights = (d / "w.safetensors").string(), .dtype = "float64", .threads = 2});
  CHECK(gen->resolution() == 64);
  const ImageBatch& b = gen->generate(z.data(), 5);
  CHECK(max_difference(b, read_npy(d / "img.npy")) < 1e-5f);
  // Different latents give different faces; the same latent the same face.
  const size_t plane = 3 * 64 * 64;
  CHECK(std::equal(b.data.begin(), b.data.begin() + plane, b.data.begin() + plane) == false);
}

TEST_CASE("the full 1024 architecture has 23,079,115 parameters, as the Python count of the official network") {
  int64_t total = 0;
  for (const PgganTensor& t : pggan_layout(pggan_official_channels(1024))) {
    int64_t n = 1;
    for (int64_t s : t.shape) n *= s;
    total += n;
  }
  CHECK(total == 23079115);
  test::TempDir d;
  REQUIRE(test::run({test::python(), (test::source_dir() / "tools/pggan_reference.py").string(), "params"}, d / "p.log") == 0);
  CHECK(std::stoll(test::read_text(d / "p.log")) == total);
  CHECK(pggan_official_channels(1024) == std::vector<int64_t>{512, 512, 512, 512, 256, 128, 64, 32, 16});
}

TEST_CASE("a weights file with a missing or misshapen tensor is refused, naming it") {
  test::TempDir d;
  TensorFile f = read_safetensors(fixture("pggan_tiny.safetensors"));
  TensorFile missing = f;
  missing.tensors.erase("layer3.conv.weight");
  write_safetensors(d / "missing.safetensors", missing);
  CHECK_THROWS_WITH_AS(make_generator({.kind = "pggan", .weights = (d / "missing.safetensors").string()}),
                       doctest::Contains("missing.safetensors: tensor 'layer3.conv.weight' is missing"), std::runtime_error);
  TensorFile bad = f;
  const std::vector<float> w(3 * 5, 0.5f);
  bad.tensors["output2.conv.weight"] = tensor_f32({3, 5, 1, 1}, w.data());
  write_safetensors(d / "bad.safetensors", bad);
  CHECK_THROWS_WITH_AS(make_generator({.kind = "pggan", .weights = (d / "bad.safetensors").string()}),
                       doctest::Contains("tensor 'output2.conv.weight' has shape [3, 5, 1, 1], the layout needs [3, 4, 1, 1]"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(make_generator({.kind = "pggan", .weights = fixture("pggan_tiny.safetensors").string(), .resolution = 64}),
                       doctest::Contains("generator.resolution: 64 is not a power of 2 from 4 to 32"), std::runtime_error);
  CHECK_THROWS_WITH_AS(make_generator({.kind = "pggan", .weights = fixture("pggan_tiny.safetensors").string(), .dtype = "float16"}),
                       doctest::Contains("float16 needs a CUDA device"), std::runtime_error);
  CHECK_THROWS_WITH_AS(make_generator({.kind = "pggan", .weights = fixture("pggan_tiny.safetensors").string(), .cuda_graph = true}),
                       doctest::Contains("generator.cuda_graph: needs generator.device = \"cuda\""), std::runtime_error);
  CHECK_THROWS_WITH_AS(make_generator({.kind = "gan"}), doctest::Contains("generator.kind: 'gan'"), std::runtime_error);
}

TEST_CASE("hyper render writes one PNG per latent row") {
  test::TempDir d;
  REQUIRE(test::run(test::hyper_cmd({"render", "--latents", fixture("pggan_tiny_latents.npy").string(), "--weights",
                                     fixture("pggan_tiny.safetensors").string(), "--resolution", "16", "--first", "1",
                                     "--out", (d / "png").string()}),
                    d / "render.log") == 0);
  INFO(test::read_text(d / "render.log"));
  CHECK_FALSE(std::filesystem::exists(d / "png/000000.png"));
  const std::string a = test::read_text(d / "png/000001.png"), b = test::read_text(d / "png/000002.png");
  CHECK(a.substr(1, 3) == "PNG");
  CHECK(a != b);
}

TEST_CASE("tools/convert_pggan.py turns genforce's checkpoint and the official TF variables into the same network") {
  test::TempDir d;
  const auto tools = test::source_dir() / "tools";
  REQUIRE(test::run({test::python(), (test::source_dir() / "tests/integration/make_pggan_sources.py").string(),
                     fixture("pggan_tiny.safetensors").string(), d.path().string()},
                    d / "make.log", 120s) == 0);
  const NpyArray z = read_npy(fixture("pggan_tiny_latents.npy"));
  const NpyArray want = read_npy(fixture("pggan_tiny_32.npy"));
  for (const auto& [route, input] : std::vector<std::pair<std::string, std::string>>{{"genforce", "genforce.pth"}, {"npz", "tf_vars.npz"}}) {
    CAPTURE(route);
    const auto out = d / (route + ".safetensors");
    const int rc = test::run({test::python(), (tools / "convert_pggan.py").string(), route, (d / input).string(), "--out", out.string()},
                             d / (route + ".log"), 120s);
    INFO(test::read_text(d / (route + ".log")));
    REQUIRE(rc == 0);
    const auto gen = make_generator({.kind = "pggan", .weights = out.string(), .dtype = "float64"});
    CHECK(max_difference(gen->generate(z.data.data(), 3), want) < 1e-5f);
  }
  CHECK(test::read_text(d / "genforce.log").find("using 'generator_smooth'") != std::string::npos);
  // Variables that are not the generator's are refused, naming what is missing.
  REQUIRE(test::run({test::python(), "-c", "import numpy; numpy.savez('" + (d / "other.npz").string() + "', x=numpy.zeros(3))"},
                    d / "other.log") == 0);
  CHECK(test::run({test::python(), (tools / "convert_pggan.py").string(), "npz", (d / "other.npz").string(), "--out",
                   (d / "o.safetensors").string()},
                  d / "refused.log", 120s) != 0);
  CHECK(test::read_text(d / "refused.log").find("TF variable '4x4/Dense/weight' is missing") != std::string::npos);
}

TEST_CASE("torchscript runs a module exported by python3-torch and checks its contract at load") {
  test::TempDir d;
  REQUIRE(test::run({test::python(), (test::source_dir() / "tests/integration/make_torchscript.py").string(), d.path().string()},
                    d / "make.log", 120s) == 0);
  const auto gen = make_generator({.kind = "torchscript", .weights = (d / "tiny.pt").string()});
  CHECK(gen->resolution() == 8);
  const NpyArray z = read_npy(d / "z.npy");
  CHECK(max_difference(gen->generate(z.data.data(), 3), read_npy(d / "images.npy")) < 1e-5f);
  CHECK_THROWS_WITH_AS(make_generator({.kind = "torchscript", .weights = (d / "flat.pt").string()}),
                       doctest::Contains("flat.pt: forward on latents [2, 512] gave shape [2, 10], the contract is [2, 3, H, H]"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(make_generator({.kind = "torchscript", .weights = (d / "tiny.pt").string(), .resolution = 16}),
                       doctest::Contains("generator.resolution: 16, but"), std::runtime_error);
  CHECK_THROWS_WITH_AS(make_generator({.kind = "torchscript", .weights = (d / "z.npy").string()}),
                       doctest::Contains("z.npy: not a TorchScript module"), std::runtime_error);
}

namespace {
double image_correlation(const ImageBatch& b, int i, int j) {
  const size_t plane = 3 * static_cast<size_t>(b.height) * static_cast<size_t>(b.width);
  const Eigen::Map<const Eigen::VectorXf> a(b.data.data() + i * plane, static_cast<Eigen::Index>(plane));
  const Eigen::Map<const Eigen::VectorXf> c(b.data.data() + j * plane, static_cast<Eigen::Index>(plane));
  const Eigen::VectorXd x = a.cast<double>().array() - a.cast<double>().mean(), y = c.cast<double>().array() - c.cast<double>().mean();
  return x.dot(y) / std::sqrt(x.squaredNorm() * y.squaredNorm());
}
}  // namespace

TEST_CASE("procedural faces are deterministic, smooth in the latent, use all 512 dimensions, and agree across resolutions") {
  const auto gen = make_generator({.kind = "procedural", .resolution = 128});
  CHECK(gen->describe().find("procedural stand-in") != std::string::npos);
  Rng rng(9);
  std::vector<float> z(6 * 512);
  for (int i = 0; i < 512; ++i) {
    const auto a = static_cast<float>(rng.normal()), b = static_cast<float>(rng.normal());
    z[static_cast<size_t>(i)] = a;                                         // 0: a face
    z[static_cast<size_t>(512 + i)] = a;                                   // 1: the same face
    z[static_cast<size_t>(1024 + i)] = a + 0.1f * static_cast<float>(rng.normal());  // 2: nearby
    z[static_cast<size_t>(1536 + i)] = b;                                  // 3: another face
    z[static_cast<size_t>(2048 + i)] = a + (i == 0 ? 2.0f : 0.0f);         // 4: dimension 0 moved
    z[static_cast<size_t>(2560 + i)] = a + (i == 511 ? 2.0f : 0.0f);       // 5: dimension 511 moved
  }
  const ImageBatch b = gen->generate(z.data(), 6);
  REQUIRE(b.n == 6);
  const size_t plane = 3 * 128 * 128;
  CHECK(std::equal(b.data.begin(), b.data.begin() + plane, b.data.begin() + plane));
  const double same = image_correlation(b, 0, 2), other = image_correlation(b, 0, 3);
  MESSAGE("image correlation with a nearby latent " << same << ", with another latent " << other);
  CHECK(same > 0.97);
  CHECK(other < same - 0.05);
  for (int moved : {4, 5}) {
    CAPTURE(moved);
    CHECK(image_correlation(b, 0, moved) < 0.9999);  // one dimension changes the face
  }
  CHECK(*std::min_element(b.data.begin(), b.data.end()) >= -1.0f);
  CHECK(*std::max_element(b.data.begin(), b.data.end()) <= 1.0f);
  // Anti-aliased edges: values between the flat colours.
  size_t between = 0;
  for (size_t i = 1; i < plane; ++i) between += std::abs(b.data[i] - b.data[i - 1]) > 0.01f && std::abs(b.data[i] - b.data[i - 1]) < 0.2f;
  CHECK(between > 100);
  const auto [lo, hi] = std::minmax_element(b.data.begin(), b.data.begin() + plane);
  CHECK(*hi - *lo > 0.8f);  // a face on a background, not one flat colour
  // The same face at 64 pixels as at 128 averaged 2x2.
  const auto small = make_generator({.kind = "procedural", .resolution = 64});
  const ImageBatch s = small->generate(z.data(), 1);
  ImageBatch down{1, 64, 64, std::vector<float>(3 * 64 * 64)};
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x) {
        float sum = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) sum += b.data[static_cast<size_t>(c * 128 * 128 + (2 * y + dy) * 128 + 2 * x + dx)];
        down.data[static_cast<size_t>(c * 64 * 64 + y * 64 + x)] = sum / 4;
      }
  ImageBatch both{2, 64, 64, s.data};
  both.data.insert(both.data.end(), down.data.begin(), down.data.end());
  CHECK(image_correlation(both, 0, 1) > 0.98);
}

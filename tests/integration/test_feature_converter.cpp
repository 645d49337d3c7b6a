// tools/convert_vggface.py (README, "The paper's own files"): the paper's face features come
// from keras-vggface's ResNet-50, whose weights cannot be downloaded here. A random-weight file
// of the same layout (tests/integration/vggface_fixture.py make) is converted, loaded by hyper
// eval's FeatureNet, and its features compared with PyTorch computing the Keras model from the
// file directly (vggface_fixture.py reference: unfolded batch norm, explicit padding).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/rng.hpp"
#include "eval/feature_net.hpp"
#include "io/npy.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

TEST_CASE("a Keras VGGFace ResNet-50 file converted by tools/convert_vggface.py gives the Keras model's 2048 features in hyper eval") {
  test::TempDir d;
  const std::string fixture = (test::source_dir() / "tests/integration/vggface_fixture.py").string();
  const auto h5 = d.path() / "rcmalli_vggface_tf_notop_resnet50.h5", pt = d.path() / "vggface.pt";
  REQUIRE(test::run({test::python(), fixture, "make", h5.string()}, d.path() / "make.log", 120s) == 0);
  REQUIRE(test::run({test::python(), (test::source_dir() / "tools/convert_vggface.py").string(), h5.string(), pt.string()},
                    d.path() / "convert.log", 300s) == 0);

  // Two 224 x 224 RGB images: smooth gradients with noise, as faces are neither flat nor white noise.
  const int s = 224;
  Rng rng(11);
  std::vector<std::vector<uint8_t>> images(2, std::vector<uint8_t>(static_cast<size_t>(s * s * 3)));
  std::vector<float> as_float;
  for (size_t n = 0; n < images.size(); ++n)
    for (int y = 0; y < s; ++y)
      for (int x = 0; x < s; ++x)
        for (int c = 0; c < 3; ++c) {
          const double v = 128 + 80 * std::sin(0.03 * (x + 2 * y) + c + 2.0 * static_cast<double>(n)) + 20 * rng.normal();
          const auto u = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
          images[n][static_cast<size_t>((y * s + x) * 3 + c)] = u;
          as_float.push_back(u);
        }
  write_npy(d.path() / "images.npy", {2, s, s, 3}, as_float);
  REQUIRE(test::run({test::python(), fixture, "reference", h5.string(), (d.path() / "images.npy").string(),
                     (d.path() / "reference.npy").string()},
                    d.path() / "reference.log", 300s) == 0);
  const NpyArray ref = read_npy(d.path() / "reference.npy");
  REQUIRE(ref.shape == std::vector<int64_t>{2, 2048});

  FeatureNet net(pt.string(), "cpu", s);
  CHECK(net.describe().find("2048 features of 224x224 RGB") != std::string::npos);
  const Eigen::MatrixXd f = net.features(images);
  REQUIRE(f.rows() == 2);
  REQUIRE(f.cols() == 2048);
  double peak = 0, diff = 0;
  for (Eigen::Index i = 0; i < 2; ++i)
    for (Eigen::Index k = 0; k < 2048; ++k) {
      const double r = ref.data[static_cast<size_t>(i * 2048 + k)];
      peak = std::max(peak, std::abs(r));
      diff = std::max(diff, std::abs(f(i, k) - r));
    }
  INFO("largest feature " << peak << ", largest difference " << diff);
  CHECK(peak > 1.0);             // the network is not dead (random weights can be)
  CHECK(diff < 1e-4 * peak);     // float32 against float64: an off-by-one padding gives ~3e-2
  CHECK((f.row(0) - f.row(1)).norm() > 1e-3 * peak);  // different faces, different features

  // Not Keras weights: named, with what was expected.
  std::ofstream(d.path() / "not.h5") << "not HDF5";
  CHECK(test::run({test::python(), (test::source_dir() / "tools/convert_vggface.py").string(), (d.path() / "not.h5").string(),
                   (d.path() / "x.pt").string()}, d.path() / "bad.log", 60s) == 1);
  CHECK(test::read_text(d.path() / "bad.log").find("not.h5: not an HDF5 file") != std::string::npos);
}

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "eval/image_metrics.hpp"
#include "io/npy.hpp"
#include "support.hpp"

using namespace hyper;

TEST_CASE("SSIM equals scikit-image's on the stored fixture, and correlation and resizing behave") {
  const NpyArray pairs = read_npy(test::source_dir() / "tests/fixtures/ssim_pairs.npy");
  const NpyArray values = read_npy(test::source_dir() / "tests/fixtures/ssim_values.npy");
  REQUIRE(pairs.shape.size() == 4);
  REQUIRE(pairs.shape[1] == 2);
  const int h = static_cast<int>(pairs.shape[2]), w = static_cast<int>(pairs.shape[3]);
  const size_t plane = static_cast<size_t>(w) * static_cast<size_t>(h);
  for (int64_t p = 0; p < pairs.shape[0]; ++p) {
    CAPTURE(p);
    Gray a{w, h, {}}, b{w, h, {}};
    a.v.assign(pairs.data.begin() + static_cast<std::ptrdiff_t>((2 * p) * plane), pairs.data.begin() + static_cast<std::ptrdiff_t>((2 * p + 1) * plane));
    b.v.assign(pairs.data.begin() + static_cast<std::ptrdiff_t>((2 * p + 1) * plane), pairs.data.begin() + static_cast<std::ptrdiff_t>((2 * p + 2) * plane));
    CHECK(ssim(a, b) == doctest::Approx(values.data[static_cast<size_t>(p)]).epsilon(1e-5));
    CHECK(ssim(a, b) == doctest::Approx(ssim(b, a)).epsilon(1e-12));
  }
  // Pearson: 1 with itself, -1 with its negative; invariant to brightness and contrast.
  Gray g{16, 12, {}};
  for (int i = 0; i < 16 * 12; ++i) g.v.push_back(std::sin(i * 0.37));
  Gray neg = g, scaled = g;
  for (auto& x : neg.v) x = -x;
  for (auto& x : scaled.v) x = 0.3 * x + 0.5;
  CHECK(pearson(g, g) == doctest::Approx(1.0));
  CHECK(pearson(g, neg) == doctest::Approx(-1.0));
  CHECK(pearson(g, scaled) == doctest::Approx(1.0));
  // Resizing a constant keeps it; resizing to the same size is the identity.
  Gray c{10, 10, std::vector<double>(100, 0.25)};
  const Gray big = resize(c, 224, 224);
  CHECK(big.v.size() == 224 * 224);
  CHECK(*std::min_element(big.v.begin(), big.v.end()) == doctest::Approx(0.25));
  CHECK(*std::max_element(big.v.begin(), big.v.end()) == doctest::Approx(0.25));
  const Gray same = resize(g, 16, 12);
  for (size_t i = 0; i < g.v.size(); ++i) CHECK(same.v[i] == doctest::Approx(g.v[i]));
  // BT.601 luma of pure colours.
  const Gray l = luminance({255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255}, 4, 1);
  CHECK(l.v[0] == doctest::Approx(0.299));
  CHECK(l.v[1] == doctest::Approx(0.587));
  CHECK(l.v[2] == doctest::Approx(0.114));
  CHECK(l.v[3] == doctest::Approx(1.0));
  CHECK_THROWS_AS(ssim(Gray{8, 8, std::vector<double>(64)}, Gray{8, 8, std::vector<double>(64)}), std::invalid_argument);
}

TEST_CASE("resize equals Pillow's BILINEAR, shrinking (antialiased) and enlarging, on the stored fixture") {
  const NpyArray in = read_npy(test::source_dir() / "tests/fixtures/resize_input.npy");
  REQUIRE(in.shape == std::vector<int64_t>{30, 40});
  const Gray g{40, 30, std::vector<double>(in.data.begin(), in.data.end())};
  for (const auto& [h, w] : std::vector<std::pair<int, int>>{{9, 13}, {50, 64}}) {
    CAPTURE(h);
    const NpyArray ref = read_npy(test::source_dir() / ("tests/fixtures/resize_" + std::to_string(h) + "x" + std::to_string(w) + ".npy"));
    REQUIRE(ref.shape == std::vector<int64_t>{h, w});
    const Gray r = resize(g, w, h);
    double worst = 0;
    for (size_t i = 0; i < r.v.size(); ++i) worst = std::max(worst, std::abs(r.v[i] - ref.data[i]));
    CHECK(worst < 1e-5);
  }
  // Shrinking a one-pixel checkerboard by 4 averages it (plain bilinear sampling would not).
  Gray board{64, 64, {}};
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) board.v.push_back((x + y) % 2);
  const Gray small = resize(board, 16, 16);
  for (double v : small.v) CHECK(v == doctest::Approx(0.5).epsilon(0.02));
  // RGB: each channel alone.
  const std::vector<uint8_t> rgb{255, 0, 10, 255, 0, 10, 255, 0, 10, 255, 0, 10};
  CHECK(resize_rgb(rgb, 2, 2, 3, 3) == std::vector<uint8_t>{255, 0, 10, 255, 0, 10, 255, 0, 10, 255, 0, 10, 255, 0, 10, 255, 0, 10,
                                                             255, 0, 10, 255, 0, 10, 255, 0, 10});
}

TEST_CASE("SSIM as the paper's main.py called scikit-image (RGB, uniform 7x7 window) equals it on a stored fixture") {
  const NpyArray pairs = read_npy(test::source_dir() / "tests/fixtures/ssim_rgb_pairs.npy");
  const NpyArray values = read_npy(test::source_dir() / "tests/fixtures/ssim_rgb_values.npy");
  REQUIRE(pairs.shape.size() == 5);  // pairs, 2, height, width, 3
  REQUIRE(pairs.shape[4] == 3);
  const int h = static_cast<int>(pairs.shape[2]), w = static_cast<int>(pairs.shape[3]);
  const size_t image = static_cast<size_t>(w) * static_cast<size_t>(h) * 3;
  auto rgb = [&](int64_t k) {
    std::vector<uint8_t> v(image);
    for (size_t i = 0; i < image; ++i) v[i] = static_cast<uint8_t>(pairs.data[static_cast<size_t>(k) * image + i]);
    return v;
  };
  REQUIRE(values.data.size() == static_cast<size_t>(pairs.shape[0]));
  for (int64_t p = 0; p < pairs.shape[0]; ++p) {
    CAPTURE(p);
    const auto a = rgb(2 * p), b = rgb(2 * p + 1);
    CHECK(ssim_rgb_uniform(a, b, w, h) == doctest::Approx(values.data[static_cast<size_t>(p)]).epsilon(1e-6));  // read as float32
    CHECK(ssim_rgb_uniform(b, a, w, h) == doctest::Approx(ssim_rgb_uniform(a, b, w, h)).epsilon(1e-12));
  }
  CHECK(values.data[0] == 1.0);       // the identical pair
  CHECK(values.data[4] < 0.1);        // the unrelated one
  CHECK_THROWS_AS(ssim_rgb_uniform(rgb(0), rgb(1), w - 1, h), std::invalid_argument);
}

TEST_CASE("nearest-neighbour resizing equals PIL's NEAREST (Keras' load_img) on stored fixtures") {
  const NpyArray pairs = read_npy(test::source_dir() / "tests/fixtures/ssim_rgb_pairs.npy");
  const int h = static_cast<int>(pairs.shape[2]), w = static_cast<int>(pairs.shape[3]);
  const size_t image = static_cast<size_t>(w) * static_cast<size_t>(h) * 3;
  std::vector<uint8_t> input(image);  // pair 1, second image
  for (size_t i = 0; i < image; ++i) input[i] = static_cast<uint8_t>(pairs.data[3 * image + i]);
  for (const auto& [th, tw] : {std::pair{16, 20}, std::pair{80, 96}}) {
    CAPTURE(th);
    const NpyArray want = read_npy(test::source_dir() / ("tests/fixtures/rgb_nearest_" + std::to_string(th) + "x" + std::to_string(tw) + ".npy"));
    REQUIRE(want.shape == std::vector<int64_t>{th, tw, 3});
    const auto got = resize_rgb_nearest(input, w, h, tw, th);
    REQUIRE(got.size() == want.data.size());
    size_t differ = 0;
    for (size_t i = 0; i < got.size(); ++i) differ += got[i] != static_cast<uint8_t>(want.data[i]);
    CHECK(differ == 0);
  }
}

#include <doctest/doctest.h>

#include <fstream>

#include "io/npy.hpp"
#include "support.hpp"

using namespace hyper;

TEST_CASE("npy round trip keeps shape and values") {
  test::TempDir dir;
  const std::vector<float> v{1.5f, -2.f, 3.25f, 0.f, 1e-30f, -7.f};
  write_npy(dir / "a.npy", {2, 3}, v);
  const auto a = read_npy(dir / "a.npy");
  CHECK(a.shape == std::vector<int64_t>{2, 3});
  CHECK(a.data == v);
  write_npy(dir / "b.npy", {6}, v);
  CHECK(read_npy(dir / "b.npy").shape == std::vector<int64_t>{6});
}

TEST_CASE("npy errors name the file") {
  test::TempDir dir;
  std::ofstream(dir / "bad.npy") << "not numpy";
  CHECK_THROWS_WITH_AS(read_npy(dir / "bad.npy"), doctest::Contains("bad.npy: not a .npy file"), std::runtime_error);
  CHECK_THROWS_WITH_AS(read_npy(dir / "missing.npy"), doctest::Contains("missing.npy: cannot open"),
                       std::runtime_error);
}

// The twin's building blocks: rigid motion and resampling, the random generator, the HRF.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <vector>

#include "core/rigid.hpp"
#include "core/rng.hpp"
#include "core/hrf.hpp"

using namespace hyper;

namespace {
Volume ramp(std::array<int64_t, 3> dims, double voxel) {
  Volume v;
  v.dims = dims;
  v.voxel_mm = {voxel, voxel, voxel};
  v.affine = diagonal_affine(v.voxel_mm);
  v.data.resize(static_cast<size_t>(v.voxel_count()));
  for (int64_t k = 0; k < dims[2]; ++k)
    for (int64_t j = 0; j < dims[1]; ++j)
      for (int64_t i = 0; i < dims[0]; ++i)
        v.data[static_cast<size_t>(i + dims[0] * (j + dims[1] * k))] = static_cast<float>(i + 10 * j + 100 * k);
  return v;
}
}  // namespace

TEST_CASE("rigid matrices: identity, pure translation, rotation about z, inverse") {
  const Mat4 id = rigid_matrix({0, 0, 0, 0, 0, 0});
  for (int i = 0; i < 16; ++i) CHECK(id[static_cast<size_t>(i)] == (i % 5 == 0 ? 1.0 : 0.0));
  const Mat4 t = rigid_matrix({1, -2, 3, 0, 0, 0});
  CHECK(t[3] == 1);
  CHECK(t[7] == -2);
  CHECK(t[11] == 3);
  // SPM's Rz: [cos sin; -sin cos], so a point on +x goes to -y for a positive angle.
  const Mat4 rz = rigid_matrix({0, 0, 0, 0, 0, std::numbers::pi / 2});
  CHECK(rz[0] == doctest::Approx(0).epsilon(1e-12));
  CHECK(rz[4] == doctest::Approx(-1));
  const Mat4 m = rigid_matrix({1.5, -0.5, 2, 0.1, -0.2, 0.3});
  const Mat4 should_be_id = mat_mul(m, mat_inverse(m));
  for (int i = 0; i < 16; ++i) CHECK(should_be_id[static_cast<size_t>(i)] == doctest::Approx(i % 5 == 0 ? 1.0 : 0.0).epsilon(1e-12));
}

TEST_CASE("resampling: no motion copies, a whole-voxel shift moves the data by one voxel") {
  const Volume in = ramp({6, 5, 4}, 2.0);
  Volume out;
  resample_moved(in, {0, 0, 0, 0, 0, 0}, out);
  CHECK(out.data == in.data);
  resample_moved(in, {2.0, 0, 0, 0, 0, 0}, out, -1.0f);  // +2 mm in x = one voxel
  CHECK(out.at(0, 1, 1) == -1.0f);                         // came from outside the grid
  for (int64_t i = 1; i < 6; ++i) CHECK(out.at(i, 2, 3) == in.at(i - 1, 2, 3));
  resample_moved(in, {0, 1.0, 0, 0, 0, 0}, out);           // half a voxel in y: the mean of neighbours
  CHECK(out.at(3, 2, 1) == doctest::Approx(0.5 * (in.at(3, 1, 1) + in.at(3, 2, 1))));
}

TEST_CASE("trilinear sampling is exact for a linear field, up to the last plane, and refuses points outside") {
  // ramp() holds i + 10 j + 100 k: trilinear interpolation reproduces a linear function
  // exactly, so the value anywhere inside is x + 10 y + 100 z (the closed form).
  const Volume v = ramp({7, 5, 4}, 2.0);
  const GridSampler grid(v);
  Rng rng(11);
  for (int n = 0; n < 2000; ++n) {
    const double x = 6.0 * rng.uniform(), y = 4.0 * rng.uniform(), z = 3.0 * rng.uniform();
    REQUIRE(grid.inside(x, y, z));
    CHECK(grid.at_inside(x, y, z) == doctest::Approx(x + 10 * y + 100 * z).epsilon(1e-5));
  }
  // Exactly on the last planes (the upper corner clamped there) and on the grid's corners.
  CHECK(grid.at(6.0, 4.0, 3.0, -1.0f) == doctest::Approx(6 + 40 + 300));
  CHECK(grid.at(6.0, 2.5, 1.25, -1.0f) == doctest::Approx(6 + 25 + 125));
  CHECK(grid.at(0.0, 0.0, 0.0, -1.0f) == 0.0f);
  // Beyond any face, by however little, and not-a-number: the outside value.
  for (const auto& [x, y, z] : std::vector<std::array<double, 3>>{
           {-1e-9, 1, 1}, {1, -1e-9, 1}, {1, 1, -1e-9}, {6.0 + 1e-9, 1, 1}, {1, 4.0 + 1e-9, 1}, {1, 1, 3.0 + 1e-9}, {NAN, 1, 1}}) {
    CHECK_FALSE(grid.inside(x, y, z));
    CHECK(grid.at(x, y, z, -1.0f) == -1.0f);
  }
}

TEST_CASE("the random generator is deterministic, streams differ, normals are standard") {
  Rng a(7), b(7), c(7, 1);
  for (int i = 0; i < 100; ++i) CHECK(a.next() == b.next());
  CHECK(Rng(7).next() != c.next());
  Rng r(11);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    sum += x;
    sq += x * x;
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(std::abs(sq / n - 1.0) < 0.015);
  std::vector<int> v(50);
  std::iota(v.begin(), v.end(), 0);
  r.shuffle(v.begin(), v.end());
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 50; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);  // a permutation
}

TEST_CASE("the canonical HRF: closed form, peak near 5 s, undershoot, block peak normalised") {
  // gamma(6) pdf at t = 5: 5^5 e^-5 / 5! ; gamma(16) at 5: 5^15 e^-5 / 15!
  const double g6 = std::pow(5.0, 5) * std::exp(-5.0) / 120.0;
  const double g16 = std::pow(5.0, 15) * std::exp(-5.0) / 1307674368000.0;
  CHECK(canonical_hrf(5.0) == doctest::Approx(g6 - g16 / 6.0).epsilon(1e-12));
  CHECK(canonical_hrf(0.0) == 0.0);
  double best_t = 0, best = 0;
  for (double t = 0; t < 30; t += 0.01)
    if (canonical_hrf(t) > best) best = canonical_hrf(t), best_t = t;
  CHECK(best_t == doctest::Approx(4.97).epsilon(0.01));  // the familiar ~5 s peak
  CHECK(canonical_hrf(15.0) < 0);                       // undershoot
  const auto r = block_response(3.0, 1.5, 0.5, 60, 1.0 / block_peak(1.5));
  CHECK(r[6] == 0.0);  // at the onset nothing yet
  CHECK(*std::max_element(r.begin(), r.end()) == doctest::Approx(1.0).epsilon(0.01));
  // The peak's delay: where a finely sampled response is largest.
  const auto fine = block_response(0, 1.5, 0.05, 800, 1.0);
  CHECK(block_peak_delay(1.5) == doctest::Approx(0.05 * static_cast<double>(std::max_element(fine.begin(), fine.end()) - fine.begin())));
  CHECK(block_peak_delay(1.5) > 4.0);
  CHECK(block_peak_delay(1.5) < 7.0);
}

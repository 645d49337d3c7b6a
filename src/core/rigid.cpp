#include "core/rigid.hpp"

#include <algorithm>
#include <cmath>

namespace hyper {

Mat4 mat_mul(const Mat4& a, const Mat4& b) {
  Mat4 c{};
  for (int r = 0; r < 4; ++r)
    for (int k = 0; k < 4; ++k)
      for (int col = 0; col < 4; ++col) c[r * 4 + col] += a[r * 4 + k] * b[k * 4 + col];
  return c;
}

Mat4 mat_inverse(const Mat4& a) {
  // [A t; 0 1]^-1 = [A^-1, -A^-1 t; 0 1], A^-1 by the adjugate.
  const double a00 = a[0], a01 = a[1], a02 = a[2], a10 = a[4], a11 = a[5], a12 = a[6], a20 = a[8], a21 = a[9],
               a22 = a[10];
  const double c00 = a11 * a22 - a12 * a21, c01 = a02 * a21 - a01 * a22, c02 = a01 * a12 - a02 * a11;
  const double c10 = a12 * a20 - a10 * a22, c11 = a00 * a22 - a02 * a20, c12 = a02 * a10 - a00 * a12;
  const double c20 = a10 * a21 - a11 * a20, c21 = a01 * a20 - a00 * a21, c22 = a00 * a11 - a01 * a10;
  const double det = a00 * c00 + a01 * c10 + a02 * c20;
  const double inv[9] = {c00 / det, c01 / det, c02 / det, c10 / det, c11 / det, c12 / det,
                         c20 / det, c21 / det, c22 / det};
  Mat4 out{};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) out[r * 4 + c] = inv[r * 3 + c];
    out[r * 4 + 3] = -(inv[r * 3] * a[3] + inv[r * 3 + 1] * a[7] + inv[r * 3 + 2] * a[11]);
  }
  out[15] = 1;
  return out;
}

Mat4 rigid_matrix(const Motion& m) {
  const double cx = std::cos(m[3]), sx = std::sin(m[3]);
  const double cy = std::cos(m[4]), sy = std::sin(m[4]);
  const double cz = std::cos(m[5]), sz = std::sin(m[5]);
  const Mat4 t{1, 0, 0, m[0], 0, 1, 0, m[1], 0, 0, 1, m[2], 0, 0, 0, 1};
  const Mat4 rx{1, 0, 0, 0, 0, cx, sx, 0, 0, -sx, cx, 0, 0, 0, 0, 1};
  const Mat4 ry{cy, 0, sy, 0, 0, 1, 0, 0, -sy, 0, cy, 0, 0, 0, 0, 1};
  const Mat4 rz{cz, sz, 0, 0, -sz, cz, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  return mat_mul(t, mat_mul(rx, mat_mul(ry, rz)));
}

void resample_moved(const Volume& in, const Motion& m, Volume& out, float outside) {
  resample_world(in, mat_inverse(rigid_matrix(m)), out, outside);
}

void resample_realigned(const Volume& in, const Motion& m, Volume& out, float outside, WorkPool* pool) {
  resample_world(in, rigid_matrix(m), out, outside, pool);
}

double framewise_displacement(const Motion& a, const Motion& b, double radius_mm) {
  double fd = 0;
  for (size_t i = 0; i < 6; ++i) fd += std::abs(b[i] - a[i]) * (i < 3 ? 1.0 : radius_mm);
  return fd;
}

namespace {

// Output voxel -> world -> through w -> input voxel: one affine map.
Mat4 voxel_map(const Volume& in, const Mat4& w) { return mat_mul(mat_inverse(in.affine), mat_mul(w, in.affine)); }

// Voxels i0..i1-1 of row j, plane k, through `map`: the one expression both resamplings use,
// so that a voxel gets the same bits either way.
void resample_row(const GridSampler& grid, const Mat4& map, int64_t j, int64_t k, int64_t i0, int64_t i1, float* dst, float outside) {
  const auto y = static_cast<double>(j), z = static_cast<double>(k);
  // Along a row only i changes: the point is base + i * (map[0], map[4], map[8]).
  const double bx = map[1] * y + map[2] * z + map[3], by = map[5] * y + map[6] * z + map[7], bz = map[9] * y + map[10] * z + map[11];
  for (int64_t i = i0; i < i1; ++i) {
    const auto x = static_cast<double>(i);
    *dst++ = grid.at(map[0] * x + bx, map[4] * x + by, map[8] * x + bz, outside);
  }
}

}  // namespace

void resample_world(const Volume& in, const Mat4& w, Volume& out, float outside, WorkPool* pool) {
  out.dims = in.dims;
  out.voxel_mm = in.voxel_mm;
  out.affine = in.affine;
  out.data.resize(static_cast<size_t>(in.voxel_count()));
  const Mat4 map = voxel_map(in, w);
  const GridSampler grid(in);
  const int64_t nx = in.dims[0], ny = in.dims[1], nz = in.dims[2];
  WorkPool& p = pool ? *pool : WorkPool::of_this_thread(1);
  const int64_t chunks = p.map_chunks();
  p.run(chunks, [&](int64_t c) {
    const auto [k0, k1] = chunk_range(nz, chunks, c);
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t j = 0; j < ny; ++j) resample_row(grid, map, j, k, 0, nx, out.data.data() + (k * ny + j) * nx, outside);
  });
}

std::vector<VoxelRow> voxel_rows(const std::vector<uint8_t>& flags, const std::array<int64_t, 3>& dims) {
  std::vector<VoxelRow> rows;
  const int64_t nx = dims[0], ny = dims[1], nz = dims[2];
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t j = 0; j < ny; ++j) {
      const uint8_t* f = flags.data() + (k * ny + j) * nx;
      for (int64_t i = 0; i < nx;) {
        if (!f[i]) {
          ++i;
          continue;
        }
        const int64_t i0 = i;
        while (i < nx && f[i]) ++i;
        rows.push_back({j, k, i0, i, rows.empty() ? 0 : rows.back().at + rows.back().i1 - rows.back().i0});
      }
    }
  return rows;
}

void resample_realigned_rows(Volume& v, const Motion& m, const std::vector<VoxelRow>& rows, std::vector<float>& scratch,
                             float outside, WorkPool* pool) {
  const Mat4 map = voxel_map(v, rigid_matrix(m));
  const GridSampler grid(v);
  WorkPool& p = pool ? *pool : WorkPool::of_this_thread(1);
  const int64_t chunks = p.map_chunks(), nx = v.dims[0], ny = v.dims[1];
  scratch.resize(rows.empty() ? 0 : static_cast<size_t>(rows.back().at + rows.back().i1 - rows.back().i0));
  p.run(chunks, [&](int64_t c) {  // each chunk a share of the rows
    const auto [r0, r1] = chunk_range(static_cast<int64_t>(rows.size()), chunks, c);
    for (auto r = static_cast<size_t>(r0); r < static_cast<size_t>(r1); ++r)
      resample_row(grid, map, rows[r].j, rows[r].k, rows[r].i0, rows[r].i1, scratch.data() + rows[r].at, outside);
  });
  // Written back only now: every row was read from v as it came in.
  for (const VoxelRow& row : rows)
    std::copy(scratch.data() + row.at, scratch.data() + row.at + (row.i1 - row.i0), v.data.data() + (row.k * ny + row.j) * nx + row.i0);
}
}  // namespace hyper

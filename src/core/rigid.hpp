#pragma once
// Rigid-body head motion: six parameters, their 4x4 matrix and trilinear resampling of a
// volume under it. Shared by the digital twin (which applies motion) and realignment
// (which estimates it), so both use one convention.
//
// Convention (as SPM's rp_*.txt): translations tx, ty, tz in mm, then rotations rx, ry, rz
// in radians about the world x, y and z axes through the world origin;
//   M = T(tx, ty, tz) * Rx(rx) * Ry(ry) * Rz(rz),
// and a point of the head at world position p (in the reference volume) is at M p.
// Thread-safe (pure functions).

#include <array>
#include <cstdint>
#include <vector>

#include "core/work_pool.hpp"
#include "hyper/volume.hpp"

namespace hyper {

using Motion = std::array<double, 6>;   // tx, ty, tz (mm), rx, ry, rz (rad)
using Mat4 = std::array<double, 16>;    // row-major

Mat4 rigid_matrix(const Motion& m);
Mat4 mat_mul(const Mat4& a, const Mat4& b);
Mat4 mat_inverse(const Mat4& a);  // general 4x4 affine inverse (last row 0 0 0 1)

// Trilinear sampling of one grid at voxel coordinates, inline because it is the inner loop
// of realignment and resampling (called per voxel, 10^5-10^6 times per volume). Coordinates
// stay double (so an identity map lands exactly on voxel centres); the weights and values
// are float. Truncation stands in for floor, which is the same for the non-negative
// coordinates it is used on and avoids a libm call on baseline x86-64.
class GridSampler {
 public:
  explicit GridSampler(const Volume& v)
      : data_(v.data.data()), nx_(v.dims[0]), ny_(v.dims[1]), nz_(v.dims[2]), xmax_(static_cast<double>(nx_ - 1)),
        ymax_(static_cast<double>(ny_ - 1)), zmax_(static_cast<double>(nz_ - 1)) {}

  bool inside(double x, double y, double z) const {
    return x >= 0 && y >= 0 && z >= 0 && x <= xmax_ && y <= ymax_ && z <= zmax_;
  }
  // The value at a point for which inside() holds.
  float at_inside(double x, double y, double z) const {
    const auto x0 = static_cast<int64_t>(x), y0 = static_cast<int64_t>(y), z0 = static_cast<int64_t>(z);
    const auto dx = static_cast<float>(x - static_cast<double>(x0)), dy = static_cast<float>(y - static_cast<double>(y0)),
               dz = static_cast<float>(z - static_cast<double>(z0));
    // The upper corner is clamped at the last plane (a point exactly on it has weight 0 there).
    const int64_t sx = x0 + 1 < nx_ ? 1 : 0, sy = y0 + 1 < ny_ ? nx_ : 0, sz = z0 + 1 < nz_ ? nx_ * ny_ : 0;
    const float* p = data_ + x0 + nx_ * (y0 + ny_ * z0);
    const float c00 = p[0] + dx * (p[sx] - p[0]), c10 = p[sy] + dx * (p[sy + sx] - p[sy]);
    const float c01 = p[sz] + dx * (p[sz + sx] - p[sz]), c11 = p[sz + sy] + dx * (p[sz + sy + sx] - p[sz + sy]);
    const float c0 = c00 + dy * (c10 - c00), c1 = c01 + dy * (c11 - c01);
    return c0 + dz * (c1 - c0);
  }
  float at(double x, double y, double z, float outside) const { return inside(x, y, z) ? at_inside(x, y, z) : outside; }

 private:
  const float* data_;
  int64_t nx_, ny_, nz_;
  double xmax_, ymax_, zmax_;
};

// out(x) = in(W x) for every voxel centre x (world mm through the volume's affine),
// trilinear, `outside` beyond the grid. `out` gets the geometry of `in`. A pool shares the
// planes among its threads (the same values whichever thread computes them).
void resample_world(const Volume& in, const Mat4& w, Volume& out, float outside = 0.0f, WorkPool* pool = nullptr);

// The volume seen after the head moved by `m`: out(x) = in(M^-1 x) (the twin's motion).
void resample_moved(const Volume& in, const Motion& m, Volume& out, float outside = 0.0f);

// The volume moved back onto its reference: out(y) = in(M y) (realignment's output).
void resample_realigned(const Volume& in, const Motion& m, Volume& out, float outside = 0.0f, WorkPool* pool = nullptr);

// A stretch of one row of a grid: voxels i0..i1-1 of row j in plane k; `at`: where its
// values start in a list of all the stretches' values.
struct VoxelRow {
  int64_t j = 0, k = 0, i0 = 0, i1 = 0, at = 0;
};

// The rows (maximal stretches) of the flagged voxels, in memory order.
std::vector<VoxelRow> voxel_rows(const std::vector<uint8_t>& flags, const std::array<int64_t, 3>& dims);

// resample_realigned at the voxels of `rows` only, each the same bits as there, written
// in place into `v` (its other voxels keep their values). A pool shares the rows.
void resample_realigned_rows(Volume& v, const Motion& m, const std::vector<VoxelRow>& rows, std::vector<float>& scratch,
                             float outside = 0.0f, WorkPool* pool = nullptr);

// Framewise displacement (Power et al. 2012): the sum of absolute changes of the six
// parameters, rotations as arc length on a sphere of `radius_mm` (50).
double framewise_displacement(const Motion& previous, const Motion& current, double radius_mm = 50.0);

}  // namespace hyper

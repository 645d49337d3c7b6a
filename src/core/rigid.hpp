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

#include "hyper/volume.hpp"

namespace hyper {

using Motion = std::array<double, 6>;   // tx, ty, tz (mm), rx, ry, rz (rad)
using Mat4 = std::array<double, 16>;    // row-major

Mat4 rigid_matrix(const Motion& m);
Mat4 mat_mul(const Mat4& a, const Mat4& b);
Mat4 mat_inverse(const Mat4& a);  // general 4x4 affine inverse (last row 0 0 0 1)

// The trilinear value of `v` at voxel coordinates (x, y, z); `inside` tells whether the
// point lies within the grid (the value is `outside` when it does not).
float trilinear(const Volume& v, double x, double y, double z, float outside, bool* inside = nullptr);

// out(x) = in(W x) for every voxel centre x (world mm through the volume's affine),
// trilinear, `outside` beyond the grid. `out` gets the geometry of `in`.
void resample_world(const Volume& in, const Mat4& w, Volume& out, float outside = 0.0f);

// The volume seen after the head moved by `m`: out(x) = in(M^-1 x) (the twin's motion).
void resample_moved(const Volume& in, const Motion& m, Volume& out, float outside = 0.0f);

// The volume moved back onto its reference: out(y) = in(M y) (realignment's output).
void resample_realigned(const Volume& in, const Motion& m, Volume& out, float outside = 0.0f);

// Framewise displacement (Power et al. 2012): the sum of absolute changes of the six
// parameters, rotations as arc length on a sphere of `radius_mm` (50).
double framewise_displacement(const Motion& previous, const Motion& current, double radius_mm = 50.0);

}  // namespace hyper

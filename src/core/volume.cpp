#include "hyper/volume.hpp"

namespace hyper {

std::array<double, 16> diagonal_affine(const std::array<double, 3>& voxel_mm) {
  return {voxel_mm[0], 0, 0, 0,  0, voxel_mm[1], 0, 0,  0, 0, voxel_mm[2], 0,  0, 0, 0, 1};
}

}  // namespace hyper

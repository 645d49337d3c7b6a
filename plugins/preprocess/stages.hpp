#pragma once
// What HYPER-RT's own preprocessing stages share; plugins/preprocess/list.cpp registers them.

#include <span>
#include <string>
#include <vector>

#include "hyper/registry.hpp"

namespace hyper {

// For stages with a NIfTI file parameter (a mask, a reference): throws
// std::invalid_argument "<param>: why" when the file cannot be read or its grid is not the
// volumes' grid (not checked while the grid is unknown, dims 0).
void check_grid_file(const std::string& param, const std::string& path, const Spec& in);

// The values a stage works on: the feature vector after a mask, else the grid's voxels.
inline std::span<float> stage_values(Tr& tr, bool features) {
  return features ? std::span<float>(tr.features) : std::span<float>(tr.volume.data);
}

}  // namespace hyper

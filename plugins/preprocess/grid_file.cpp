#include <stdexcept>

#include "io/nifti.hpp"
#include "preprocess/stages.hpp"

namespace hyper {

void check_grid_file(const std::string& param, const std::string& path, const Spec& in) {
  if (in.dims[0] <= 0) return;
  NiftiInfo info;
  try {
    info = read_nifti_info(path);
  } catch (const std::exception& e) {
    throw std::invalid_argument(param + ": " + e.what());
  }
  auto grid = [](int64_t x, int64_t y, int64_t z) {
    return std::to_string(x) + "x" + std::to_string(y) + "x" + std::to_string(z);
  };
  if (info.dims[0] != in.dims[0] || info.dims[1] != in.dims[1] || info.dims[2] != in.dims[2])
    throw std::invalid_argument(param + ": " + path + " is " + grid(info.dims[0], info.dims[1], info.dims[2]) +
                                " but the volumes are " + grid(in.dims[0], in.dims[1], in.dims[2]));
}

}  // namespace hyper

#pragma once
// NumPy .npy files (format 1.0/2.0, C order, little endian): the format of latents and of
// recorded outputs, readable by numpy as is.

#include <cstdint>
#include <filesystem>
#include <vector>

namespace hyper {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // C order
};

// Reads float32 or float64 (converted) arrays; throws naming the file and the problem.
NpyArray read_npy(const std::filesystem::path& path);
// Writes a float32 array in C order. `data.size()` must equal the product of `shape`.
void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& shape,
               const std::vector<float>& data);
// Writes an int64 array (indices) in C order.
void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& shape,
               const std::vector<int64_t>& data);

}  // namespace hyper

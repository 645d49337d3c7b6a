#pragma once
// The safetensors layout (8-byte little-endian header length, a JSON header with each
// tensor's dtype, shape and data offsets plus a "__metadata__" map of strings, then the
// raw data): weights and decoders, readable by numpy and PyTorch users in a few lines, no
// code run on load. Written files also carry a CRC-32 of the data in the metadata
// ("hyper.crc32"), checked on read.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace hyper {

struct Tensor {
  std::string dtype;             // "F32" or "I64"
  std::vector<int64_t> shape;
  std::vector<std::byte> data;   // little-endian, C order
};

struct TensorFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

Tensor tensor_f32(std::vector<int64_t> shape, const float* data);
Tensor tensor_i64(std::vector<int64_t> shape, const int64_t* data);
std::vector<float> as_f32(const Tensor& t);     // throws unless dtype F32
std::vector<int64_t> as_i64(const Tensor& t);   // throws unless dtype I64

// Throws std::runtime_error naming the file (and the tensor or field) on any inconsistency.
void write_safetensors(const std::filesystem::path& path, const TensorFile& file);
TensorFile read_safetensors(const std::filesystem::path& path);

}  // namespace hyper

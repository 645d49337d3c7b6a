#include "io/safetensors.hpp"

#include <cstring>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/crc32.hpp"
#include "io/files.hpp"

namespace hyper {

namespace {

size_t element_size(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "I64") return 8;
  return 0;
}

[[noreturn]] void fail(const std::filesystem::path& p, const std::string& why) {
  throw std::runtime_error(p.string() + ": " + why);
}

int64_t count(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

}  // namespace

Tensor tensor_f32(std::vector<int64_t> shape, const float* data) {
  Tensor t{"F32", std::move(shape), {}};
  t.data.resize(static_cast<size_t>(count(t.shape)) * 4);
  std::memcpy(t.data.data(), data, t.data.size());
  return t;
}

Tensor tensor_i64(std::vector<int64_t> shape, const int64_t* data) {
  Tensor t{"I64", std::move(shape), {}};
  t.data.resize(static_cast<size_t>(count(t.shape)) * 8);
  std::memcpy(t.data.data(), data, t.data.size());
  return t;
}

std::vector<float> as_f32(const Tensor& t) {
  if (t.dtype != "F32") throw std::runtime_error("tensor is " + t.dtype + ", not F32");
  std::vector<float> v(t.data.size() / 4);
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

std::vector<int64_t> as_i64(const Tensor& t) {
  if (t.dtype != "I64") throw std::runtime_error("tensor is " + t.dtype + ", not I64");
  std::vector<int64_t> v(t.data.size() / 8);
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

void write_safetensors(const std::filesystem::path& path, const TensorFile& file) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t] : file.tensors) {  // std::map: sorted names, a stable layout
    if (!element_size(t.dtype) || t.data.size() != static_cast<size_t>(count(t.shape)) * element_size(t.dtype))
      fail(path, "tensor '" + name + "' has a size that does not match its dtype and shape");
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.data.size()}}};
    data.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
  }
  nlohmann::json meta = file.metadata;
  meta["hyper.crc32"] = std::to_string(crc32({reinterpret_cast<const std::byte*>(data.data()), data.size()}));
  header["__metadata__"] = meta;
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  std::string out(8, '\0');
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  write_file_atomic(path, out + h + data);
}

TensorFile read_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) fail(path, "too short for a safetensors file");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  if (n > bytes.size() - 8 || n > (100u << 20)) fail(path, "header length " + std::to_string(n) + " does not fit the file");
  nlohmann::json header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n), nullptr, false);
  if (header.is_discarded() || !header.is_object()) fail(path, "header is not a JSON object");
  const std::string_view data(bytes.data() + 8 + n, bytes.size() - 8 - n);
  TensorFile f;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path, "__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) fail(path, "metadata '" + k + "' is not a string");
        f.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    try {
      Tensor t;
      t.dtype = entry.at("dtype").get<std::string>();
      t.shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto off = entry.at("data_offsets").get<std::vector<uint64_t>>();
      if (!element_size(t.dtype)) fail(path, "tensor '" + name + "' has unsupported dtype " + t.dtype);
      for (int64_t d : t.shape)
        if (d < 0) fail(path, "tensor '" + name + "' has a negative dimension");
      if (off.size() != 2 || off[0] > off[1] || off[1] > data.size() ||
          off[1] - off[0] != static_cast<uint64_t>(count(t.shape)) * element_size(t.dtype))
        fail(path, "tensor '" + name + "' has data offsets that do not match its shape or the file");
      t.data.resize(off[1] - off[0]);
      std::memcpy(t.data.data(), data.data() + off[0], t.data.size());
      f.tensors[name] = std::move(t);
    } catch (const nlohmann::json::exception&) {
      fail(path, "tensor '" + name + "' lacks dtype, shape or data_offsets");
    }
  }
  if (auto it = f.metadata.find("hyper.crc32"); it != f.metadata.end()) {
    const auto got = std::to_string(crc32({reinterpret_cast<const std::byte*>(data.data()), data.size()}));
    if (got != it->second) fail(path, "the data is corrupted (CRC-32 " + got + ", the header says " + it->second + ")");
  }
  return f;
}

}  // namespace hyper

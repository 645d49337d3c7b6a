#include "io/npy.hpp"

#include <bit>
#include <cstring>
#include <fstream>
#include <functional>
#include <numeric>
#include <regex>
#include <stdexcept>
#include <string>

#include <spdlog/fmt/fmt.h>

namespace hyper {

namespace {
[[noreturn]] void fail(const std::filesystem::path& p, const std::string& why) {
  throw std::runtime_error(p.string() + ": " + why);
}

int64_t product(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}
}  // namespace

NpyArray read_npy(const std::filesystem::path& path) {
  static_assert(std::endian::native == std::endian::little, "npy reader assumes little endian");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) fail(path, "not a .npy file");
  uint32_t header_len = 0;
  if (magic[6] == 1) {
    uint16_t n;
    in.read(reinterpret_cast<char*>(&n), 2);
    header_len = n;
  } else {
    in.read(reinterpret_cast<char*>(&header_len), 4);
  }
  if (!in || header_len > (1u << 20)) fail(path, "bad .npy header length");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) fail(path, "truncated .npy header");

  // Compiled once: building a std::regex costs more than reading a small file.
  static const std::regex descr_re(R"('descr'\s*:\s*'([^']*)')"), fortran_re(R"('fortran_order'\s*:\s*True)"),
      shape_re(R"('shape'\s*:\s*\(([^)]*)\))"), number(R"(\d+)");
  std::smatch m;
  if (!std::regex_search(header, m, descr_re))
    fail(path, "no dtype in header");
  const std::string descr = m[1];
  if (descr != "<f4" && descr != "<f8")
    fail(path, "dtype " + descr + " not supported (float32 or float64)");
  if (std::regex_search(header, fortran_re))
    fail(path, "Fortran-ordered arrays are not supported (save with numpy's default C order)");
  if (!std::regex_search(header, m, shape_re))
    fail(path, "no shape in header");
  NpyArray a;
  const std::string dims = m[1];
  // The size the header claims is checked against the file before anything is allocated
  // (a damaged header must not ask for gigabytes: found by tools/fuzz).
  uint64_t n = 1;
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    if (it->str().size() > 12) fail(path, "a dimension of " + it->str() + " in the header");
    a.shape.push_back(std::stoll(it->str()));
    n *= static_cast<uint64_t>(a.shape.back());
    if (n > (uint64_t{1} << 40)) fail(path, "the header's shape is too large");
  }
  const std::streamoff data_at = in.tellg();
  in.seekg(0, std::ios::end);
  const auto available = static_cast<uint64_t>(in.tellg() - data_at);
  in.seekg(data_at);
  if (n * (descr == "<f4" ? 4 : 8) > available)
    fail(path, fmt::format("truncated data: the header's shape needs {} values, the file holds {} bytes of data", n, available));
  a.data.resize(n);
  if (descr == "<f4") {
    if (!in.read(reinterpret_cast<char*>(a.data.data()), static_cast<std::streamsize>(n * 4)))
      fail(path, "truncated data");
  } else {
    std::vector<double> d(n);
    if (!in.read(reinterpret_cast<char*>(d.data()), static_cast<std::streamsize>(n * 8)))
      fail(path, "truncated data");
    for (size_t i = 0; i < n; ++i) a.data[i] = static_cast<float>(d[i]);
  }
  return a;
}

namespace {
template <typename T>
void write_typed(const std::filesystem::path& path, const std::vector<int64_t>& shape, const std::vector<T>& data,
                 const char* descr) {
  if (static_cast<size_t>(product(shape)) != data.size())
    fail(path, "write_npy: data size does not match the shape");
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ",";
  if (shape.size() > 1) dims.pop_back();  // (n,) keeps its comma, (a,b) does not
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad so that magic + length + header + '\n' is a multiple of 64 (the format's rule).
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, "cannot write");
  const auto len = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(reinterpret_cast<const char*>(&len), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(T)));
  if (!out) fail(path, "write failed");
}
}  // namespace

void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& shape, const std::vector<float>& data) {
  write_typed(path, shape, data, "<f4");
}

void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& shape,
               const std::vector<int64_t>& data) {
  write_typed(path, shape, data, "<i8");
}

}  // namespace hyper

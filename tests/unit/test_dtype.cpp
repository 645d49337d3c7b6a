#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "core/dtype.hpp"

using namespace hyper;

namespace {
template <typename T>
std::vector<std::byte> bytes_of(const std::vector<T>& v, bool swap) {
  std::vector<std::byte> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  if (swap)
    for (size_t i = 0; i < v.size(); ++i)
      for (size_t k = 0; k < sizeof(T) / 2; ++k) std::swap(out[i * sizeof(T) + k], out[i * sizeof(T) + sizeof(T) - 1 - k]);
  return out;
}
}  // namespace

TEST_CASE("dtype names, sizes and parsing agree") {
  for (DType t : {DType::Int16, DType::UInt16, DType::Int32, DType::Float32, DType::Float64}) {
    CHECK(parse_dtype(dtype_name(t)) == t);
  }
  CHECK(dtype_size(DType::Int16) == 2);
  CHECK(dtype_size(DType::UInt16) == 2);
  CHECK(dtype_size(DType::Int32) == 4);
  CHECK(dtype_size(DType::Float32) == 4);
  CHECK(dtype_size(DType::Float64) == 8);
  CHECK_FALSE(parse_dtype("uint8").has_value());
  CHECK_FALSE(parse_dtype("Int16").has_value());
}

TEST_CASE("conversion reads the other byte order and applies the scaling in double") {
  const std::vector<int16_t> v{-32768, -1, 0, 1, 32767, 1234};
  const std::array<int64_t, 3> dims{6, 1, 1};
  const bool big_native = native_byte_order() == ByteOrder::Big;
  std::vector<float> little(6), big(6);
  convert_to_float(bytes_of(v, big_native), DType::Int16, ByteOrder::Little, MemoryOrder::Fortran, dims, 0.1, 5.0,
                   little.data());
  convert_to_float(bytes_of(v, !big_native), DType::Int16, ByteOrder::Big, MemoryOrder::Fortran, dims, 0.1, 5.0,
                   big.data());
  for (size_t i = 0; i < v.size(); ++i) {
    CHECK(little[i] == static_cast<float>(static_cast<double>(v[i]) * 0.1 + 5.0));
    CHECK(big[i] == little[i]);
  }
}

TEST_CASE("uint16 above 32767 and float64 digits convert as documented") {
  const std::array<int64_t, 3> dims{3, 1, 1};
  std::vector<float> out(3);
  convert_to_float(bytes_of(std::vector<uint16_t>{0, 40000, 65535}, false), DType::UInt16, native_byte_order(),
                   MemoryOrder::Fortran, dims, 1, 0, out.data());
  CHECK(out == std::vector<float>{0.f, 40000.f, 65535.f});
  const std::vector<double> d{0.1, 1e10 + 0.5, -3.14159265358979};
  convert_to_float(bytes_of(d, false), DType::Float64, native_byte_order(), MemoryOrder::Fortran, dims, 1, 0,
                   out.data());
  for (size_t i = 0; i < 3; ++i) CHECK(out[i] == static_cast<float>(d[i]));
}

TEST_CASE("C order is transposed into NIfTI order") {
  // dims 2x3x4; in C order z varies fastest. Value encodes its (x, y, z).
  const std::array<int64_t, 3> dims{2, 3, 4};
  std::vector<int32_t> c_order;
  for (int x = 0; x < 2; ++x)
    for (int y = 0; y < 3; ++y)
      for (int z = 0; z < 4; ++z) c_order.push_back(100 * x + 10 * y + z);
  std::vector<float> out(24);
  convert_to_float(bytes_of(c_order, false), DType::Int32, native_byte_order(), MemoryOrder::C, dims, 1, 0,
                   out.data());
  for (int x = 0; x < 2; ++x)
    for (int y = 0; y < 3; ++y)
      for (int z = 0; z < 4; ++z) CHECK(out[static_cast<size_t>(x + 2 * (y + 3 * z))] == 100 * x + 10 * y + z);
}

TEST_CASE("a payload of the wrong size is refused") {
  std::vector<std::byte> raw(10);
  std::vector<float> out(4);
  CHECK_THROWS_AS(convert_to_float(raw, DType::Int16, ByteOrder::Little, MemoryOrder::Fortran, {2, 2, 1}, 1, 0,
                                   out.data()),
                  std::invalid_argument);
}

// The entry check against a plain per-value reference, at every position of an odd-length
// vector (the vectorised pass and its scalar tail), and at the limit itself.
TEST_CASE("check_values finds a NaN, an infinity or a value beyond the limit wherever it is") {
  const float limit = 1000.0f, inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v(37);
  for (size_t i = 0; i < v.size(); ++i) v[i] = (i % 2 ? -1.0f : 1.0f) * 10.0f * static_cast<float>(i);
  CHECK(check_values(v, limit) == ValueCheck::Ok);
  CHECK(check_values({}, limit) == ValueCheck::Ok);
  for (size_t at = 0; at < v.size(); ++at) {
    CAPTURE(at);
    std::vector<float> w = v;
    for (const float bad : {nan, inf, -inf}) {
      w[at] = bad;
      CHECK(check_values(w, limit) == ValueCheck::NonFinite);
    }
    for (const float edge : {limit, -limit}) {
      w[at] = edge;
      CHECK(check_values(w, limit) == ValueCheck::Ok);
    }
    w[at] = std::nextafter(limit, inf);
    CHECK(check_values(w, limit) == ValueCheck::OutOfRange);
    w[at] = -2 * limit;
    CHECK(check_values(w, limit) == ValueCheck::OutOfRange);
    w[(at + 5) % w.size()] = nan;  // both: the non-finite value is named, as before
    CHECK(check_values(w, limit) == ValueCheck::NonFinite);
  }
}

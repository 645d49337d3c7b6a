#include "sources/pyneal_message.hpp"

#include <cmath>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "core/dtype.hpp"

namespace hyper {

std::variant<PynealVolume, std::string> decode_pyneal(std::string_view header, std::span<const std::byte> payload) {
  const nlohmann::json h = nlohmann::json::parse(header, nullptr, false);
  if (h.is_discarded() || !h.is_object()) return std::string("bad_json: the header is not a JSON object");
  for (const char* key : {"volIdx", "dtype", "shape", "affine"})
    if (!h.contains(key)) return fmt::format("field_missing: {}", key);
  PynealVolume v;
  if (!h["volIdx"].is_number_integer() || h["volIdx"].get<int64_t>() < 0) return std::string("field_type: volIdx is not an index");
  v.index = h["volIdx"].get<int64_t>();
  if (!h["dtype"].is_string()) return std::string("field_type: dtype is not a string");
  const auto dtype = parse_dtype(h["dtype"].get<std::string>());
  if (!dtype) return fmt::format("dtype: '{}' (known: {})", h["dtype"].get<std::string>(), supported_dtypes());
  const auto& shape = h["shape"];
  if (!shape.is_array() || shape.size() != 3) return std::string("field_type: shape is not [x, y, z]");
  for (size_t i = 0; i < 3; ++i) {
    if (!shape[i].is_number_integer() || shape[i].get<int64_t>() < 1 || shape[i].get<int64_t>() > 4096)
      return std::string("field_range: shape");
    v.volume.dims[i] = shape[i].get<int64_t>();
  }
  const uint64_t expected = static_cast<uint64_t>(v.volume.voxel_count()) * dtype_size(*dtype);
  if (payload.size() != expected)
    return fmt::format("size: {} bytes of voxels, the header's shape and dtype make {}", payload.size(), expected);
  // The affine: a JSON string holding a 4x4 list (json.dumps(affine.tolist())); a plain list is taken too.
  nlohmann::json a = h["affine"];
  if (a.is_string()) a = nlohmann::json::parse(a.get<std::string>(), nullptr, false);
  if (!a.is_array() || a.size() != 4) return std::string("field_type: affine is not a 4x4 list");
  for (size_t r = 0; r < 4; ++r) {
    if (!a[r].is_array() || a[r].size() != 4) return std::string("field_type: affine is not a 4x4 list");
    for (size_t c = 0; c < 4; ++c) {
      if (!a[r][c].is_number() || !std::isfinite(a[r][c].get<double>())) return std::string("field_type: affine holds a non-number");
      v.volume.affine[r * 4 + c] = a[r][c].get<double>();
    }
  }
  for (size_t c = 0; c < 3; ++c)
    v.volume.voxel_mm[c] = std::hypot(v.volume.affine[c], v.volume.affine[4 + c], v.volume.affine[8 + c]);
  if (h.contains("TR")) v.tr = h["TR"].is_string() ? h["TR"].get<std::string>() : h["TR"].dump();
  v.volume.data.resize(static_cast<size_t>(v.volume.voxel_count()));
  convert_to_float(payload, *dtype, ByteOrder::Little, MemoryOrder::C, v.volume.dims, 1.0, 0.0, v.volume.data.data());
  return v;
}

double pyneal_tr_seconds(const std::string& tr, double expected_s) {
  char* end = nullptr;
  const double x = std::strtod(tr.c_str(), &end);
  if (end == tr.c_str() || !std::isfinite(x) || x <= 0) return 0;
  // Whichever reading is nearer the TR we expect.
  return std::fabs(std::log(x / expected_s)) <= std::fabs(std::log(x / 1000.0 / expected_s)) ? x : x / 1000.0;
}

}  // namespace hyper

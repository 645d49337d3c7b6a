#pragma once
// Voxel data types, byte and memory orders, and the one conversion of raw voxels to float32
// that the NIfTI reader and the hyper/1 decoder share.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace hyper {

enum class DType : uint8_t { Int16, UInt16, Int32, Float32, Float64 };
enum class ByteOrder : uint8_t { Little, Big };
// Fortran: x fastest (NIfTI's order). C: the last axis (z) fastest (numpy's default).
enum class MemoryOrder : uint8_t { Fortran, C };

std::string_view dtype_name(DType t);            // "int16", ...
std::optional<DType> parse_dtype(std::string_view name);
size_t dtype_size(DType t);
std::string_view supported_dtypes();            // "int16, uint16, int32, float32, float64"

ByteOrder native_byte_order();

// Converts dims[0]*dims[1]*dims[2] raw voxels to float32 in Fortran order:
// out = float(double(raw) * slope + inter). `raw` must hold exactly that many voxels.
// Computing in double then rounding once matches nibabel's get_fdata() cast to float32.
void convert_to_float(std::span<const std::byte> raw, DType type, ByteOrder order,
                      MemoryOrder memory, const std::array<int64_t, 3>& dims, double slope,
                      double inter, float* out);

// Whether every value is finite and within +-limit (the Session's entry check of each
// volume). Here, in a file built with -O3, because its first pass is one GCC vectorises.
enum class ValueCheck { Ok, NonFinite, OutOfRange };
ValueCheck check_values(std::span<const float> values, float limit);

}  // namespace hyper

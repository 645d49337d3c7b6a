#pragma once
// One volume message of Pyneal Scanner's wire protocol (jeffmacinnes/pyneal v1.0.3; README,
// "At the scanner"), checked and converted: frame 1 a JSON header {"volIdx", "dtype",
// "shape": [x, y, z], "affine": "<4x4 row-major list as a JSON string>", "TR": "<string>"},
// frame 2 the voxels of a C-contiguous little-endian numpy array of that shape and dtype.

#include <span>
#include <string>
#include <variant>

#include "hyper/volume.hpp"

namespace hyper {

struct PynealVolume {
  int64_t index = 0;  // volIdx, 0-based
  Volume volume;      // float32 in NIfTI (Fortran) order, the affine from the header
  std::string tr;     // the header's TR as sent (seconds or milliseconds, depending on the sender)
};

// The volume, or why the message is refused ("field_missing: volIdx", "size: ...").
std::variant<PynealVolume, std::string> decode_pyneal(std::string_view header, std::span<const std::byte> payload);

// The header's TR read as seconds when it is given in seconds or in milliseconds; 0 when
// it is not a number. `expected_s` picks the reading (Siemens/GE send "1.5", Philips and the
// simulator "1500").
double pyneal_tr_seconds(const std::string& tr, double expected_s);

}  // namespace hyper

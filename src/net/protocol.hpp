#pragma once
// The hyper/1 wire protocol (README, "Protocol hyper/1"): encoding and a decoder that trusts
// nothing. Pure functions over byte spans; no sockets here, so every check is unit-testable.
//
// A message is a ZeroMQ multipart message:
//   volume:  ["vol", JSON header, raw voxels]
//   control: ["ctl", JSON header]            (run_start, run_end, heartbeat, resend_none)
// hyper/1.1 adds the resend channel (net/resend.hpp): a publisher names its resend endpoint
// in every header ("resend"), and a receiver asks it for the volumes it missed. hyper/1
// messages (a scanner export written to the first version) are still accepted.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/crc32.hpp"
#include "core/dtype.hpp"
#include "hyper/version.hpp"
#include "hyper/volume.hpp"

namespace hyper {

inline constexpr std::string_view kTopicVolume = "vol";
inline constexpr std::string_view kTopicControl = "ctl";
inline constexpr int64_t kMaxVolumesPerRun = 1'000'000;  // bound on index and n_volumes
inline constexpr int64_t kMaxDim = 4096;                 // bound on each of dims
inline constexpr size_t kMaxRunIdLength = 128;

// Why a message was dropped. Decode finds the first nine; the run tracker and receiver
// the rest. The names (reject_name) are the keys of the counters in summaries.
enum class Reject : uint8_t {
  FrameCount,    // wrong number of frames for the topic
  UnknownTopic,  // first frame is neither "vol" nor "ctl"
  HeaderSize,    // JSON header larger than the limit
  HeaderJson,    // header is not a JSON object
  Protocol,      // missing or other protocol version
  FieldMissing,  // a required field is absent
  FieldType,     // a field has the wrong JSON type
  FieldRange,    // a field's value is out of range or not allowed
  Dtype,         // unknown voxel type
  Tr,            // TR not finite or not positive
  PayloadSize,   // payload_bytes, frame size and dims x dtype size disagree (or too large)
  Checksum,      // CRC-32 of the payload differs from the header's
  Duplicate,     // an index this run already delivered
  OutOfOrder,    // an index lower than one already delivered (arrived late)
  RunMismatch,   // geometry, dtype or TR differs from earlier volumes of the same run
  RunEnded,      // a volume of a run that has already ended
  QueueFull,     // the processing thread did not take the volume in time
  TooManyRuns,   // a new run beyond the stream's bound on runs (stream.max_runs)
  Count
};
inline constexpr size_t kRejectCount = static_cast<size_t>(Reject::Count);
std::string_view reject_name(Reject r);

struct VolumeHeader {
  std::string run;
  int64_t index = 0;
  int64_t n_volumes = -1;  // -1: unknown
  double tr_s = 0;
  std::array<int64_t, 3> dims{0, 0, 0};
  std::array<double, 3> voxel_mm{1, 1, 1};
  DType dtype = DType::Float32;
  ByteOrder byte_order = ByteOrder::Little;
  MemoryOrder memory_order = MemoryOrder::Fortran;
  double scl_slope = 1, scl_inter = 0;
  std::optional<std::array<double, 16>> affine;  // row-major; absent: diag(voxel size)
  int64_t t_acq = -1;   // CLOCK_REALTIME ns, -1 unknown
  int64_t t_sent = 0;   // CLOCK_REALTIME ns
  std::string resend;   // hyper/1.1: the publisher's resend endpoint, empty: none
  uint64_t payload_bytes = 0;
  uint32_t crc32 = 0;
};

enum class ControlType : uint8_t { RunStart, RunEnd, Heartbeat, ResendNone };

struct ControlMessage {
  ControlType type = ControlType::Heartbeat;
  std::string run;            // run_start, run_end
  int64_t first_index = 0;    // run_start: index of the first volume to be sent
  int64_t count = -1;         // run_start: how many volumes will be sent, -1 unknown
  double tr_s = 0;            // run_start: 0 unknown
  int64_t volumes_sent = -1;  // run_end: how many the publisher sent, -1 unknown
  int64_t seq = 0;            // heartbeat counter
  int64_t from = 0, to = -1;  // resend_none: the indices [from, to] the publisher no longer has
  std::string resend;         // hyper/1.1: the publisher's resend endpoint, empty: none
  int64_t t_sent = 0;
};

struct VolumeMessage {
  VolumeHeader header;
  std::span<const std::byte> payload;  // views the third frame
};

struct Rejection {
  Reject reason = Reject::HeaderJson;
  std::string detail;  // one line for the log: which field and what was wrong
  std::string run;     // when the header named a valid run id
};

using Decoded = std::variant<VolumeMessage, ControlMessage, Rejection>;

struct DecodeLimits {
  size_t max_header_bytes = 64 * 1024;
  uint64_t max_payload_bytes = uint64_t{1} << 30;
};

Decoded decode_message(std::span<const std::span<const std::byte>> frames,
                       const DecodeLimits& limits = {});

// A resend request (hyper/1.1, a DEALER to the publisher's ROUTER): ["resend", JSON
// {"protocol", "run", "from", "to"}], at most kMaxResendSpan indices.
inline constexpr std::string_view kTopicResend = "resend";
inline constexpr int64_t kMaxResendSpan = 10'000;
struct ResendRequest {
  std::string run;
  int64_t from = 0, to = 0;  // inclusive
};
std::string encode_resend_request(const ResendRequest& r);
// The request, or why it is refused (one line for the log).
std::variant<ResendRequest, std::string> decode_resend_request(std::span<const std::byte> header);

// JSON headers. encode_volume_header() writes every field; the caller fills t_sent,
// payload_bytes and crc32 (Publisher::send_volume does).
std::string encode_volume_header(const VolumeHeader& h);
std::string encode_control(const ControlMessage& c);


// Run ids name files: 1..128 characters of [A-Za-z0-9._+-].
bool valid_run_id(std::string_view id);
// Makes a valid run id of any text (a file name): other characters become '_'.
std::string to_run_id(std::string_view text);

// The volume a message carries, as float32 in NIfTI order with the scaling applied.
Volume to_volume(const VolumeHeader& h, std::span<const std::byte> payload);

}  // namespace hyper

#include "net/protocol.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

namespace hyper {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, kRejectCount> kRejectNames{
    "frame_count", "unknown_topic", "header_size", "header_json", "protocol",
    "field_missing", "field_type", "field_range", "dtype", "tr", "payload_size",
    "checksum", "duplicate", "out_of_order", "run_mismatch", "run_ended", "queue_full",
    "too_many_runs"};

// Thrown only on the reject path inside decode_message; valid messages never throw.
struct Bad {
  Reject reason;
  std::string detail;
};

std::string show(const json& v) {
  std::string s = v.dump();
  return s.size() > 40 ? s.substr(0, 40) + "..." : s;
}

// Typed, range-checked access to the header's fields.
class Fields {
 public:
  explicit Fields(const json& j) : j_(j) {}

  const json* get(const char* name, bool required) const {
    auto it = j_.find(name);
    if (it == j_.end() || (!required && it->is_null())) {
      if (required) throw Bad{Reject::FieldMissing, std::string("field '") + name + "' is missing"};
      return nullptr;
    }
    return &*it;
  }

  [[noreturn]] static void type(const char* name, const char* want, const json& v) {
    throw Bad{Reject::FieldType,
              std::string("field '") + name + "' must be " + want + ", got " + show(v)};
  }
  [[noreturn]] static void range(const char* name, const std::string& want, const json& v) {
    throw Bad{Reject::FieldRange,
              std::string("field '") + name + "' must be " + want + ", got " + show(v)};
  }

  static int64_t integer(const char* name, const json& v, int64_t lo, int64_t hi) {
    if (!v.is_number_integer()) type(name, "an integer", v);
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
      range(name, "in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", v);
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi) range(name, "in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", v);
    return x;
  }

  static double number(const char* name, const json& v) {
    if (!v.is_number()) type(name, "a number", v);
    const double x = v.get<double>();
    if (!std::isfinite(x)) range(name, "finite", v);
    return x;
  }

  int64_t opt_integer(const char* name, int64_t lo, int64_t hi, int64_t absent) const {
    const json* v = get(name, false);
    return v ? integer(name, *v, lo, hi) : absent;
  }

  std::string string(const char* name, bool required, const std::string& absent = {}) const {
    const json* v = get(name, required);
    if (!v) return absent;
    if (!v->is_string()) type(name, "a string", *v);
    return v->get<std::string>();
  }

  // hyper/1.1's "resend": an endpoint (checked where it is used, net/resend.cpp), bounded.
  std::string resend() const {
    std::string r = string("resend", false);
    if (r.size() > 256) range("resend", "an endpoint of at most 256 characters", json(r.substr(0, 40)));
    return r;
  }

  std::string run() const {
    std::string r = string("run", true);
    if (!valid_run_id(r)) range("run", "1-128 characters of [A-Za-z0-9._+-]", json(r));
    return r;
  }

  // TR is its own reject reason: a zero or negative TR is the commonest publisher mistake.
  double tr(bool required) const {
    const json* v = get("tr", required);
    if (!v) return 0;
    if (!v->is_number()) type("tr", "a number", *v);
    const double x = v->get<double>();
    if (!std::isfinite(x) || x <= 0 || x > 1000)
      throw Bad{Reject::Tr, "field 'tr' must be a finite number of seconds in (0, 1000], got " + show(*v)};
    return x;
  }

  template <size_t N>
  std::array<const json*, N> array(const char* name, bool required) const {
    std::array<const json*, N> out{};
    const json* v = get(name, required);
    if (!v) return out;
    if (!v->is_array() || v->size() != N) type(name, (std::to_string(N) + " values").c_str(), *v);
    for (size_t i = 0; i < N; ++i) out[i] = &(*v)[i];
    return out;
  }

 private:
  const json& j_;
};

std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

VolumeHeader parse_volume(const Fields& f, std::span<const std::byte> payload,
                          const DecodeLimits& limits) {
  VolumeHeader h;
  h.run = f.run();
  h.index = Fields::integer("index", *f.get("index", true), 0, kMaxVolumesPerRun - 1);
  h.n_volumes = f.opt_integer("n_volumes", 1, kMaxVolumesPerRun, -1);
  if (h.n_volumes > 0 && h.index >= h.n_volumes)
    Fields::range("index", "below n_volumes (" + std::to_string(h.n_volumes) + ")", json(h.index));
  h.tr_s = f.tr(true);

  const auto dims = f.array<3>("dims", true);
  for (size_t i = 0; i < 3; ++i) h.dims[i] = Fields::integer("dims", *dims[i], 1, kMaxDim);
  if (const auto vox = f.array<3>("voxel_size", false); vox[0]) {
    for (size_t i = 0; i < 3; ++i) {
      h.voxel_mm[i] = Fields::number("voxel_size", *vox[i]);
      if (h.voxel_mm[i] <= 0 || h.voxel_mm[i] > 1000)
        Fields::range("voxel_size", "in (0, 1000] mm", *vox[i]);
    }
  }

  const std::string dtype = f.string("dtype", true);
  const auto dt = parse_dtype(dtype);
  if (!dt)
    throw Bad{Reject::Dtype, "field 'dtype' must be one of " + std::string(supported_dtypes()) +
                                 ", got \"" + dtype + "\""};
  h.dtype = *dt;

  const std::string bo = f.string("byte_order", false, "little");
  if (bo != "little" && bo != "big") Fields::range("byte_order", "\"little\" or \"big\"", json(bo));
  h.byte_order = bo == "little" ? ByteOrder::Little : ByteOrder::Big;
  const std::string order = f.string("order", false, "F");
  if (order != "F" && order != "C") Fields::range("order", "\"F\" or \"C\"", json(order));
  h.memory_order = order == "F" ? MemoryOrder::Fortran : MemoryOrder::C;

  if (const json* s = f.get("scl_slope", false)) {
    h.scl_slope = Fields::number("scl_slope", *s);
    if (h.scl_slope == 0) Fields::range("scl_slope", "non-zero", *s);
  }
  if (const json* s = f.get("scl_inter", false)) h.scl_inter = Fields::number("scl_inter", *s);

  if (const auto rows = f.array<4>("affine", false); rows[0]) {
    std::array<double, 16> a{};
    for (size_t r = 0; r < 4; ++r) {
      if (!rows[r]->is_array() || rows[r]->size() != 4) Fields::type("affine", "4 rows of 4 numbers", *rows[r]);
      for (size_t c = 0; c < 4; ++c) a[r * 4 + c] = Fields::number("affine", (*rows[r])[c]);
    }
    h.affine = a;
  }

  constexpr int64_t kMaxNs = std::numeric_limits<int64_t>::max();
  h.t_acq = f.opt_integer("t_acq", 0, kMaxNs, -1);
  h.t_sent = Fields::integer("t_sent", *f.get("t_sent", true), 1, kMaxNs);
  h.resend = f.resend();

  const json& pb = *f.get("payload_bytes", true);
  h.payload_bytes = static_cast<uint64_t>(Fields::integer("payload_bytes", pb, 0, kMaxNs));
  const uint64_t expected = static_cast<uint64_t>(h.dims[0] * h.dims[1] * h.dims[2]) * dtype_size(h.dtype);
  if (h.payload_bytes != payload.size())
    throw Bad{Reject::PayloadSize, "payload_bytes " + std::to_string(h.payload_bytes) +
                                       " but the payload frame has " + std::to_string(payload.size())};
  if (expected != payload.size())
    throw Bad{Reject::PayloadSize, "dims x dtype size is " + std::to_string(expected) +
                                       " bytes but the payload has " + std::to_string(payload.size())};
  if (payload.size() > limits.max_payload_bytes)
    throw Bad{Reject::PayloadSize, "payload of " + std::to_string(payload.size()) +
                                       " bytes exceeds the limit of " +
                                       std::to_string(limits.max_payload_bytes)};

  h.crc32 = static_cast<uint32_t>(Fields::integer("crc32", *f.get("crc32", true), 0, 0xFFFFFFFFll));
  if (const uint32_t got = crc32(payload); got != h.crc32)
    throw Bad{Reject::Checksum, "crc32 in header " + std::to_string(h.crc32) +
                                    ", of the payload " + std::to_string(got)};
  return h;
}

ControlMessage parse_control(const Fields& f) {
  ControlMessage c;
  const std::string type = f.string("type", true);
  if (type == "run_start") c.type = ControlType::RunStart;
  else if (type == "run_end") c.type = ControlType::RunEnd;
  else if (type == "heartbeat") c.type = ControlType::Heartbeat;
  else if (type == "resend_none") c.type = ControlType::ResendNone;
  else Fields::range("type", "run_start, run_end, heartbeat or resend_none", json(type));

  if (c.type != ControlType::Heartbeat) c.run = f.run();
  if (c.type == ControlType::RunStart) {
    c.first_index = f.opt_integer("first_index", 0, kMaxVolumesPerRun - 1, 0);
    c.count = f.opt_integer("count", 1, kMaxVolumesPerRun - c.first_index, -1);
    c.tr_s = f.tr(false);
  }
  if (c.type == ControlType::RunEnd) c.volumes_sent = f.opt_integer("volumes_sent", 0, kMaxVolumesPerRun, -1);
  if (c.type == ControlType::Heartbeat) c.seq = f.opt_integer("seq", 0, std::numeric_limits<int64_t>::max(), 0);
  if (c.type == ControlType::ResendNone) {
    c.from = Fields::integer("from", *f.get("from", true), 0, kMaxVolumesPerRun - 1);
    c.to = Fields::integer("to", *f.get("to", true), c.from, kMaxVolumesPerRun - 1);
  }
  c.resend = f.resend();
  c.t_sent = Fields::integer("t_sent", *f.get("t_sent", true), 1, std::numeric_limits<int64_t>::max());
  return c;
}

json affine_json(const std::array<double, 16>& a) {
  json rows = json::array();
  for (size_t r = 0; r < 4; ++r) rows.push_back({a[r * 4], a[r * 4 + 1], a[r * 4 + 2], a[r * 4 + 3]});
  return rows;
}

}  // namespace

std::string_view reject_name(Reject r) { return kRejectNames[static_cast<size_t>(r)]; }

namespace {
bool run_id_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
         ch == '_' || ch == '+' || ch == '-';
}
}  // namespace

bool valid_run_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRunIdLength || id == "." || id == "..") return false;
  return std::all_of(id.begin(), id.end(), run_id_char);
}

std::string to_run_id(std::string_view text) {
  std::string id(text.substr(0, kMaxRunIdLength));
  for (char& ch : id)
    if (!run_id_char(ch)) ch = '_';
  return valid_run_id(id) ? id : "run";
}

Decoded decode_message(std::span<const std::span<const std::byte>> frames, const DecodeLimits& limits) {
  std::string run;
  try {
    if (frames.empty()) throw Bad{Reject::FrameCount, "empty message"};
    const std::string_view topic = as_text(frames[0]);
    const bool is_volume = topic == kTopicVolume;
    if (!is_volume && topic != kTopicControl)
      throw Bad{Reject::UnknownTopic, "unknown topic \"" + std::string(topic.substr(0, 16)) + "\""};
    const size_t want = is_volume ? 3 : 2;
    if (frames.size() != want)
      throw Bad{Reject::FrameCount, std::string(topic) + " message with " + std::to_string(frames.size()) +
                                        " frames, expected " + std::to_string(want)};
    if (frames[1].size() > limits.max_header_bytes)
      throw Bad{Reject::HeaderSize, "header of " + std::to_string(frames[1].size()) + " bytes exceeds " +
                                        std::to_string(limits.max_header_bytes)};
    const std::string_view text = as_text(frames[1]);
    json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) throw Bad{Reject::HeaderJson, "header is not a JSON object"};

    Fields f(j);
    // The run id first, so that whatever else is wrong is charged to the right run.
    if (auto it = j.find("run"); it != j.end() && it->is_string() && valid_run_id(it->get<std::string>()))
      run = it->get<std::string>();
    const json* proto = f.get("protocol", false);
    if (!proto || !proto->is_string() || (proto->get<std::string>() != kProtocolName && proto->get<std::string>() != kProtocolFirst))
      throw Bad{Reject::Protocol, std::string("protocol must be \"") + kProtocolName + "\" or \"" + kProtocolFirst +
                                      "\", got " + (proto ? show(*proto) : "none")};
    if (is_volume) return VolumeMessage{parse_volume(f, frames[2], limits), frames[2]};
    return parse_control(f);
  } catch (const Bad& b) {
    return Rejection{b.reason, b.detail, run};
  }
}

std::string encode_volume_header(const VolumeHeader& h) {
  json j = {{"protocol", kProtocolName},
            {"run", h.run},
            {"index", h.index},
            {"tr", h.tr_s},
            {"dims", h.dims},
            {"voxel_size", h.voxel_mm},
            {"dtype", dtype_name(h.dtype)},
            {"byte_order", h.byte_order == ByteOrder::Little ? "little" : "big"},
            {"order", h.memory_order == MemoryOrder::Fortran ? "F" : "C"},
            {"t_sent", h.t_sent},
            {"payload_bytes", h.payload_bytes},
            {"crc32", h.crc32}};
  if (h.n_volumes > 0) j["n_volumes"] = h.n_volumes;
  if (h.scl_slope != 1 || h.scl_inter != 0) {
    j["scl_slope"] = h.scl_slope;
    j["scl_inter"] = h.scl_inter;
  }
  if (h.affine) j["affine"] = affine_json(*h.affine);
  if (h.t_acq >= 0) j["t_acq"] = h.t_acq;
  if (!h.resend.empty()) j["resend"] = h.resend;
  return j.dump();
}

std::string encode_control(const ControlMessage& c) {
  json j = {{"protocol", kProtocolName}, {"t_sent", c.t_sent}};
  switch (c.type) {
    case ControlType::RunStart:
      j["type"] = "run_start";
      j["run"] = c.run;
      j["first_index"] = c.first_index;
      if (c.count > 0) j["count"] = c.count;
      if (c.tr_s > 0) j["tr"] = c.tr_s;
      break;
    case ControlType::RunEnd:
      j["type"] = "run_end";
      j["run"] = c.run;
      if (c.volumes_sent >= 0) j["volumes_sent"] = c.volumes_sent;
      break;
    case ControlType::Heartbeat:
      j["type"] = "heartbeat";
      j["seq"] = c.seq;
      break;
    case ControlType::ResendNone:
      j["type"] = "resend_none";
      j["run"] = c.run;
      j["from"] = c.from;
      j["to"] = c.to;
      break;
  }
  if (!c.resend.empty()) j["resend"] = c.resend;
  return j.dump();
}

std::string encode_resend_request(const ResendRequest& r) {
  return json{{"protocol", kProtocolName}, {"run", r.run}, {"from", r.from}, {"to", r.to}}.dump();
}

std::variant<ResendRequest, std::string> decode_resend_request(std::span<const std::byte> header) {
  try {
    if (header.size() > 4096) return std::string("request header larger than 4 KiB");
    const std::string_view text = as_text(header);
    json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return std::string("request header is not a JSON object");
    Fields f(j);
    if (f.string("protocol", true) != kProtocolName) return "protocol must be \"" + std::string(kProtocolName) + "\"";
    ResendRequest r;
    r.run = f.run();
    r.from = Fields::integer("from", *f.get("from", true), 0, kMaxVolumesPerRun - 1);
    r.to = Fields::integer("to", *f.get("to", true), r.from, std::min(kMaxVolumesPerRun - 1, r.from + kMaxResendSpan - 1));
    return r;
  } catch (const Bad& b) {
    return b.detail;
  }
}

Volume to_volume(const VolumeHeader& h, std::span<const std::byte> payload) {
  Volume v;
  v.dims = h.dims;
  v.voxel_mm = h.voxel_mm;
  v.affine = h.affine ? *h.affine : diagonal_affine(h.voxel_mm);
  v.data.resize(static_cast<size_t>(v.voxel_count()));
  convert_to_float(payload, h.dtype, h.byte_order, h.memory_order, h.dims, h.scl_slope, h.scl_inter,
                   v.data.data());
  return v;
}

}  // namespace hyper

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>

#include <nlohmann/json.hpp>

#include "net/protocol.hpp"
#include "net/results.hpp"

using namespace hyper;
using nlohmann::json;

namespace {

struct Message {
  std::string topic = "vol";
  std::string header;
  std::vector<std::byte> payload;
  bool with_payload = true;
};

Decoded decode(const Message& m, const DecodeLimits& limits = {}) {
  std::vector<std::span<const std::byte>> frames{
      {reinterpret_cast<const std::byte*>(m.topic.data()), m.topic.size()},
      {reinterpret_cast<const std::byte*>(m.header.data()), m.header.size()}};
  if (m.with_payload) frames.emplace_back(m.payload.data(), m.payload.size());
  return decode_message(frames, limits);
}

// A volume whose voxel (x, y, z) holds x + 10y + 100z - 50, stored as `type` in `memory`
// order and `order` bytes.
Message make_volume(DType type, MemoryOrder memory, ByteOrder order, std::array<int64_t, 3> dims = {3, 4, 5}) {
  const size_t n = static_cast<size_t>(dims[0] * dims[1] * dims[2]);
  const size_t w = dtype_size(type);
  Message m;
  m.payload.resize(n * w);
  for (int64_t z = 0; z < dims[2]; ++z)
    for (int64_t y = 0; y < dims[1]; ++y)
      for (int64_t x = 0; x < dims[0]; ++x) {
        const double v = static_cast<double>(x + 10 * y + 100 * z) - 50.0 + (type == DType::UInt16 ? 50000 : 0);
        const size_t i = static_cast<size_t>(memory == MemoryOrder::Fortran ? x + dims[0] * (y + dims[1] * z)
                                                                          : (x * dims[1] + y) * dims[2] + z);
        std::byte* p = m.payload.data() + i * w;
        switch (type) {
          case DType::Int16: { auto t = static_cast<int16_t>(v); std::memcpy(p, &t, w); break; }
          case DType::UInt16: { auto t = static_cast<uint16_t>(v); std::memcpy(p, &t, w); break; }
          case DType::Int32: { auto t = static_cast<int32_t>(v); std::memcpy(p, &t, w); break; }
          case DType::Float32: { auto t = static_cast<float>(v); std::memcpy(p, &t, w); break; }
          case DType::Float64: { std::memcpy(p, &v, w); break; }
        }
        if (order != native_byte_order()) std::reverse(p, p + w);
      }
  VolumeHeader h;
  h.run = "sub-01_run-01";
  h.index = 3;
  h.n_volumes = 10;
  h.tr_s = 1.5;
  h.dims = dims;
  h.voxel_mm = {2, 2, 2.5};
  h.dtype = type;
  h.byte_order = order;
  h.memory_order = memory;
  h.affine = std::array<double, 16>{-2, 0, 0, 90, 0, 2, 0, -126, 0, 0, 2.5, -72, 0, 0, 0, 1};
  h.t_sent = 1'700'000'000'000'000'000;
  h.t_acq = 1'699'999'999'900'000'000;
  h.payload_bytes = m.payload.size();
  h.crc32 = crc32(m.payload);
  m.header = encode_volume_header(h);
  return m;
}

Message valid() { return make_volume(DType::Int16, MemoryOrder::Fortran, ByteOrder::Little); }

Message edited(std::function<void(json&)> edit, Message m = valid()) {
  json j = json::parse(m.header);
  edit(j);
  m.header = j.dump();
  return m;
}

Rejection rejected(const Decoded& d) {
  REQUIRE(std::holds_alternative<Rejection>(d));
  return std::get<Rejection>(d);
}

Message control(const json& j) {
  Message m;
  m.topic = "ctl";
  m.header = j.dump();
  m.with_payload = false;
  return m;
}

}  // namespace

TEST_CASE("every dtype, memory order and byte order survives a round trip") {
  for (DType t : {DType::Int16, DType::UInt16, DType::Int32, DType::Float32, DType::Float64})
    for (MemoryOrder mo : {MemoryOrder::Fortran, MemoryOrder::C})
      for (ByteOrder bo : {ByteOrder::Little, ByteOrder::Big}) {
        CAPTURE(dtype_name(t));
        CAPTURE(static_cast<int>(mo));
        CAPTURE(static_cast<int>(bo));
        const Message m = make_volume(t, mo, bo);
        const Decoded d = decode(m);
        REQUIRE(std::holds_alternative<VolumeMessage>(d));
        const VolumeMessage& v = std::get<VolumeMessage>(d);
        CHECK(v.header.run == "sub-01_run-01");
        CHECK(v.header.index == 3);
        CHECK(v.header.n_volumes == 10);
        CHECK(v.header.tr_s == 1.5);
        CHECK(v.header.dtype == t);
        CHECK(v.header.memory_order == mo);
        CHECK(v.header.byte_order == bo);
        CHECK(v.header.t_acq == 1'699'999'999'900'000'000);
        CHECK(v.header.affine.value()[3] == 90);
        CHECK(v.payload.size() == m.payload.size());
        const Volume vol = to_volume(v.header, v.payload);
        CHECK(vol.dims == std::array<int64_t, 3>{3, 4, 5});
        CHECK(vol.voxel_mm == std::array<double, 3>{2, 2, 2.5});
        const double offset = t == DType::UInt16 ? 50000 : 0;
        bool all_equal = true;
        for (int64_t z = 0; z < 5; ++z)
          for (int64_t y = 0; y < 4; ++y)
            for (int64_t x = 0; x < 3; ++x)
              all_equal = all_equal && vol.at(x, y, z) == static_cast<float>(x + 10 * y + 100 * z - 50 + offset);
        CHECK(all_equal);
      }
}

TEST_CASE("scaling and the default affine are applied") {
  Message m = edited([](json& j) {
    j["scl_slope"] = 0.5;
    j["scl_inter"] = 10;
    j.erase("affine");
  });
  const Decoded d = decode(m);
  const auto& v = std::get<VolumeMessage>(d);
  const Volume vol = to_volume(v.header, v.payload);
  CHECK(vol.at(1, 0, 0) == static_cast<float>((1 - 50) * 0.5 + 10));
  CHECK(vol.affine == diagonal_affine({2, 2, 2.5}));
}

TEST_CASE("control messages decode") {
  const auto start = decode(control({{"protocol", "hyper/1"}, {"type", "run_start"}, {"run", "r1"},
                                     {"first_index", 5}, {"count", 20}, {"tr", 2.0}, {"t_sent", 12}}));
  REQUIRE(std::holds_alternative<ControlMessage>(start));
  const auto& c = std::get<ControlMessage>(start);
  CHECK(c.type == ControlType::RunStart);
  CHECK(c.run == "r1");
  CHECK(c.first_index == 5);
  CHECK(c.count == 20);
  CHECK(c.tr_s == 2.0);

  ControlMessage e;
  e.type = ControlType::RunEnd;
  e.run = "r1";
  e.volumes_sent = 20;
  e.t_sent = 99;
  const auto end = decode(control(json::parse(encode_control(e))));
  REQUIRE(std::holds_alternative<ControlMessage>(end));
  CHECK(std::get<ControlMessage>(end).volumes_sent == 20);

  ControlMessage hb;
  hb.seq = 7;
  hb.t_sent = 5;
  const auto beat = decode(control(json::parse(encode_control(hb))));
  REQUIRE(std::holds_alternative<ControlMessage>(beat));
  CHECK(std::get<ControlMessage>(beat).seq == 7);
}

TEST_CASE("hyper/1.1 is written, hyper/1 still read, any other version refused by name") {
  CHECK(json::parse(valid().header)["protocol"] == "hyper/1.1");
  CHECK(std::holds_alternative<VolumeMessage>(decode(edited([](json& j) { j["protocol"] = "hyper/1"; }))));
  const Rejection r = rejected(decode(edited([](json& j) { j["protocol"] = "hyper/2"; })));
  CHECK(r.reason == Reject::Protocol);
  CHECK(r.detail == "protocol must be \"hyper/1.1\" or \"hyper/1\", got \"hyper/2\"");

  // The resend endpoint travels in every header; resend_none names what is gone.
  Message m = edited([](json& j) { j["resend"] = "tcp://0.0.0.0:40001"; });
  REQUIRE(std::holds_alternative<VolumeMessage>(decode(m)));
  CHECK(std::get<VolumeMessage>(decode(m)).header.resend == "tcp://0.0.0.0:40001");
  CHECK(rejected(decode(edited([](json& j) { j["resend"] = std::string(300, 'x'); }))).reason == Reject::FieldRange);
  CHECK(rejected(decode(edited([](json& j) { j["resend"] = 5; }))).reason == Reject::FieldType);
  ControlMessage none{.type = ControlType::ResendNone, .run = "r", .from = 3, .to = 9, .t_sent = 1};
  const auto back = decode(control(json::parse(encode_control(none))));
  REQUIRE(std::holds_alternative<ControlMessage>(back));
  CHECK(std::get<ControlMessage>(back).from == 3);
  CHECK(std::get<ControlMessage>(back).to == 9);
  CHECK(rejected(decode(control({{"protocol", "hyper/1.1"}, {"type", "resend_none"}, {"run", "r"}, {"from", 5}, {"to", 2}, {"t_sent", 1}})))
            .reason == Reject::FieldRange);

  auto request = [](const std::string& text) { return decode_resend_request(std::as_bytes(std::span(text))); };
  const auto ok = request(encode_resend_request({"r", 4, 8}));
  REQUIRE(std::holds_alternative<ResendRequest>(ok));
  CHECK(std::get<ResendRequest>(ok).from == 4);
  CHECK(std::get<ResendRequest>(ok).to == 8);
  CHECK(std::get<std::string>(request("[]")) == "request header is not a JSON object");
  CHECK(std::get<std::string>(request(R"({"protocol":"hyper/1","run":"r","from":1,"to":2})")) == "protocol must be \"hyper/1.1\"");
  CHECK(std::get<std::string>(request(R"({"protocol":"hyper/1.1","run":"r","from":0,"to":10000})")).find("'to'") != std::string::npos);
  CHECK(std::holds_alternative<ResendRequest>(request(R"({"protocol":"hyper/1.1","run":"r","from":0,"to":9999})")));
}

TEST_CASE("malformed messages are rejected with the right reason") {
  struct Case {
    const char* name;
    Message message;
    Reject reason;
  };
  Message no_payload = valid();
  no_payload.with_payload = false;
  Message bad_topic = valid();
  bad_topic.topic = "volume";
  Message not_json = valid();
  not_json.header = "{\"protocol\": \"hyper/1\", ";
  Message nan_json = valid();
  nan_json.header.replace(nan_json.header.find("\"tr\":1.5"), 8, "\"tr\":NaN");  // what Python's json writes
  Message short_payload = valid();
  short_payload.payload.pop_back();
  Message flipped = valid();
  flipped.payload[5] ^= std::byte{1};
  Message ctl_with_payload = control({{"protocol", "hyper/1"}, {"type", "heartbeat"}, {"t_sent", 1}});
  ctl_with_payload.with_payload = true;

  const std::vector<Case> cases{
      {"missing payload frame", no_payload, Reject::FrameCount},
      {"control with a payload", ctl_with_payload, Reject::FrameCount},
      {"unknown topic", bad_topic, Reject::UnknownTopic},
      {"truncated JSON", not_json, Reject::HeaderJson},
      {"NaN in JSON", nan_json, Reject::HeaderJson},
      {"JSON array", edited([](json& j) { j = json::array({1, 2}); }), Reject::HeaderJson},
      {"no protocol", edited([](json& j) { j.erase("protocol"); }), Reject::Protocol},
      {"other protocol", edited([](json& j) { j["protocol"] = "hyper/2"; }), Reject::Protocol},
      {"no run", edited([](json& j) { j.erase("run"); }), Reject::FieldMissing},
      {"run not a string", edited([](json& j) { j["run"] = 5; }), Reject::FieldType},
      {"run with a slash", edited([](json& j) { j["run"] = "../etc"; }), Reject::FieldRange},
      {"run too long", edited([](json& j) { j["run"] = std::string(129, 'a'); }), Reject::FieldRange},
      {"no index", edited([](json& j) { j.erase("index"); }), Reject::FieldMissing},
      {"index float", edited([](json& j) { j["index"] = 3.5; }), Reject::FieldType},
      {"index string", edited([](json& j) { j["index"] = "3"; }), Reject::FieldType},
      {"index negative", edited([](json& j) { j["index"] = -1; }), Reject::FieldRange},
      {"index past n_volumes", edited([](json& j) { j["index"] = 10; }), Reject::FieldRange},
      {"index huge", edited([](json& j) { j["index"] = 18446744073709551615ull; }), Reject::FieldRange},
      {"n_volumes zero", edited([](json& j) { j["n_volumes"] = 0; }), Reject::FieldRange},
      {"no tr", edited([](json& j) { j.erase("tr"); }), Reject::FieldMissing},
      {"tr zero", edited([](json& j) { j["tr"] = 0; }), Reject::Tr},
      {"tr negative", edited([](json& j) { j["tr"] = -1.5; }), Reject::Tr},
      {"tr absurd", edited([](json& j) { j["tr"] = 1e300; }), Reject::Tr},
      {"tr string", edited([](json& j) { j["tr"] = "1.5"; }), Reject::FieldType},
      {"dims two values", edited([](json& j) { j["dims"] = {3, 4}; }), Reject::FieldType},
      {"dims zero", edited([](json& j) { j["dims"] = {3, 0, 5}; }), Reject::FieldRange},
      {"dims huge", edited([](json& j) { j["dims"] = {3, 4, 100000}; }), Reject::FieldRange},
      {"dims float", edited([](json& j) { j["dims"] = {3, 4, 5.0}; }), Reject::FieldType},
      {"voxel size negative", edited([](json& j) { j["voxel_size"] = {2, -2, 2}; }), Reject::FieldRange},
      {"voxel size string", edited([](json& j) { j["voxel_size"] = {2, "2", 2}; }), Reject::FieldType},
      {"unknown dtype", edited([](json& j) { j["dtype"] = "uint8"; }), Reject::Dtype},
      {"dtype not a string", edited([](json& j) { j["dtype"] = 16; }), Reject::FieldType},
      {"bad byte order", edited([](json& j) { j["byte_order"] = "middle"; }), Reject::FieldRange},
      {"bad memory order", edited([](json& j) { j["order"] = "K"; }), Reject::FieldRange},
      {"slope zero", edited([](json& j) { j["scl_slope"] = 0; }), Reject::FieldRange},
      {"affine 3 rows", edited([](json& j) { j["affine"].erase(3); }), Reject::FieldType},
      {"affine short row", edited([](json& j) { j["affine"][1] = {1, 2, 3}; }), Reject::FieldType},
      {"no t_sent", edited([](json& j) { j.erase("t_sent"); }), Reject::FieldMissing},
      {"t_sent zero", edited([](json& j) { j["t_sent"] = 0; }), Reject::FieldRange},
      {"payload_bytes disagrees with the frame", edited([](json& j) { j["payload_bytes"] = 10; }),
       Reject::PayloadSize},
      {"frame shorter than dims x dtype", edited([](json& j) { j["payload_bytes"] = 119; }, short_payload),
       Reject::PayloadSize},
      {"dims disagree with the payload", edited([](json& j) { j["dims"] = {3, 4, 4}; }), Reject::PayloadSize},
      {"dtype disagrees with the payload", edited([](json& j) { j["dtype"] = "float64"; }), Reject::PayloadSize},
      {"no crc32", edited([](json& j) { j.erase("crc32"); }), Reject::FieldMissing},
      {"crc32 too large", edited([](json& j) { j["crc32"] = 4294967296ull; }), Reject::FieldRange},
      {"corrupted payload", flipped, Reject::Checksum},
      {"control: unknown type", control({{"protocol", "hyper/1"}, {"type", "pause"}, {"t_sent", 1}}),
       Reject::FieldRange},
      {"control: run_end without run", control({{"protocol", "hyper/1"}, {"type", "run_end"}, {"t_sent", 1}}),
       Reject::FieldMissing},
      {"control: run_start with tr 0",
       control({{"protocol", "hyper/1"}, {"type", "run_start"}, {"run", "r"}, {"tr", 0}, {"t_sent", 1}}), Reject::Tr},
      {"control: wrong protocol", control({{"protocol", 1}, {"type", "heartbeat"}, {"t_sent", 1}}), Reject::Protocol},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const Rejection r = rejected(decode(c.message));
    CHECK(reject_name(r.reason) == reject_name(c.reason));
    CHECK_FALSE(r.detail.empty());
  }
}

TEST_CASE("limits on header and payload size are enforced") {
  DecodeLimits tight;
  tight.max_header_bytes = 100;
  CHECK(rejected(decode(valid(), tight)).reason == Reject::HeaderSize);
  DecodeLimits small;
  small.max_payload_bytes = 100;
  CHECK(rejected(decode(valid(), small)).reason == Reject::PayloadSize);
}

TEST_CASE("a rejection names its run when the run id was valid, and the field") {
  const Rejection r = rejected(decode(edited([](json& j) { j["dims"] = {3, 0, 5}; })));
  CHECK(r.run == "sub-01_run-01");
  CHECK(r.detail.find("dims") != std::string::npos);
  CHECK(rejected(decode(edited([](json& j) { j["run"] = "a b"; }))).run.empty());
}

TEST_CASE("run ids") {
  CHECK(valid_run_id("sub-01_task-faces_run-01_bold.rep2"));
  CHECK_FALSE(valid_run_id(""));
  CHECK_FALSE(valid_run_id(".."));
  CHECK_FALSE(valid_run_id("a/b"));
  CHECK(to_run_id("my run/01") == "my_run_01");
  CHECK(to_run_id("..") == "run");
}

TEST_CASE("crc32 is zlib's CRC-32") {
  const std::string s = "123456789";
  CHECK(crc32({reinterpret_cast<const std::byte*>(s.data()), s.size()}) == 0xCBF43926u);  // the standard check value
}

TEST_CASE("random corruption never throws and never passes unnoticed") {
  const Message base = valid();
  std::mt19937 rng(42);
  int accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    Message m = base;
    std::string* target = (trial % 3 == 0) ? &m.topic : &m.header;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      if (trial % 5 == 4 && !m.payload.empty()) {
        m.payload[rng() % m.payload.size()] ^= std::byte{static_cast<unsigned char>(1 + rng() % 255)};
      } else if (!target->empty()) {
        (*target)[rng() % target->size()] = static_cast<char>(rng() % 256);
      }
    }
    Decoded d;
    REQUIRE_NOTHROW(d = decode(m));
    if (std::holds_alternative<VolumeMessage>(d)) {
      // Only an edit that left the meaning intact (e.g. inside a JSON string we do not
      // read, or whitespace) may pass: the payload must then still be the original.
      CHECK(std::get<VolumeMessage>(d).header.crc32 == crc32(base.payload));
      CHECK(m.payload == base.payload);
      ++accepted;
    }
  }
  CHECK(accepted < 20000);
}

TEST_CASE("the fast CRC-32 equals zlib's for every length and alignment") {
  std::mt19937 rng(3);
  std::vector<std::byte> buf(300000);
  for (auto& b : buf) b = static_cast<std::byte>(rng());
  int mismatches = 0;
  for (size_t len = 0; len < 600; ++len)
    for (size_t off : {0, 1, 5, 15}) {
      const std::span<const std::byte> s(buf.data() + off, len);
      mismatches += crc32(s) != crc32_zlib(s);
    }
  for (size_t len : {4096, 65537, 299000}) {
    const std::span<const std::byte> s(buf.data() + 3, len);
    mismatches += crc32(s) != crc32_zlib(s);
  }
  CHECK(mismatches == 0);
}

TEST_CASE("a result message carries the TR's stamps and motion, and its latent when asked") {
  Tr tr;
  tr.run = "r1";
  tr.index = 7;
  tr.t.t_sent = 100;
  tr.t.t_ready = 250;
  tr.motion = {1, 2, 3, 0.1, 0.2, 0.3};
  tr.fd_mm = 0.5;
  tr.decoded = true;
  tr.latent[3] = 1.5f;
  const auto j = nlohmann::json::parse(result_json(tr, true));
  CHECK(j["run"] == "r1");
  CHECK(j["index"] == 7);
  CHECK(j["t_ready_ns"] == 250);
  CHECK(j["motion"][4] == doctest::Approx(0.2));
  CHECK(j["latent"].size() == 512);
  CHECK(j["latent"][3] == doctest::Approx(1.5));
  CHECK_FALSE(nlohmann::json::parse(result_json(tr, false)).contains("latent"));
}

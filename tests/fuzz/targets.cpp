#include "targets.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <span>
#include <stdexcept>

#include "core/settings.hpp"
#include "decoders/decoder.hpp"
#include "io/nifti.hpp"
#include "io/npy.hpp"
#include "io/safetensors.hpp"
#include "net/protocol.hpp"
#include "sources/pyneal_message.hpp"
#include "sources/siemens_dicom.hpp"

namespace hyper::fuzz {

namespace {

// The readers take files: the input goes to one file of this process (in memory, /dev/shm when there is one).
std::filesystem::path as_file(const uint8_t* data, size_t size, const char* suffix) {
  static const std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  const std::filesystem::path p = dir / ("hyper-fuzz-" + std::to_string(getpid()) + suffix);
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) throw std::logic_error("fuzz: cannot write " + p.string());
  if (size > 0) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return p;
}

// Frames split the input at a 4-byte marker, as ZeroMQ's multipart message would arrive.
void hyper1(const uint8_t* data, size_t size) {
  static const std::string marker("\x00|\xff|", 4);  // (a literal with a NUL: the length must be given)
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::span<const std::byte>> frames;
  size_t at = 0;
  while (frames.size() < 5) {
    const size_t next = all.find(marker, at);
    const size_t end = next == std::string_view::npos ? size : next;
    frames.emplace_back(reinterpret_cast<const std::byte*>(data) + at, end - at);
    if (next == std::string_view::npos) break;
    at = next + marker.size();
  }
  const Decoded d = decode_message(frames, {.max_header_bytes = 64 * 1024, .max_payload_bytes = 1 << 20});
  if (const auto* v = std::get_if<VolumeMessage>(&d)) to_volume(v->header, v->payload);  // what the stream does next
  if (frames.size() >= 2) decode_resend_request(frames[1]);  // a resend request's header (hyper/1.1), what the publisher reads
}

template <typename F>
void refusing(F&& f) {  // a refusal is an exception naming the problem: fine
  try {
    f();
  } catch (const std::exception&) {
  }
}

void nifti(const uint8_t* data, size_t size) {
  const auto p = as_file(data, size, ".nii");
  refusing([&] {
    const NiftiInfo info = read_nifti_info(p);
    if (info.volume_bytes() * static_cast<size_t>(std::max<int64_t>(1, info.dims[3])) < (size_t{1} << 26)) {
      const NiftiRun run = read_nifti(p);
      if (run.info.dims[3] > 0) run.volume(0);
    }
  });
}

void npy(const uint8_t* data, size_t size) {
  const auto p = as_file(data, size, ".npy");
  refusing([&] { read_npy(p); });
}

void safetensors(const uint8_t* data, size_t size) {
  const auto p = as_file(data, size, ".safetensors");
  refusing([&] {
    const TensorFile f = read_safetensors(p);
    for (const auto& entry : f.tensors) {  // (clang 14 cannot capture a structured binding)
      const Tensor& t = entry.second;
      refusing([&] { as_f32(t); });
      refusing([&] { as_i64(t); });
    }
  });
}

// A schema of every setting type (range, choices, a word, lists): the parsing is the same for every key.
const Schema& schema() {
  static const Schema s = [] {
    Schema x;
    using T = SettingType;
    x.add({.key = "a.flag", .type = T::Bool, .def = false, .help = "a"});
    x.add({.key = "a.count", .type = T::Int, .def = int64_t{3}, .help = "a", .min = 0.0, .max = 1000.0});
    x.add({.key = "a.speed", .type = T::Float, .def = 1.0, .help = "a", .min = 1e-3, .max = 1e6, .choices = {"max"}});
    x.add({.key = "a.mode", .type = T::String, .def = std::string("trial"), .help = "a", .choices = {"trial", "tr"}});
    x.add({.key = "b.name", .type = T::String, .def = std::string(""), .help = "b"});
    x.add({.key = "b.chain", .type = T::StringList, .def = std::vector<std::string>{}, .help = "b"});
    x.add_table("run");
    return x;
  }();
  return s;
}

// The input as a settings file, then each of its lines as --set.
void settings(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Settings s(schema());
  refusing([&] { s.load_text(text, "fuzz"); });
  size_t at = 0;
  while (at <= text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    Settings t(schema());
    refusing([&] { t.apply_assignment(text.substr(at, end - at)); });
    at = end + 1;
  }
}

void decoder(const uint8_t* data, size_t size) {
  const auto p = as_file(data, size, ".safetensors");
  refusing([&] { load_decoder(p); });
}

// The JSON header, then the payload after the first newline.
void pyneal(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t nl = all.find('\n');
  const std::string_view header = all.substr(0, nl);
  const std::span<const std::byte> payload =
      nl == std::string_view::npos ? std::span<const std::byte>{} : std::span(reinterpret_cast<const std::byte*>(data) + nl + 1, size - nl - 1);
  refusing([&] { decode_pyneal(header, payload); });
}

void dicom(const uint8_t* data, size_t size) {
  const auto p = as_file(data, size, ".dcm");
  refusing([&] { read_siemens_dicom(p); });
}

// Our own checks before GDCM, in process: the whole input as a file, and as a CSA header.
void dicom_walk(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  dicom_unsafe_for_gdcm(bytes);
  dicom_bad_csa(bytes);
}

}  // namespace

const std::vector<Named>& targets() {
  static const std::vector<Named> list{{"hyper1", hyper1}, {"nifti", nifti},       {"npy", npy},       {"safetensors", safetensors},
                                       {"settings", settings}, {"decoder", decoder}, {"pyneal", pyneal}, {"dicom", dicom},
                                       {"dicom_walk", dicom_walk}};
  return list;
}

}  // namespace hyper::fuzz

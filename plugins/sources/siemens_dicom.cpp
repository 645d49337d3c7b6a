#include "sources/siemens_dicom.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/common_interface_defs.h>
#endif
#endif

#include <cmath>
#include <algorithm>
#include <array>
#include <map>
#include <cstring>
#include <fstream>
#include <optional>

#include <gdcmAttribute.h>
#include <gdcmCSAHeader.h>
#include <gdcmImageReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTrace.h>
#include <gdcmSplitMosaicFilter.h>
#include <spdlog/fmt/fmt.h>

namespace hyper {

namespace {

// A single-valued numeric attribute, if the file has it.
template <uint16_t G, uint16_t E>
std::optional<double> number(const gdcm::DataSet& ds) {
  if (!ds.FindDataElement(gdcm::Tag(G, E)) || ds.GetDataElement(gdcm::Tag(G, E)).IsEmpty()) return std::nullopt;
  gdcm::Attribute<G, E> a;
  a.Set(ds);
  return static_cast<double>(a.GetValue());
}

// Little-endian integers of a DICOM file's bytes (the caller checks the bounds).
uint32_t le16(std::string_view b, size_t at) { return static_cast<uint32_t>(static_cast<uint8_t>(b[at]) | static_cast<uint8_t>(b[at + 1]) << 8); }
uint32_t le32(std::string_view b, size_t at) { return le16(b, at) | le16(b, at + 2) << 16; }

// Debian's GDCM aborts the whole process on some malformed files (an assert on an unknown
// VR) and allocates whatever length an element claims (gigabytes from a 3 kB file): both
// found by tools/fuzz. So the elements are walked here first, as far as their lengths are
// defined: the file meta group (always explicit VR little endian), then the data set in an
// uncompressed little-endian transfer syntax. "unreadable: ..." for an element with no valid
// VR; "incomplete: ..." for one longer than the file (a file still being written); nothing
// when the walk finds no fault or cannot go on (no "DICM", compressed, a sequence of
// undefined length: GDCM's own checks from there).
std::optional<std::string> unsafe_for_gdcm(std::string_view b) {
  if (b.size() < 132 || b.compare(128, 4, "DICM") != 0) return std::nullopt;
  const auto u16 = [&](size_t at) { return le16(b, at); };
  const auto u32 = [&](size_t at) { return le32(b, at); };
  const auto is_vr = [](std::string_view vr, std::string_view list) {
    for (size_t k = 0; k + 2 <= list.size(); k += 2)
      if (list.substr(k, 2) == vr) return true;
    return false;
  };
  static constexpr std::string_view kVRs = "AEASATCSDADSDTFLFDISLOLTOBODOFOLOVOWPNSHSLSQSSSTSVTMUCUIULUNURUSUTUV";
  static constexpr std::string_view kLongVRs = "OBODOFOLOVOWSQSVUCUNURUTUV";  // 2 reserved bytes, a 4-byte length
  std::string syntax;
  bool explicit_vr = true;
  for (size_t at = 132; at + 8 <= b.size();) {
    const bool meta = u16(at) == 0x0002;
    if (at > 132 && !meta && syntax.empty()) break;  // after the meta group: which syntax the data set has
    if (!meta && syntax == "1.2.840.10008.1.2") explicit_vr = false;  // implicit VR little endian
    else if (!meta && syntax != "1.2.840.10008.1.2.1") return std::nullopt;  // compressed, big endian: GDCM's checks
    uint64_t length = 0;
    size_t header = 8;
    if (meta || explicit_vr) {
      const std::string_view vr(b.data() + at + 4, 2);
      if (!is_vr(vr, kVRs))
        return fmt::format("unreadable: element ({:04X},{:04X}) has no valid VR", u16(at), u16(at + 2));
      if (is_vr(vr, kLongVRs)) {
        if (at + 12 > b.size()) break;
        length = u32(at + 8), header = 12;
      } else {
        length = u16(at + 6);
      }
    } else {
      length = u32(at + 4);
    }
    if (length == 0xffffffffu) return std::nullopt;  // a sequence of undefined length: GDCM from here
    if (at + header + length > b.size())
      return fmt::format("incomplete: element ({:04X},{:04X}) needs {} bytes, the file ends after {}", u16(at), u16(at + 2), length,
                         b.size() - at - header);
    if (meta && u16(at + 2) == 0x0010) {  // the transfer syntax UID, padded with a NUL or a space
      syntax = b.substr(at + header, length);
      while (!syntax.empty() && (syntax.back() == '\0' || syntax.back() == ' ')) syntax.pop_back();
    }
    at += header + length;
  }
  return std::nullopt;
}

// "incomplete: ..." when the file ends before its Pixel Data element (tag 7FE0,0010 with the
// declared length `vl`, explicit VR: "OW"/"OB", 2 reserved bytes, 4 length bytes; implicit: 4
// length bytes) does; nothing when it is whole.
std::optional<std::string> short_of_pixel_data(std::string_view b, uint32_t vl) {
  if (vl == 0xffffffffu) return std::nullopt;  // encapsulated (compressed): GDCM fails on a cut one
  const auto u32 = [&](size_t at) { return le32(b, at); };
  const std::string_view tag("\xE0\x7F\x10\x00", 4);
  for (size_t at = b.find(tag); at != std::string_view::npos && at + 12 <= b.size(); at = b.find(tag, at + 1)) {
    const bool explicit_vr = (b.compare(at + 4, 2, "OW") == 0 || b.compare(at + 4, 2, "OB") == 0) && u32(at + 8) == vl;
    if (!explicit_vr && u32(at + 4) != vl) continue;
    const size_t need = at + (explicit_vr ? 12 : 8) + vl;
    if (b.size() < need) return fmt::format("incomplete: {} of {} bytes", b.size(), need);
    return std::nullopt;
  }
  return std::string("incomplete: no Pixel Data element yet");
}

// Where voxel (i, j, k) lies (LPS) and where its pixel is.
struct Layout {
  int64_t nx = 0, ny = 0, nz = 0;
  int64_t tiles = 0;                 // a mosaic's tiles per side; 0: one frame per slice
  double row[3]{}, col[3]{};         // directions of i and j
  double step[3]{};                  // from one slice to the next, mm
  double pos0[3]{};                  // voxel (0, 0, 0)
  double dc = 0, dr = 0, dz = 0;     // between columns, rows, slices
  double tr_ms = 0;
};

template <uint16_t G, uint16_t E, class A = gdcm::Attribute<G, E>>
std::optional<A> attribute(const gdcm::DataSet& ds) {
  if (!ds.FindDataElement(gdcm::Tag(G, E)) || ds.GetDataElement(gdcm::Tag(G, E)).IsEmpty()) return std::nullopt;
  A a;
  a.Set(ds);
  return a;
}

// GDCM's CSA parser (SplitMosaicFilter) asserts on what it does not expect and allocates
// any item length: its walk, done here first on the image and series CSA headers
// (0029,xx10/xx20 "SIEMENS CSA HEADER"), refuses what would trip it. The layout (SV10, or
// no magic): n elements of name[64], vm, vr[4] (vr[2] = 0), syngodt (one of GDCM's known
// codes, with its VR), nitems, 77 or 205; each item 4 words (len, len, 77 or 205, len),
// then len bytes padded to 4.
std::optional<std::string> bad_csa(std::string_view b) {
  if (b.size() < 4 || std::all_of(b.begin(), b.end(), [](char c) { return c == 0; })) return std::nullopt;  // empty, zeroed out
  if (b.substr(0, 4) == "!INT") return std::nullopt;
  if (b.substr(0, 2) == std::string_view("\0\0", 2) || b.substr(0, 2) == std::string_view("\6\0", 2) || b.substr(0, 4) == "VS01")
    return std::string("unreadable: a CSA header in a layout this reader does not take");
  size_t at = 0;
  const auto word = [&](uint32_t& v) {
    if (at + 4 > b.size()) return false;
    std::memcpy(&v, b.data() + at, 4);
    at += 4;
    return true;
  };
  uint32_t n = 0, unused = 0, magic = 0;
  if (b.substr(0, 4) == "SV10") {
    at = 4;
    if (!word(magic) || magic != 0x01020304u) return std::string("unreadable: a CSA header (SV10) without its 04 03 02 01");
  }
  if (!word(n) || !word(unused)) return std::string("unreadable: a CSA header cut short");
  if (unused != 77) return std::nullopt;  // GDCM gives up on it by itself
  static const std::map<uint32_t, std::string_view> kSyngo{{0, "UN"}, {3, "DS"},  {4, "FD"},  {5, "FL"},  {6, "IS"},  {7, "SL"},
                                                           {8, "SS"}, {9, "UL"},  {10, "US"}, {16, "CS"}, {19, "LO"}, {20, "LT"},
                                                           {22, "SH"}, {23, "ST"}, {25, "UI"}, {27, "UT"}};
  for (uint32_t i = 0; i < n; ++i) {
    if (at + 64 + 4 + 4 > b.size()) return std::string("unreadable: a CSA header cut short");
    const std::string_view vr(b.data() + at + 68, 4);
    at += 72;
    uint32_t syngodt = 0, nitems = 0, xx = 0;
    if (!word(syngodt) || !word(nitems) || !word(xx)) return std::string("unreadable: a CSA header cut short");
    const auto known = kSyngo.find(syngodt);
    if (vr[2] != 0 || known == kSyngo.end() || vr.substr(0, 2) != known->second ||
        (xx != 77 && xx != 205))
      return fmt::format("unreadable: CSA element {} is malformed", i);
    for (uint32_t j = 0; j < nitems; ++j) {
      uint32_t item[4];
      for (uint32_t& w : item)
        if (!word(w)) return std::string("unreadable: a CSA header cut short");
      if ((item[2] != 77 && item[2] != 205) || item[0] != item[1] || item[1] != item[3] || item[1] > b.size() - at)
        return fmt::format("unreadable: CSA element {} item {} is malformed", i, j);
      at += item[1] + (4 - item[1] % 4) % 4;
    }
  }
  return std::nullopt;
}

std::optional<std::string> bad_csa_headers(const gdcm::DataSet& ds) {
  for (const gdcm::PrivateTag& tag : {gdcm::CSAHeader::GetCSAImageHeaderInfoTag(), gdcm::CSAHeader::GetCSASeriesHeaderInfoTag()}) {
    if (!ds.FindDataElement(tag)) continue;
    const gdcm::ByteValue* bv = ds.GetDataElement(tag).GetByteValue();
    if (!bv) continue;
    if (auto why = bad_csa(std::string_view(bv->GetPointer(), bv->GetLength()))) return why;
  }
  return std::nullopt;
}

// Siemens VB/VD/VE: one image of ceil(sqrt(n)) x ceil(sqrt(n)) tiles.
std::variant<Layout, std::string> mosaic_layout(const gdcm::File& file, int64_t rows, int64_t cols) {
  const gdcm::DataSet& ds = file.GetDataSet();
  const auto ipp = attribute<0x0020, 0x0032>(ds);
  const auto iop = attribute<0x0020, 0x0037>(ds);
  const auto spacing = attribute<0x0028, 0x0030>(ds);
  if (!ipp || !iop || !spacing) return std::string("unreadable: no ImagePositionPatient, ImageOrientationPatient or PixelSpacing");
  if (auto why = bad_csa_headers(ds)) return *why;
  const unsigned n_slices = gdcm::SplitMosaicFilter::GetNumberOfImagesInMosaic(file);
  if (n_slices == 0) return std::string("not a mosaic: no NumberOfImagesInMosaic (CSA header) and no acquisition matrix");
  Layout g;
  g.tiles = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n_slices))));
  if (rows % g.tiles || cols % g.tiles) return fmt::format("not a mosaic: {} x {} pixels do not hold {} x {} tiles", rows, cols, g.tiles, g.tiles);
  g.nx = cols / g.tiles, g.ny = rows / g.tiles, g.nz = n_slices;
  for (unsigned a = 0; a < 3; ++a) g.row[a] = iop->GetValue(a), g.col[a] = iop->GetValue(a + 3);
  g.dr = spacing->GetValue(0), g.dc = spacing->GetValue(1);
  // The slice direction: the CSA header's SliceNormalVector (its sign orders the slices), else row x col.
  double n[3] = {g.row[1] * g.col[2] - g.row[2] * g.col[1], g.row[2] * g.col[0] - g.row[0] * g.col[2], g.row[0] * g.col[1] - g.row[1] * g.col[0]};
  gdcm::SplitMosaicFilter filter;
  filter.SetFile(file);
  bool inverted = false;
  double csa_normal[3];
  if (filter.ComputeMOSAICSliceNormal(csa_normal, inverted)) std::memcpy(n, csa_normal, sizeof n);
  g.dz = number<0x0018, 0x0088>(ds).value_or(number<0x0018, 0x0050>(ds).value_or(0));
  if (!(g.dz > 0)) return std::string("unreadable: neither SpacingBetweenSlices nor SliceThickness");
  // ImagePositionPatient is the mosaic's top-left pixel: slice 0 lies (mosaic - tile) / 2 further.
  for (unsigned a = 0; a < 3; ++a) {
    g.step[a] = n[a] * g.dz;
    g.pos0[a] = ipp->GetValue(a) + g.row[a] * g.dc * static_cast<double>(cols - g.nx) / 2 +
                g.col[a] * g.dr * static_cast<double>(rows - g.ny) / 2;
  }
  g.tr_ms = number<0x0018, 0x0080>(ds).value_or(0);
  return g;
}

// The first item of sequence `tag` in `ds` (or in its shared functional groups), if any.
const gdcm::DataSet* item(const gdcm::DataSet& ds, const gdcm::Tag& tag, unsigned index = 1) {
  if (!ds.FindDataElement(tag)) return nullptr;
  const gdcm::SmartPointer<gdcm::SequenceOfItems> sq = ds.GetDataElement(tag).GetValueAsSQ();
  if (!sq || sq->GetNumberOfItems() < index) return nullptr;
  return &sq->GetItem(index).GetNestedDataSet();
}

// Siemens XA: enhanced MR, one frame per slice; the geometry in the functional groups.
std::variant<Layout, std::string> enhanced_layout(const gdcm::DataSet& ds, int64_t rows, int64_t cols, int64_t frames) {
  const gdcm::DataSet* shared = item(ds, gdcm::Tag(0x5200, 0x9229));
  const gdcm::DataSet* measures = shared ? item(*shared, gdcm::Tag(0x0028, 0x9110)) : nullptr;
  const gdcm::DataSet* orientation = shared ? item(*shared, gdcm::Tag(0x0020, 0x9116)) : nullptr;
  const auto iop = orientation ? attribute<0x0020, 0x0037>(*orientation) : std::nullopt;
  const auto spacing = measures ? attribute<0x0028, 0x0030>(*measures) : std::nullopt;
  if (!iop || !spacing) return std::string("unreadable: an enhanced file without PlaneOrientation or PixelMeasures (shared groups)");
  Layout g;
  g.nx = cols, g.ny = rows, g.nz = frames;
  for (unsigned a = 0; a < 3; ++a) g.row[a] = iop->GetValue(a), g.col[a] = iop->GetValue(a + 3);
  g.dr = spacing->GetValue(0), g.dc = spacing->GetValue(1);
  // Each frame's position; the slices must step evenly (one volume, in order).
  std::vector<std::array<double, 3>> pos;
  for (unsigned f = 1; f <= static_cast<unsigned>(frames); ++f) {
    const gdcm::DataSet* frame = item(ds, gdcm::Tag(0x5200, 0x9230), f);
    const gdcm::DataSet* plane = frame ? item(*frame, gdcm::Tag(0x0020, 0x9113)) : nullptr;
    const auto ipp = plane ? attribute<0x0020, 0x0032>(*plane) : std::nullopt;
    if (!ipp) return fmt::format("unreadable: frame {} has no PlanePosition", f);
    pos.push_back({ipp->GetValue(0), ipp->GetValue(1), ipp->GetValue(2)});
  }
  for (unsigned a = 0; a < 3; ++a) {
    g.pos0[a] = pos[0][a];
    g.step[a] = (pos.back()[a] - pos[0][a]) / static_cast<double>(frames - 1);
  }
  g.dz = std::hypot(g.step[0], g.step[1], g.step[2]);
  for (size_t f = 0; f < pos.size(); ++f)
    for (unsigned a = 0; a < 3; ++a)
      if (std::fabs(pos[f][a] - (g.pos0[a] + static_cast<double>(f) * g.step[a])) > 1e-3 * std::max(1.0, g.dz))
        return fmt::format("unreadable: frame {} is not one slice step from the one before (not one volume in order)", f + 1);
  const gdcm::DataSet* timing = shared ? item(*shared, gdcm::Tag(0x0018, 0x9112)) : nullptr;
  g.tr_ms = timing ? number<0x0018, 0x0080>(*timing).value_or(0) : number<0x0018, 0x0080>(ds).value_or(0);
  return g;
}

}  // namespace

std::optional<std::string> dicom_unsafe_for_gdcm(std::string_view file_bytes) { return unsafe_for_gdcm(file_bytes); }
std::optional<std::string> dicom_bad_csa(std::string_view csa_header) { return bad_csa(csa_header); }

std::variant<DicomVolume, std::string> read_siemens_dicom_here(const std::filesystem::path& path) {
  // GDCM's warnings go to stderr by the line ("Incomplete Pixel Data", a left-handed slice
  // normal): what matters is in the result, and said in our log.
  static const bool quiet = [] {
    gdcm::Trace::WarningOff();
    return true;
  }();
  (void)quiet;
  // The file's bytes, read once for both walks (GDCM reads it itself).
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (const auto why = unsafe_for_gdcm(bytes)) return *why;
  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  // A file being written (a share, a slow copy) does not parse yet, or its pixels are short.
  if (!reader.Read()) return std::string("incomplete: GDCM cannot read it (yet)");
  const gdcm::File& file = reader.GetFile();
  const gdcm::DataSet& ds = file.GetDataSet();
  const gdcm::Image& image = reader.GetImage();
  const gdcm::PixelFormat pf = image.GetPixelFormat();
  if (pf.GetSamplesPerPixel() != 1 || (pf.GetScalarType() != gdcm::PixelFormat::UINT16 && pf.GetScalarType() != gdcm::PixelFormat::INT16))
    return std::string("unreadable: pixels are not 16-bit grey values");
  const auto rows = static_cast<int64_t>(number<0x0028, 0x0010>(ds).value_or(0)), cols = static_cast<int64_t>(number<0x0028, 0x0011>(ds).value_or(0));
  const auto frames = static_cast<int64_t>(number<0x0028, 0x0008>(ds).value_or(1));
  // GDCM reads a file cut short without complaint (the missing pixels come back as whatever):
  // the file must reach the end of its Pixel Data as declared.
  if (const auto why = short_of_pixel_data(bytes, ds.GetDataElement(gdcm::Tag(0x7fe0, 0x0010)).GetVL())) return *why;
  // Bounded by the file's own size before anything is allocated (a header may claim any size).
  if (ds.GetDataElement(gdcm::Tag(0x7fe0, 0x0010)).GetVL() != static_cast<uint64_t>(rows * cols * frames * 2) ||
      image.GetBufferLength() != static_cast<size_t>(rows * cols * frames * 2))
    return fmt::format("unreadable: Pixel Data of {} bytes, {} x {} x {} x 2 expected", image.GetBufferLength(), rows, cols, frames);
  std::vector<char> pixels(image.GetBufferLength());
  if (static_cast<int64_t>(pixels.size()) != rows * cols * frames * 2 || !image.GetBuffer(pixels.data()))
    return fmt::format("incomplete: {} bytes of pixels, {} x {} x {} x 2 expected", pixels.size(), rows, cols, frames);
  auto geometry = frames > 1 ? enhanced_layout(ds, rows, cols, frames) : mosaic_layout(file, rows, cols);
  if (auto* why = std::get_if<std::string>(&geometry)) return *why;
  const Layout& g = std::get<Layout>(geometry);

  DicomVolume out;
  Volume& v = out.volume;
  v.dims = {g.nx, g.ny, g.nz};
  v.voxel_mm = {g.dc, g.dr, g.dz};
  // LPS: voxel (i, j, k) -> pos0 + i dc row + j dr col + k step; RAS+ flips x and y.
  for (int a = 0; a < 3; ++a) {
    const double flip = a < 2 ? -1.0 : 1.0;
    v.affine[static_cast<size_t>(a * 4 + 0)] = flip * g.row[a] * g.dc;
    v.affine[static_cast<size_t>(a * 4 + 1)] = flip * g.col[a] * g.dr;
    v.affine[static_cast<size_t>(a * 4 + 2)] = flip * g.step[a];
    v.affine[static_cast<size_t>(a * 4 + 3)] = flip * g.pos0[a];
  }
  v.affine[15] = 1;
  const double slope = number<0x0028, 0x1053>(ds).value_or(1), inter = number<0x0028, 0x1052>(ds).value_or(0);
  const bool is_signed = pf.GetScalarType() == gdcm::PixelFormat::INT16;
  const int64_t nx = g.nx, ny = g.ny, nz = g.nz;
  v.data.resize(static_cast<size_t>(nx * ny * nz));
  for (int64_t k = 0; k < nz; ++k) {
    // A mosaic's slice k is tile (k / tiles, k % tiles) of the one image; an enhanced file's is frame k.
    const int64_t row0 = g.tiles ? (k / g.tiles) * ny : k * ny, col0 = g.tiles ? (k % g.tiles) * nx : 0;
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) {
        const size_t at = static_cast<size_t>(((row0 + j) * (g.tiles ? cols : nx) + col0 + i) * 2);
        uint16_t raw;
        std::memcpy(&raw, pixels.data() + at, 2);  // GDCM hands pixels in this machine's byte order
        const double x = is_signed ? static_cast<double>(static_cast<int16_t>(raw)) : static_cast<double>(raw);
        v.data[static_cast<size_t>(i + nx * (j + ny * k))] = static_cast<float>(x * slope + inter);
      }
  }
  out.series = static_cast<int64_t>(number<0x0020, 0x0011>(ds).value_or(0));
  out.instance = static_cast<int64_t>(number<0x0020, 0x0013>(ds).value_or(0));
  out.tr_s = g.tr_ms / 1000.0;
  return out;
}

namespace {

// The answer of the reading child over a pipe: 'V' and the volume's fields, or 'E' and the reason.
template <typename T>
void put(std::string& s, const T& v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
bool take(std::string_view& s, T& v) {
  if (s.size() < sizeof v) return false;
  std::memcpy(&v, s.data(), sizeof v);
  s.remove_prefix(sizeof v);
  return true;
}

std::string encode(const std::variant<DicomVolume, std::string>& r) {
  std::string s;
  if (const auto* why = std::get_if<std::string>(&r)) return "E" + *why;
  const DicomVolume& d = std::get<DicomVolume>(r);
  s = "V";
  put(s, d.series), put(s, d.instance), put(s, d.tr_s), put(s, d.volume.dims), put(s, d.volume.voxel_mm), put(s, d.volume.affine);
  s.append(reinterpret_cast<const char*>(d.volume.data.data()), d.volume.data.size() * sizeof(float));
  return s;
}

std::variant<DicomVolume, std::string> decode(std::string_view s) {
  if (s.empty()) return std::string("unreadable: the reader gave no answer");
  const char kind = s.front();
  s.remove_prefix(1);
  if (kind == 'E') return std::string(s);
  DicomVolume d;
  if (kind != 'V' || !take(s, d.series) || !take(s, d.instance) || !take(s, d.tr_s) || !take(s, d.volume.dims) ||
      !take(s, d.volume.voxel_mm) || !take(s, d.volume.affine) || s.size() != static_cast<size_t>(d.volume.voxel_count()) * sizeof(float))
    return std::string("unreadable: the reader's answer is malformed");
  d.volume.data.resize(static_cast<size_t>(d.volume.voxel_count()));
  std::memcpy(d.volume.data.data(), s.data(), s.size());
  return d;
}

}  // namespace

std::variant<DicomVolume, std::string> read_siemens_dicom(const std::filesystem::path& path) {
  // GDCM (Debian's, built with assertions) aborts the process on some malformed files, and
  // tools/fuzz keeps finding new ones: the file is read in a child process, so a bad file
  // costs its volume, never the stream (the fork costs a few ms a volume: README).
  int fd[2];
  if (pipe2(fd, O_CLOEXEC) != 0) return fmt::format("unreadable: no pipe to read it through: {}", std::strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) {
    close(fd[0]), close(fd[1]);
    return fmt::format("unreadable: cannot start a process to read it: {}", std::strerror(errno));
  }
  if (pid == 0) {  // the child: read, answer, _exit (no destructors, no atexit of the parent's)
    close(fd[0]);
    for (const int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) signal(sig, SIG_DFL);  // the parent's crash handlers are not the child's
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
    __sanitizer_set_death_callback(nullptr);  // nor, under a sanitizer (tools/fuzz), its death callback
#endif
#endif
    std::string answer;
    try {
      answer = encode(read_siemens_dicom_here(path));
    } catch (const std::exception& e) {
      answer = std::string("Eunreadable: ") + e.what();
    }
    for (size_t at = 0; at < answer.size();) {
      const ssize_t n = write(fd[1], answer.data() + at, answer.size() - at);
      if (n <= 0) _exit(1);
      at += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fd[1]);
  std::string got;
  char buf[65536];
  for (;;) {
    pollfd p{fd[0], POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) {  // a reader that hangs (a volume takes milliseconds) is stopped
      kill(pid, SIGKILL);
      break;
    }
    const ssize_t n = read(fd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    return fmt::format("unreadable: the DICOM reader (GDCM) stopped on it ({})", strsignal(WTERMSIG(status)));
  return decode(got);
}

}  // namespace hyper

#include "sources/siemens_mosaic.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>

#include <gdcmAttribute.h>
#include <gdcmImageReader.h>
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

// "incomplete: ..." when the file ends before its Pixel Data element (tag 7FE0,0010 with the
// declared length `vl`, explicit VR: "OW"/"OB", 2 reserved bytes, 4 length bytes; implicit: 4
// length bytes) does; nothing when it is whole.
std::optional<std::string> short_of_pixel_data(const std::filesystem::path& path, uint32_t vl) {
  if (vl == 0xffffffffu) return std::nullopt;  // encapsulated (compressed): GDCM fails on a cut one
  std::ifstream in(path, std::ios::binary);
  const std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    std::memcpy(&v, b.data() + at, 4);
    return v;
  };
  const std::string_view tag("\xE0\x7F\x10\x00", 4);
  for (size_t at = b.find(tag); at != std::string::npos && at + 12 <= b.size(); at = b.find(tag, at + 1)) {
    const bool explicit_vr = (b.compare(at + 4, 2, "OW") == 0 || b.compare(at + 4, 2, "OB") == 0) && u32(at + 8) == vl;
    if (!explicit_vr && u32(at + 4) != vl) continue;
    const size_t need = at + (explicit_vr ? 12 : 8) + vl;
    if (b.size() < need) return fmt::format("incomplete: {} of {} bytes", b.size(), need);
    return std::nullopt;
  }
  return std::string("incomplete: no Pixel Data element yet");
}

}  // namespace

std::variant<DicomVolume, std::string> read_siemens_mosaic(const std::filesystem::path& path) {
  // GDCM's warnings go to stderr by the line ("Incomplete Pixel Data", a left-handed slice
  // normal): what matters is in the result, and said in our log.
  static const bool quiet = [] {
    gdcm::Trace::WarningOff();
    return true;
  }();
  (void)quiet;
  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  // A file being written (a share, a slow copy) does not parse yet, or its pixels are short.
  if (!reader.Read()) return std::string("incomplete: GDCM cannot read it (yet)");
  const gdcm::File& file = reader.GetFile();
  const gdcm::DataSet& ds = file.GetDataSet();
  const gdcm::Image& image = reader.GetImage();
  for (const gdcm::Tag t : {gdcm::Tag(0x0020, 0x0032), gdcm::Tag(0x0020, 0x0037), gdcm::Tag(0x0028, 0x0030), gdcm::Tag(0x0028, 0x0010),
                            gdcm::Tag(0x0028, 0x0011)})
    if (!ds.FindDataElement(t) || ds.GetDataElement(t).IsEmpty())
      return fmt::format("unreadable: no {} (a mosaic needs position, orientation, spacing and size)", t.PrintAsPipeSeparatedString());
  const gdcm::PixelFormat pf = image.GetPixelFormat();
  if (pf.GetSamplesPerPixel() != 1 || (pf.GetScalarType() != gdcm::PixelFormat::UINT16 && pf.GetScalarType() != gdcm::PixelFormat::INT16))
    return std::string("unreadable: pixels are not 16-bit grey values");
  gdcm::Attribute<0x0028, 0x0010> rows_a;
  gdcm::Attribute<0x0028, 0x0011> cols_a;
  rows_a.Set(ds);
  cols_a.Set(ds);
  const int64_t rows = rows_a.GetValue(), cols = cols_a.GetValue();
  // GDCM reads a file cut short without complaint (the missing pixels come back as whatever):
  // the file must reach the end of its Pixel Data as declared.
  if (const auto why = short_of_pixel_data(path, ds.GetDataElement(gdcm::Tag(0x7fe0, 0x0010)).GetVL())) return *why;
  std::vector<char> pixels(image.GetBufferLength());
  if (static_cast<int64_t>(pixels.size()) != rows * cols * 2 || !image.GetBuffer(pixels.data()))
    return fmt::format("incomplete: {} bytes of pixels, {} x {} x 2 expected", pixels.size(), rows, cols);

  const unsigned n_slices = gdcm::SplitMosaicFilter::GetNumberOfImagesInMosaic(file);
  if (n_slices == 0) return std::string("not a mosaic: no NumberOfImagesInMosaic (CSA header) and no acquisition matrix");
  const auto tiles = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n_slices))));
  if (rows % tiles || cols % tiles) return fmt::format("not a mosaic: {} x {} pixels do not hold {} x {} tiles", rows, cols, tiles, tiles);
  const int64_t nx = cols / tiles, ny = rows / tiles, nz = n_slices;

  gdcm::Attribute<0x0020, 0x0032> ipp;
  gdcm::Attribute<0x0020, 0x0037> iop;
  gdcm::Attribute<0x0028, 0x0030> spacing;
  ipp.Set(ds);
  iop.Set(ds);
  spacing.Set(ds);
  const double r[3] = {iop.GetValue(0), iop.GetValue(1), iop.GetValue(2)};  // along a row: the column index, i
  const double c[3] = {iop.GetValue(3), iop.GetValue(4), iop.GetValue(5)};  // down a column: the row index, j
  const double dr = spacing.GetValue(0), dc = spacing.GetValue(1);         // between rows, between columns
  // The slice direction: the CSA header's SliceNormalVector (its sign orders the slices), else r x c.
  double n[3] = {r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]};
  gdcm::SplitMosaicFilter filter;
  filter.SetFile(file);
  bool inverted = false;
  double csa_normal[3];
  if (filter.ComputeMOSAICSliceNormal(csa_normal, inverted)) std::memcpy(n, csa_normal, sizeof n);
  const double dz = number<0x0018, 0x0088>(ds).value_or(number<0x0018, 0x0050>(ds).value_or(0));
  if (!(dz > 0)) return std::string("unreadable: neither SpacingBetweenSlices nor SliceThickness");

  DicomVolume out;
  Volume& v = out.volume;
  v.dims = {nx, ny, nz};
  v.voxel_mm = {dc, dr, dz};
  // LPS: voxel (i, j, k) -> pos0 + i dc r + j dr c + k dz n; RAS+ flips x and y.
  double pos0[3];
  for (int a = 0; a < 3; ++a)
    pos0[a] = ipp.GetValue(static_cast<unsigned>(a)) + r[a] * dc * static_cast<double>(cols - nx) / 2 +
              c[a] * dr * static_cast<double>(rows - ny) / 2;
  for (int a = 0; a < 3; ++a) {
    const double flip = a < 2 ? -1.0 : 1.0;
    v.affine[static_cast<size_t>(a * 4 + 0)] = flip * r[a] * dc;
    v.affine[static_cast<size_t>(a * 4 + 1)] = flip * c[a] * dr;
    v.affine[static_cast<size_t>(a * 4 + 2)] = flip * n[a] * dz;
    v.affine[static_cast<size_t>(a * 4 + 3)] = flip * pos0[a];
  }
  v.affine[15] = 1;
  const double slope = number<0x0028, 0x1053>(ds).value_or(1), inter = number<0x0028, 0x1052>(ds).value_or(0);
  const bool is_signed = pf.GetScalarType() == gdcm::PixelFormat::INT16;
  v.data.resize(static_cast<size_t>(nx * ny * nz));
  for (int64_t k = 0; k < nz; ++k) {
    const int64_t row0 = (k / tiles) * ny, col0 = (k % tiles) * nx;
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) {
        const size_t at = static_cast<size_t>(((row0 + j) * cols + col0 + i) * 2);
        uint16_t raw;
        std::memcpy(&raw, pixels.data() + at, 2);  // GDCM hands pixels in this machine's byte order
        const double x = is_signed ? static_cast<double>(static_cast<int16_t>(raw)) : static_cast<double>(raw);
        v.data[static_cast<size_t>(i + nx * (j + ny * k))] = static_cast<float>(x * slope + inter);
      }
  }
  out.series = static_cast<int64_t>(number<0x0020, 0x0011>(ds).value_or(0));
  out.instance = static_cast<int64_t>(number<0x0020, 0x0013>(ds).value_or(0));
  out.tr_s = number<0x0018, 0x0080>(ds).value_or(0) / 1000.0;
  return out;
}

}  // namespace hyper

#include "io/nifti.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <nifti2_io.h>
#include <zlib.h>

namespace hyper {

namespace {

struct NimDeleter {
  void operator()(nifti_image* n) const { nifti_image_free(n); }
};
using NimPtr = std::unique_ptr<nifti_image, NimDeleter>;

[[noreturn]] void fail(const std::filesystem::path& p, const std::string& why) {
  throw std::runtime_error(p.string() + ": " + why);
}

DType dtype_from_nifti(int code, const std::filesystem::path& p) {
  switch (code) {
    case NIFTI_TYPE_INT16: return DType::Int16;
    case NIFTI_TYPE_UINT16: return DType::UInt16;
    case NIFTI_TYPE_INT32: return DType::Int32;
    case NIFTI_TYPE_FLOAT32: return DType::Float32;
    case NIFTI_TYPE_FLOAT64: return DType::Float64;
    default:
      fail(p, std::string("unsupported voxel type ") + nifti_datatype_string(code) +
                  " (supported: " + std::string(supported_dtypes()) + ")");
  }
}

int nifti_from_dtype(DType t) {
  switch (t) {
    case DType::Int16: return NIFTI_TYPE_INT16;
    case DType::UInt16: return NIFTI_TYPE_UINT16;
    case DType::Int32: return NIFTI_TYPE_INT32;
    case DType::Float32: return NIFTI_TYPE_FLOAT32;
    case DType::Float64: return NIFTI_TYPE_FLOAT64;
  }
  return DT_UNKNOWN;
}

NimPtr open(const std::filesystem::path& path, bool read_data) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(path, "no such file");
  nifti_set_debug_level(0);  // we report errors ourselves, naming the file
  NimPtr nim(nifti_image_read(path.c_str(), read_data ? 1 : 0));
  if (!nim)
    fail(path, read_data ? "not a readable NIfTI-1/NIfTI-2 file, or its data is truncated"
                         : "not a readable NIfTI-1/NIfTI-2 header");
  return nim;
}

// What the library hides: it reports a zero pixdim as 1 (so a missing TR would read as
// 1 s) and does not say which NIfTI version it read. Both come from the raw header.
struct RawFacts {
  int version = 1;
  double pixdim4 = 0;
};

RawFacts raw_facts(const std::filesystem::path& path) {
  std::array<unsigned char, 540> buf{};
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files as they are
  if (!f) fail(path, "cannot open");
  const int got = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
  gzclose(f);
  if (got < 348) fail(path, "file too short for a NIfTI header");
  int32_t sizeof_hdr;
  std::memcpy(&sizeof_hdr, buf.data(), 4);
  const bool swap = sizeof_hdr != 348 && sizeof_hdr != 540;
  auto load = [&](size_t offset, auto value) {
    std::memcpy(&value, buf.data() + offset, sizeof value);
    if (swap) {
      auto* b = reinterpret_cast<unsigned char*>(&value);
      std::reverse(b, b + sizeof value);
    }
    return value;
  };
  RawFacts r;
  r.version = load(0, int32_t{}) == 540 ? 2 : 1;
  if (r.version == 2 && got < 540) fail(path, "file too short for a NIfTI-2 header");
  // pixdim[4]: float32 at byte 92 in NIfTI-1, float64 at byte 136 in NIfTI-2.
  r.pixdim4 = r.version == 1 ? static_cast<double>(load(92, float{})) : load(136, double{});
  return r;
}

NiftiInfo info_from(const nifti_image& n, const std::filesystem::path& path) {
  NiftiInfo info;
  if (n.ndim < 3 || n.ndim > 4 || n.nu > 1 || n.nv > 1 || n.nw > 1)
    fail(path, "expected a 3D or 4D image, got " + std::to_string(n.ndim) + " dimensions");
  info.dims = {n.nx, n.ny, n.nz, n.ndim == 4 ? n.nt : 1};
  info.voxel_mm = {n.dx, n.dy, n.dz};
  for (double v : info.voxel_mm)
    if (!(v > 0)) fail(path, "voxel sizes (pixdim[1..3]) must be positive");
  const nifti_dmat44* m = n.sform_code > 0 ? &n.sto_xyz : n.qform_code > 0 ? &n.qto_xyz : nullptr;
  if (m) {
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) info.affine[static_cast<size_t>(r * 4 + c)] = m->m[r][c];
  } else {
    info.affine = diagonal_affine(info.voxel_mm);
  }
  double unit = 1.0;
  switch (n.time_units) {
    case NIFTI_UNITS_SEC: info.time_unit = "s"; break;
    case NIFTI_UNITS_MSEC: info.time_unit = "ms"; unit = 1e-3; break;
    case NIFTI_UNITS_USEC: info.time_unit = "us"; unit = 1e-6; break;
    default: info.time_unit = "unknown"; break;
  }
  const RawFacts raw = raw_facts(path);
  info.tr_s = n.ndim == 4 && raw.pixdim4 > 0 && std::isfinite(raw.pixdim4) ? raw.pixdim4 * unit : 0.0;
  info.dtype = dtype_from_nifti(n.datatype, path);
  info.slope = n.scl_slope == 0 ? 1.0 : n.scl_slope;
  info.inter = n.scl_slope == 0 ? 0.0 : n.scl_inter;
  info.version = raw.version;
  return info;
}

}  // namespace

std::span<const std::byte> NiftiRun::volume_raw(int64_t t) const {
  const size_t n = info.volume_bytes();
  return {data.get() + static_cast<size_t>(t) * n, n};
}

Volume NiftiRun::volume(int64_t t) const {
  Volume v;
  v.dims = {info.dims[0], info.dims[1], info.dims[2]};
  v.voxel_mm = info.voxel_mm;
  v.affine = info.affine;
  v.data.resize(static_cast<size_t>(info.volume_voxels()));
  convert_to_float(volume_raw(t), info.dtype, native_byte_order(), MemoryOrder::Fortran, v.dims,
                   info.slope, info.inter, v.data.data());
  return v;
}

NiftiInfo read_nifti_info(const std::filesystem::path& path) {
  return info_from(*open(path, false), path);
}

NiftiRun read_nifti(const std::filesystem::path& path) {
  NimPtr nim = open(path, true);
  NiftiRun run;
  run.info = info_from(*nim, path);
  const size_t bytes = run.info.volume_bytes() * static_cast<size_t>(run.info.dims[3]);
  if (static_cast<size_t>(nim->nvox) * static_cast<size_t>(nim->nbyper) != bytes || !nim->data)
    fail(path, "data size does not match the header");
  // The library has already swapped the data to this machine's byte order, into a buffer
  // from malloc that nifti_image_free would free: take it over instead.
  run.data.reset(static_cast<std::byte*>(nim->data));
  nim->data = nullptr;
  return run;
}

void write_nifti(const std::filesystem::path& path, const NiftiInfo& info,
                 std::span<const std::byte> raw) {
  const size_t bytes = info.volume_bytes() * static_cast<size_t>(info.dims[3]);
  if (raw.size() != bytes) fail(path, "write_nifti: data size does not match dims x dtype");
  // One volume is written as a 3D image (masks, templates), several as 4D.
  const int64_t dims[8] = {info.dims[3] > 1 ? 4 : 3, info.dims[0], info.dims[1], info.dims[2], info.dims[3], 1, 1, 1};
  NimPtr nim(nifti_make_new_nim(dims, nifti_from_dtype(info.dtype), 0));
  if (!nim) fail(path, "cannot create a NIfTI image");
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nim->dx = nim->pixdim[1] = info.voxel_mm[0];
  nim->dy = nim->pixdim[2] = info.voxel_mm[1];
  nim->dz = nim->pixdim[3] = info.voxel_mm[2];
  nim->dt = nim->pixdim[4] = info.tr_s;
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->time_units = NIFTI_UNITS_SEC;
  nim->scl_slope = info.slope;
  nim->scl_inter = info.inter;
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = info.affine[static_cast<size_t>(r * 4 + c)];
  nim->sform_code = nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->sto_xyz = m;
  nim->sto_ijk = nifti_dmat44_inverse(m);
  nifti_dmat44_to_quatern(m, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d, &nim->qoffset_x,
                          &nim->qoffset_y, &nim->qoffset_z, nullptr, nullptr, nullptr,
                          &nim->qfac);
  nim->qto_xyz = nifti_quatern_to_dmat44(nim->quatern_b, nim->quatern_c, nim->quatern_d,
                                         nim->qoffset_x, nim->qoffset_y, nim->qoffset_z, nim->dx,
                                         nim->dy, nim->dz, nim->qfac);
  nim->qto_ijk = nifti_dmat44_inverse(nim->qto_xyz);
  if (nifti_set_filenames(nim.get(), path.c_str(), 0, 1) != 0) fail(path, "bad output name");
  // The library neither copies nor frees `data` we lend it; detach it before the free.
  nim->data = const_cast<std::byte*>(raw.data());
  nifti_image_write(nim.get());  // reports no status: read the header back instead
  nim->data = nullptr;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(path, "writing failed (is the folder writable?)");
  const NiftiInfo back = read_nifti_info(path);
  if (back.dims != info.dims || back.dtype != info.dtype)
    fail(path, "writing failed: the header read back differs");
}

}  // namespace hyper

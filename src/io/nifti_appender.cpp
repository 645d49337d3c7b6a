#include "io/nifti_appender.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <stdexcept>

#include "io/files.hpp"
#include "io/nifti.hpp"

namespace hyper {

namespace {

// NIfTI-1: dim[0..7] are int16 at byte 40; the voxels start at vox_offset (352 for .nii).
constexpr off_t kDimOffset = 40;

[[noreturn]] void fail(const std::filesystem::path& p, const std::string& why) {
  throw std::runtime_error(p.string() + ": " + why + " (" + std::strerror(errno) + ")");
}

}  // namespace

NiftiAppender::NiftiAppender(const std::filesystem::path& path, const Volume& first, double tr_s)
    : path_(path), voxels_(first.voxel_count()) {
  NiftiInfo info;
  info.dims = {first.dims[0], first.dims[1], first.dims[2], 1};
  info.voxel_mm = first.voxel_mm;
  info.affine = first.affine;
  info.dtype = DType::Float32;
  info.tr_s = tr_s;
  write_nifti(path, info, std::as_bytes(std::span(first.data)));  // a 3D file of one volume; 4D from the second
  fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) fail(path, "cannot reopen to append");
  volumes_ = 1;
  offset_ = static_cast<off_t>(std::filesystem::file_size(path)) - static_cast<off_t>(voxels_ * static_cast<int64_t>(sizeof(float)));
}

NiftiAppender::NiftiAppender(const std::filesystem::path& path) : path_(path) {
  const NiftiInfo info = read_nifti_info(path);
  if (info.dtype != DType::Float32 || info.version != 1)
    throw std::runtime_error(path.string() + ": not a BOLD recording of this program (float32 NIfTI-1) to continue");
  voxels_ = info.volume_voxels();
  volumes_ = info.dims[3];
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) fail(path, "cannot open to continue");
  float vox_offset = 0;  // NIfTI-1: a float32 at byte 108
  if (pread(fd_, &vox_offset, sizeof vox_offset, 108) != sizeof vox_offset) fail(path, "cannot read its header");
  offset_ = static_cast<off_t>(vox_offset);
}

NiftiAppender::~NiftiAppender() {
  if (fd_ >= 0) ::close(fd_);
}

void NiftiAppender::append(const std::vector<float>& voxels) {
  if (static_cast<int64_t>(voxels.size()) != voxels_)
    throw std::runtime_error(path_.string() + ": a volume of " + std::to_string(voxels.size()) + " voxels, the file's hold " +
                             std::to_string(voxels_));
  // At the place the header says comes next: a write that failed half-way is overwritten, never shifts the rest.
  const off_t at = offset_ + static_cast<off_t>(volumes_ * voxels_ * static_cast<int64_t>(sizeof(float)));
  pwrite_all(fd_, voxels.data(), voxels.size() * sizeof(float), at, path_);
  // Only now does the header claim it: dim[0] = 4, dim[4] = volumes (little-endian int16, as written).
  ++volumes_;
  const int16_t dims[5] = {4, 0, 0, 0, static_cast<int16_t>(volumes_)};
  pwrite_all(fd_, &dims[0], 2, kDimOffset, path_);
  pwrite_all(fd_, &dims[4], 2, kDimOffset + 8, path_);
}

void gzip_file(const std::filesystem::path& nii) {
  const std::filesystem::path gz = nii.string() + ".gz", part = nii.string() + ".gz.part";
  const int in = ::open(nii.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail(nii, "cannot open to compress");
  gzFile out = gzopen(part.c_str(), "wb1");  // level 1: fast, and fMRI noise hardly compresses further
  if (!out) {
    ::close(in);
    fail(part, "cannot write");
  }
  std::vector<char> buf(1 << 20);
  ssize_t n;
  bool ok = true;
  while ((n = read(in, buf.data(), buf.size())) > 0) ok &= gzwrite(out, buf.data(), static_cast<unsigned>(n)) == n;
  ok &= n == 0;
  ok &= gzclose(out) == Z_OK;
  ::close(in);
  if (!ok) {
    std::filesystem::remove(part);
    fail(gz, "compressing failed");
  }
  std::filesystem::rename(part, gz);
  std::filesystem::remove(nii);
}

}  // namespace hyper

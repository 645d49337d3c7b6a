#pragma once
// A 4D NIfTI-1 file that grows a volume at a time as a run is received (the BOLD recording):
// each volume's voxels are appended first, then the header's time dimension is rewritten in
// place, so the file is a valid NIfTI of the volumes written so far at any moment, also
// after the process is killed. float32, the first volume's grid, affine and TR.

#include <sys/types.h>

#include <filesystem>
#include <vector>

#include "hyper/volume.hpp"

namespace hyper {

class NiftiAppender {
 public:
  // Creates `path` (.nii) holding `first` as its one volume; throws naming the file.
  NiftiAppender(const std::filesystem::path& path, const Volume& first, double tr_s);
  // Continues `path` (written by this class, .nii) after the volumes its header counts.
  explicit NiftiAppender(const std::filesystem::path& path);
  ~NiftiAppender();
  NiftiAppender(const NiftiAppender&) = delete;
  NiftiAppender& operator=(const NiftiAppender&) = delete;

  // A volume of the first one's grid (else throws); the header then says one more.
  void append(const std::vector<float>& voxels);
  int64_t volumes() const { return volumes_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  off_t offset_ = 0;  // where the voxels start (vox_offset)
  int64_t voxels_ = 0, volumes_ = 0;
};

// Compresses `nii` into `nii` + ".gz" (written under a temporary name, then renamed) and
// removes `nii`; throws naming the file.
void gzip_file(const std::filesystem::path& nii);

}  // namespace hyper

#pragma once
// Finding fMRI runs: a NIfTI file, or every sub-*/[ses-*/]func/*_bold.nii[.gz] of a BIDS
// dataset, with the repetition time from the BIDS sidecar JSON where there is one.

#include <filesystem>
#include <string>
#include <vector>

namespace hyper {

struct RunFile {
  std::filesystem::path path;
  std::string run_id;        // file name without .nii / .nii.gz
  double sidecar_tr_s = 0;   // RepetitionTime from the sidecar JSON, 0 when there is none
};

// Throws std::runtime_error naming the path when it is neither a NIfTI file nor a BIDS
// dataset with runs. Runs come sorted by path (so run-01 before run-02).
std::vector<RunFile> find_runs(const std::filesystem::path& input);

// "sub-01_task-faces_run-01_bold.nii.gz" -> "sub-01_task-faces_run-01_bold"
std::string nifti_stem(const std::filesystem::path& p);
bool is_nifti_name(const std::filesystem::path& p);

}  // namespace hyper

#pragma once
// Finding fMRI runs: a NIfTI file, or every sub-*/[ses-*/]func/*_bold.nii[.gz] of a BIDS
// dataset, with the repetition time from the BIDS sidecar JSON where there is one.

#include <cstdint>
#include <filesystem>
#include <optional>
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

// A run's TR: `override_s` if > 0, else the sidecar's, else the NIfTI header's (pixdim[4]
// in `time_unit`; "unknown" is read as seconds, with a warning). Throws naming the file when
// none gives one. Every command that reads runs takes its TR from here.
double run_tr(const RunFile& run, double header_tr_s, const std::string& time_unit, double override_s = 0);

// One row of a BIDS events.tsv as HYPER-RT uses it.
struct Event {
  double onset = 0, duration = 0;  // seconds from the run's first volume
  std::string trial_type;          // "train" / "test" in the twin
  int64_t stim_index = -1;         // row of latents.npy, -1 when absent
};

// Reads onset, duration and (when present) trial_type and stim_index; throws naming the
// file, line and column on a bad value.
std::vector<Event> read_events(const std::filesystem::path& tsv);
// The events.tsv beside a BIDS run: ..._bold.nii.gz -> ..._events.tsv.
std::filesystem::path events_path(const std::filesystem::path& run);

// Where a recorded run's files go, without their suffix ("_bold.nii", "_events.tsv"):
// OUT/sub-S/[ses-X/]func/sub-S_[ses-X_]task-T_run-NN. `run` 0: the number after the highest
// with a _bold file there (a recording is never overwritten).
std::filesystem::path bids_run_stem(const std::filesystem::path& out, const std::string& subject, const std::string& session,
                                    const std::string& task, int run);
// The files of a run that exist: <stem>_* beside it (bold, events...).
std::vector<std::filesystem::path> run_files(const std::filesystem::path& stem);

// The BOLD recording `hyper stream` left unfinished for `run` under `out` (its sidecar's
// HyperRT.run, recording_complete false, the .nii beside it), if any.
struct BoldRecording {
  std::filesystem::path nii, sidecar;
  int64_t first_index = 0;
};
std::optional<BoldRecording> find_unfinished_bold(const std::filesystem::path& out, const std::string& run);

// "sub-01_task-faces_run-01_bold.nii.gz" -> "sub-01_task-faces_run-01_bold"
std::string nifti_stem(const std::filesystem::path& p);
bool is_nifti_name(const std::filesystem::path& p);

}  // namespace hyper

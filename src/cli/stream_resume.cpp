#include "cli/stream_resume.hpp"

#include <algorithm>
#include <memory>

#include "io/bids.hpp"
#include "io/nifti.hpp"
#include "io/run_record.hpp"

namespace hyper {

std::function<std::optional<ResumePoint>(const std::string& run)> resume_from_records(const std::string& out) {
  return [out](const std::string& run) -> std::optional<ResumePoint> {
    const auto record = unfinished_record(std::filesystem::path(out) / run);
    if (!record) return std::nullopt;
    ResumePoint p;
    p.recorded_through = record->last_index;
    p.recorded = [](int64_t) { return std::optional<Volume>(); };
    p.from = "the volumes the publisher resends (no BOLD recording of the run)";
    if (const auto bold = find_unfinished_bold(out, run)) {
      const auto data = std::make_shared<const NiftiRun>(read_nifti(bold->nii));
      const int64_t first = bold->first_index;
      p.recorded = [data, first](int64_t index) -> std::optional<Volume> {
        const int64_t k = index - first;
        if (k < 0 || k >= data->info.dims[3]) return std::nullopt;
        Volume v = data->volume(k);
        // A volume that never came is recorded as zeros: it was not processed then either.
        if (std::all_of(v.data.begin(), v.data.end(), [](float x) { return x == 0.0f; })) return std::nullopt;
        return v;
      };
      p.from = bold->nii.string() + " and what the publisher resends";
    }
    return p;
  };
}

}  // namespace hyper

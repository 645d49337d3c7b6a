#include "sinks/twin_truth.hpp"

#include <map>
#include <stdexcept>
#include <vector>

#include "core/hrf.hpp"
#include "io/bids.hpp"
#include "io/nifti.hpp"
#include "io/npy.hpp"

namespace hyper {

Truth twin_truth(const std::filesystem::path& dataset) {
  const NpyArray latents = read_npy(dataset / "stimuli" / "latents.npy");
  if (latents.shape.size() != 2 || latents.shape[1] != kLatentDim)
    throw std::runtime_error((dataset / "stimuli" / "latents.npy").string() + ": not rows of 512 latents");
  struct Shown {
    double from_s, to_s;  // when the response to it peaks: onset + delay .. end + delay
    int64_t stim;
  };
  struct Run {
    double tr_s = 0;
    std::vector<Shown> shown;
  };
  std::map<std::string, Run> runs;
  std::map<double, double> delay;  // per block duration
  for (const RunFile& r : find_runs(dataset)) {
    const NiftiInfo info = read_nifti_info(r.path);
    Run& run = runs[r.run_id];
    run.tr_s = run_tr(r, info.tr_s, info.time_unit);
    for (const Event& e : read_events(events_path(r.path))) {
      if (e.stim_index < 0 || e.stim_index >= latents.shape[0]) continue;
      if (!delay.count(e.duration)) delay[e.duration] = block_peak_delay(e.duration);
      run.shown.push_back({e.onset + delay[e.duration], e.onset + e.duration + delay[e.duration], e.stim_index});
    }
  }
  return [latents, runs](const std::string& run, int64_t index) -> std::optional<Latent> {
    auto it = runs.find(run);
    if (it == runs.end()) return std::nullopt;
    const double t = static_cast<double>(index) * it->second.tr_s;
    for (const Shown& s : it->second.shown)
      if (s.from_s <= t && t < s.to_s) {
        Latent z{};
        std::copy_n(latents.data.begin() + s.stim * kLatentDim, kLatentDim, z.begin());
        return z;
      }
    return std::nullopt;
  };
}

}  // namespace hyper

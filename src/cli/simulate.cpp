// `hyper simulate`: write the digital twin of the HYPER experiment (README, "hyper simulate").
#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "core/clock.hpp"
#include "core/progress.hpp"
#include "cli/simulate_live.hpp"
#include "sim/twin.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  s.add({.key = "simulate.out", .type = SettingType::String, .def = std::string(""),
         .help = "folder to write the BIDS dataset into (created; an existing one must be empty)", .flag = "--out", .required = true});
  s.add({.key = "simulate.force", .type = SettingType::Bool, .def = false,
         .help = "replace what is in --out (its whole content is removed first)", .flag = "--force"});
  declare_twin_settings(s);
  declare_live(s);
}

int run(const Settings& st, const PartRegistry&) {
  const std::string out = st.get_string("simulate.out");
  // Two simulations in one folder would mix their runs (and train on the mixture).
  if (std::filesystem::exists(out) && !std::filesystem::is_empty(out)) {
    if (!st.get_bool("simulate.force"))
      throw SettingsError("simulate.out: " + out + " is not empty (a twin written there would mix with what is there): "
                          "choose another folder, or add --force to replace its content");
    spdlog::warn("--force: removing the content of {}", out);
    std::filesystem::remove_all(out);
  }
  if (st.get_bool("simulate.live")) return run_live(st);
  const TwinConfig c = twin_config(st);
  spdlog::info("twin '{}' (seed {}): {}x{}x{} at {} mm, {} runs of {} volumes (TR {} s), {} -> {}", c.preset, c.seed,
               c.dims[0], c.dims[1], c.dims[2], c.voxel_mm, c.runs, c.volumes_per_run(), c.tr_s, c.dtype, out);
  ProgressLine progress;
  const auto t0 = SteadyClock::now();
  const TwinReport r = simulate_twin(c, out, [&](int64_t done, int64_t total) {
    progress.update(fmt::format("simulate  {}/{} volumes  {:.0f}%", done, total, 100.0 * done / std::max<int64_t>(total, 1)));
  });
  progress.finish();
  const double s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  spdlog::info("wrote {} runs in {:.1f} s: {} brain voxels, {} stimulus-driven; truth in {}/derivatives/twin", r.runs.size(),
               s, r.brain_voxels, r.visual_voxels, out);
  return 0;
}

}  // namespace

Command simulate_command() {
  return {.name = "simulate",
          .help = "write a digital twin of the HYPER experiment: a BIDS dataset with its ground truth",
          .sections = {"simulate", "twin", "live"},
          .declare = declare,
          .run = run,
          .example = "hyper simulate --out twin --preset small"};
}

}  // namespace hyper

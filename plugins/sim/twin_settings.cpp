// The [twin] settings and the presets (README, "hyper simulate").
#include <map>

#include "sim/twin.hpp"

#include <spdlog/spdlog.h>

namespace hyper {

namespace {

using Preset = std::map<std::string, SettingValue>;

// Keys a preset sets; a key the user set (file, --set or flag) keeps the user's value.
const std::map<std::string, Preset>& presets() {
  static const std::map<std::string, Preset> p{
      {"small",  // for tests: 2 short runs, seconds to write
       {{"twin.nx", int64_t{32}}, {"twin.ny", int64_t{32}}, {"twin.nz", int64_t{16}}, {"twin.voxel_mm", 6.0},
        {"twin.runs", int64_t{2}}, {"twin.test_runs", int64_t{1}}, {"twin.trials_per_run", int64_t{20}}}},
      {"default",  // the paper's design on a 64x64x36 grid at 3 mm
       {}},
      {"paper",  // 2 mm voxels on an occipito-temporal slab; SNR calibrated with the decoder (README)
       {{"twin.nx", int64_t{80}}, {"twin.ny", int64_t{64}}, {"twin.nz", int64_t{24}}, {"twin.voxel_mm", 2.0},
        {"twin.visual_fraction", 0.25}, {"twin.snr", 0.28}}},
  };
  return p;
}

}  // namespace

void declare_twin_settings(Schema& s) {
  using T = SettingType;
  s.add({.key = "twin.preset", .type = T::String, .def = std::string("default"),
         .help = "the grid: small 32x32x16 at 6 mm (2 short runs: tests, seconds); default 64x64x36 at 3 mm; paper a 2 mm "
                 "slab (their runs: twin.runs)",
         .flag = "--preset", .choices = {"small", "default", "paper"}});
  s.add({.key = "twin.seed", .type = T::Int, .def = int64_t{1}, .help = "random seed: the same seed writes the same bytes",
         .flag = "--seed", .min = 0.0});
  s.add({.key = "twin.nx", .type = T::Int, .def = int64_t{64}, .unit = "voxels", .help = "grid size, x", .min = 8.0, .max = 512.0});
  s.add({.key = "twin.ny", .type = T::Int, .def = int64_t{64}, .unit = "voxels", .help = "grid size, y", .min = 8.0, .max = 512.0});
  s.add({.key = "twin.nz", .type = T::Int, .def = int64_t{36}, .unit = "voxels", .help = "grid size, z", .min = 4.0, .max = 512.0});
  s.add({.key = "twin.voxel_mm", .type = T::Float, .def = 3.0, .unit = "mm", .help = "isotropic voxel size", .min = 0.5, .max = 10.0});
  s.add({.key = "twin.runs", .type = T::Int, .def = int64_t{9}, .unit = "runs", .help = "runs in all", .min = 1.0, .max = 100.0});
  s.add({.key = "twin.test_runs", .type = T::Int, .def = int64_t{3}, .unit = "runs",
         .help = "the first runs show the 36 test faces repeatedly; the rest the 1050 training faces", .min = 0.0, .max = 100.0});
  s.add({.key = "twin.trials_per_run", .type = T::Int, .def = int64_t{175}, .unit = "trials", .help = "faces per run",
         .min = 1.0, .max = 2000.0});
  s.add({.key = "twin.tr", .type = T::Float, .def = 1.5, .unit = "s", .help = "repetition time", .min = 0.1, .max = 10.0});
  s.add({.key = "twin.face_s", .type = T::Float, .def = 1.5, .unit = "s", .help = "face on screen per trial", .min = 0.05, .max = 60.0});
  s.add({.key = "twin.blank_s", .type = T::Float, .def = 3.0, .unit = "s", .help = "blank after each face", .min = 0.0, .max = 60.0});
  s.add({.key = "twin.lead_in_s", .type = T::Float, .def = 6.0, .unit = "s", .help = "blank before the first trial", .min = 0.0, .max = 600.0});
  s.add({.key = "twin.lead_out_s", .type = T::Float, .def = 12.0, .unit = "s", .help = "blank after the last trial", .min = 0.0, .max = 600.0});
  s.add({.key = "twin.snr", .type = T::Float, .def = 1.0, .unit = "ratio",
         .help = "sd of the latent-driven response of a voxel of gain 1 over the noise sd", .min = 0.0, .max = 1000.0});
  s.add({.key = "twin.noise_pct", .type = T::Float, .def = 2.0, .unit = "% of mean brain intensity",
         .help = "AR(1) noise sd", .min = 0.0, .max = 100.0});
  s.add({.key = "twin.evoked", .type = T::Float, .def = 1.0, .unit = "latent-driven sd",
         .help = "mean response to any face (makes visual voxels stand out in a mean z-map)", .min = -10.0, .max = 10.0});
  s.add({.key = "twin.visual_fraction", .type = T::Float, .def = 0.12, .unit = "of brain voxels",
         .help = "share of brain voxels that respond to faces (nearest the occipital pole)", .min = 0.0001, .max = 1.0});
  s.add({.key = "twin.ar1", .type = T::Float, .def = 0.3, .help = "AR(1) coefficient of the noise", .min = 0.0, .max = 0.99});
  s.add({.key = "twin.drift_pct", .type = T::Float, .def = 1.0, .unit = "% of baseline",
         .help = "scale of each slow drift term (Legendre 1, 2 and a 100-200 s cosine)", .min = 0.0, .max = 100.0});
  s.add({.key = "twin.physio_pct", .type = T::Float, .def = 0.2, .unit = "% of baseline",
         .help = "physiological oscillation amplitude (0: none)", .min = 0.0, .max = 100.0});
  s.add({.key = "twin.physio_hz", .type = T::Float, .def = 0.3, .unit = "Hz", .help = "its frequency (breathing)", .min = 0.0, .max = 10.0});
  s.add({.key = "twin.spike_rate", .type = T::Float, .def = 0.002, .unit = "per volume",
         .help = "chance of a spike (one bright slice) in a volume", .min = 0.0, .max = 1.0});
  s.add({.key = "twin.spike_pct", .type = T::Float, .def = 5.0, .unit = "% of mean brain intensity", .help = "spike size",
         .min = 0.0, .max = 1000.0});
  s.add({.key = "twin.motion_step_mm", .type = T::Float, .def = 0.02, .unit = "mm",
         .help = "random-walk step of each translation per volume (0 with the other motion keys: no motion)", .min = 0.0, .max = 10.0});
  s.add({.key = "twin.motion_step_deg", .type = T::Float, .def = 0.02, .unit = "degrees",
         .help = "random-walk step of each rotation per volume", .min = 0.0, .max = 10.0});
  s.add({.key = "twin.jerk_rate", .type = T::Float, .def = 0.01, .unit = "per volume", .help = "chance of a sudden movement",
         .min = 0.0, .max = 1.0});
  s.add({.key = "twin.jerk_mm", .type = T::Float, .def = 0.3, .unit = "mm", .help = "sd of a sudden translation", .min = 0.0, .max = 20.0});
  s.add({.key = "twin.jerk_deg", .type = T::Float, .def = 0.3, .unit = "degrees", .help = "sd of a sudden rotation", .min = 0.0, .max = 20.0});
  s.add({.key = "twin.noiseless", .type = T::Bool, .def = false,
         .help = "leave out thermal noise, physiological oscillation and spikes (for tests)"});
  s.add({.key = "twin.save_clean", .type = T::Bool, .def = false,
         .help = "also write each run's BOLD before motion and noise (float32) to derivatives/twin"});
  s.add({.key = "twin.dtype", .type = T::String, .def = std::string("int16"),
         .help = "voxel type of the runs: int16 with scl_slope as scanners write, or float32", .choices = {"int16", "float32"}});
  s.add({.key = "twin.threads", .type = T::Int, .def = int64_t{0}, .unit = "threads", .help = "runs written at once (0: one per core)",
         .min = 0.0, .max = 256.0});
}

TwinConfig twin_config(const Settings& st) {
  const std::string preset = st.get_string("twin.preset");
  const Preset& p = presets().at(preset);
  // The preset's value where the user left the default.
  auto value = [&](const std::string& key) -> SettingValue {
    auto it = p.find(key);
    if (it != p.end() && st.origin(key) == "default") return it->second;
    const SettingSpec* spec = st.schema().find(key);
    switch (spec->type) {
      case SettingType::Int: return st.get_int(key);
      case SettingType::Float: return st.get_float(key);
      case SettingType::Bool: return st.get_bool(key);
      default: return st.get_string(key);
    }
  };
  auto i = [&](const char* k) { return std::get<int64_t>(value(k)); };
  auto f = [&](const char* k) {
    const SettingValue v = value(k);
    return std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v)) : std::get<double>(v);
  };
  TwinConfig c;
  c.preset = preset;
  c.seed = static_cast<uint64_t>(i("twin.seed"));
  c.dims = {i("twin.nx"), i("twin.ny"), i("twin.nz")};
  c.voxel_mm = f("twin.voxel_mm");
  c.runs = static_cast<int>(i("twin.runs"));
  c.test_runs = static_cast<int>(i("twin.test_runs"));
  c.trials_per_run = static_cast<int>(i("twin.trials_per_run"));
  c.tr_s = f("twin.tr");
  c.face_s = f("twin.face_s");
  c.blank_s = f("twin.blank_s");
  c.lead_in_s = f("twin.lead_in_s");
  c.lead_out_s = f("twin.lead_out_s");
  c.snr = f("twin.snr");
  c.noise_pct = f("twin.noise_pct");
  c.evoked = f("twin.evoked");
  c.visual_fraction = f("twin.visual_fraction");
  c.ar1 = f("twin.ar1");
  c.drift_pct = f("twin.drift_pct");
  c.physio_pct = f("twin.physio_pct");
  c.physio_hz = f("twin.physio_hz");
  c.spike_rate = f("twin.spike_rate");
  c.spike_pct = f("twin.spike_pct");
  c.motion_step_mm = f("twin.motion_step_mm");
  c.motion_step_deg = f("twin.motion_step_deg");
  c.jerk_rate = f("twin.jerk_rate");
  c.jerk_mm = f("twin.jerk_mm");
  c.jerk_deg = f("twin.jerk_deg");
  c.noiseless = std::get<bool>(value("twin.noiseless"));
  c.save_clean = std::get<bool>(value("twin.save_clean"));
  c.dtype = std::get<std::string>(value("twin.dtype"));
  c.threads = static_cast<int>(i("twin.threads"));
  if (c.test_runs > c.runs)
    throw SettingsError("twin.test_runs (" + std::to_string(c.test_runs) + ") must not exceed twin.runs (" +
                        std::to_string(c.runs) + ")");
  return c;
}

RunFile twin_run(const Settings& st, const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / "dataset_description.json")) {
    Settings t = st;
    if (t.origin("twin.runs") == "default") t.apply_value("twin.runs", int64_t{1}, "one twin run");
    if (t.origin("twin.test_runs") == "default") t.apply_value("twin.test_runs", int64_t{1}, "one twin run");
    const TwinConfig tc = twin_config(t);
    spdlog::info("simulating a twin run ({}x{}x{}) into {}", tc.dims[0], tc.dims[1], tc.dims[2], dir.string());
    simulate_twin(tc, dir);
  }
  return find_runs(dir).at(0);
}

}  // namespace hyper

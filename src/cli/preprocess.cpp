// `hyper preprocess`: run the preprocessing chain over a recorded 4D run and write what the
// decoder would see, as a 4D NIfTI (features put back at their voxels, 0 elsewhere).
#include <cstring>

#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "sources/nifti_run.hpp"
#include "core/progress.hpp"
#include "io/bids.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  s.add({.key = "preprocess_io.input", .type = SettingType::String, .def = std::string(""),
         .help = "4D NIfTI run to preprocess", .flag = "--input", .required = true, .existing = true});
  s.add({.key = "preprocess_io.output", .type = SettingType::String, .def = std::string(""),
         .help = "4D NIfTI to write (float32)", .flag = "--output", .required = true});
  s.add({.key = "preprocess_io.tr", .type = SettingType::Float, .def = 0.0, .unit = "s",
         .help = "repetition time; 0 takes the BIDS sidecar, then the NIfTI header", .flag = "--tr", .min = 0.0});
}

int run(const Settings& st, const PartRegistry& stages) {
  const std::string in = st.get_string("preprocess_io.input"), out = st.get_string("preprocess_io.output");
  Chain chain(stages, st);
  if (chain.empty()) spdlog::warn("preprocess.chain is empty: the output will equal the input (as float32)");

  const RunFile file = find_runs(in).at(0);
  const NiftiRun run = read_nifti(file.path);
  const double tr = run_tr(file, run.info.tr_s, run.info.time_unit, st.get_float("preprocess_io.tr"));
  chain.preflight(spec_of(run.volume(0), tr));  // a bad parameter fails before any work

  const int64_t n = run.info.dims[3];
  const size_t voxels = static_cast<size_t>(run.info.volume_voxels());
  std::vector<float> all(voxels * static_cast<size_t>(n)), grid;
  ProgressLine progress;
  run_chain_offline(chain, run, file.run_id, tr, [&](const Tr& t) {
    output_grid(t, grid);
    std::memcpy(all.data() + static_cast<size_t>(t.index) * voxels, grid.data(), voxels * sizeof(float));
    progress.update(fmt::format("preprocess  {}/{}", t.index + 1, n), t.index + 1 == n);
  });
  progress.finish();

  NiftiInfo info = run.info;
  info.dtype = DType::Float32;
  info.slope = 1;
  info.inter = 0;
  info.tr_s = tr;
  write_nifti(out, info, {reinterpret_cast<const std::byte*>(all.data()), all.size() * sizeof(float)});
  spdlog::info("wrote {} ({} volumes); chain [{}] per volume: {}", out, n, fmt::join(chain.names(), ", "),
               chain.empty() ? "-" : chain.format_timings());
  return 0;
}

}  // namespace

Command preprocess_command() {
  return {.name = "preprocess",
          .help = "run the preprocessing chain over a recorded 4D run and write what the decoder sees",
          .sections = {"preprocess_io"},
          .declare = declare,
          .run = run,
          .chain = true,
          .example = "hyper preprocess --input twin/sub-01/func/sub-01_task-faces_run-01_bold.nii.gz --output pre.nii.gz --set preprocess.chain='[\"realign\",\"mask\"]'"};
}

}  // namespace hyper

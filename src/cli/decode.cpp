// `hyper decode`: predict latents for a run with a trained decoder, preprocessing it exactly
// as the decoder's training runs were (README, "hyper decode"). A trial-mode decoder gives
// one latent per event; a tr-mode decoder one per volume, through the same decode stage as
// `hyper stream`.
#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "sources/nifti_run.hpp"
#include "decoders/array_decoder.hpp"
#include "decoders/decode_stage.hpp"
#include "io/npy.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "decode.input", .type = T::String, .def = std::string(""), .help = "4D NIfTI run (or --responses)", .flag = "--input",
         .existing = true});
  s.add({.key = "decode.responses", .type = T::String, .def = std::string(""),
         .help = "instead of a run: a .npy of per-trial responses, trials x voxels (e.g. X_test.npy from hyper import-hyper), "
                 "for a decoder of response matrices; one latent per row",
         .flag = "--responses", .existing = true});
  s.add({.key = "decode.events", .type = T::String, .def = std::string(""),
         .help = "its events.tsv (trial-mode decoders); empty: the BIDS file beside the run", .flag = "--events", .existing = true});
  s.add({.key = "decode.decoder", .type = T::String, .def = std::string(""), .help = "decoder file from hyper train",
         .flag = "--decoder", .required = true, .existing = true});
  s.add({.key = "decode.out", .type = T::String, .def = std::string(""),
         .help = "latents .npy to write: one row per event (trial mode) or per volume (tr mode)", .flag = "--out", .required = true});
}

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Trial mode: the GLM of the whole preprocessed run, one response per event.
RowMajor decode_per_trial(const Settings& st, const PartRegistry& stages, const Decoder& d, const std::string& file,
                          const RunFile& run) {
  const std::string events_file = st.get_string("decode.events").empty() ? events_path(run.path).string() : st.get_string("decode.events");
  const auto events = read_events(events_file);
  Chain chain(stages, decoder_preprocessing(st, d, file));
  const RunFeatures f = preprocess_run(chain, run);
  if (f.dims != d.dims)
    throw std::runtime_error(run.path.string() + fmt::format(": grid {}x{}x{}, the decoder was trained on {}x{}x{}", f.dims[0],
                                                             f.dims[1], f.dims[2], d.dims[0], d.dims[1], d.dims[2]));
  if (std::abs(f.tr_s - d.tr_s) > 1e-6)
    throw std::runtime_error(run.path.string() + fmt::format(": TR {} s, the decoder was trained at TR {} s", f.tr_s, d.tr_s));
  return decode_trials(d, trial_responses(f.features, events, f.tr_s, d.estimator), f.voxels);
}

// TR mode: every volume through the decoder's chain and the decode stage.
RowMajor decode_per_tr(const Settings& st, const PartRegistry& stages, std::shared_ptr<const Decoder> d,
                       const std::string& file, const RunFile& run) {
  Chain chain = decoding_chain(stages, st, d, file);
  const NiftiRun nifti = read_nifti(run.path);
  RowMajor out(nifti.info.dims[3], kLatentDim);
  run_chain_offline(chain, nifti, run.run_id, run_tr(run, nifti.info.tr_s, nifti.info.time_unit),
                    [&](const Tr& tr) { out.row(tr.index) = Eigen::Map<const Eigen::RowVectorXf>(tr.latent.data(), kLatentDim); });
  spdlog::info("decoding per volume: {}", chain.format_timings());
  return out;
}

RowMajor decode_rows(const Settings& st, const PartRegistry& stages, std::string& rows_are) {
  const std::string file = st.get_string("decode.decoder"), input = st.get_string("decode.input"),
                    responses = st.get_string("decode.responses");
  if (input.empty() == responses.empty())
    throw SettingsError("decode.input: give one thing to decode: a run with --input RUN.nii.gz, or a response matrix with "
                        "--responses X_test.npy");
  auto d = std::make_shared<const Decoder>(load_decoder(file));
  if (!responses.empty()) {
    rows_are = "response rows";
    try {
      return decode_array(*d, read_matrix(responses, "trials x voxels"), file);
    } catch (const std::invalid_argument& e) {
      throw SettingsError(std::string("decode.responses: ") + e.what());
    }
  }
  if (d->mode == "array")
    throw SettingsError("decode.decoder: " + file + " decodes response matrices (trials x voxels, a .npy), not runs: use "
                        "hyper decode --responses MATRIX.npy --decoder " + file + " instead of --input " + input);
  const RunFile run = find_runs(input).at(0);
  rows_are = d->mode == "tr" ? "volumes" : "trials";
  return d->mode == "tr" ? decode_per_tr(st, stages, d, file, run) : decode_per_trial(st, stages, *d, file, run);
}

int run(const Settings& st, const PartRegistry& stages) {
  std::string rows_are;
  const RowMajor rows = decode_rows(st, stages, rows_are);
  write_npy(st.get_string("decode.out"), {rows.rows(), rows.cols()}, std::vector<float>(rows.data(), rows.data() + rows.size()));
  spdlog::info("wrote {}: {} {} x {}", st.get_string("decode.out"), rows.rows(), rows_are, rows.cols());
  return 0;
}

}  // namespace

Command decode_command() {
  return {.name = "decode",
          .help = "predict a run's latents (per trial or per volume) with a trained decoder",
          .sections = {"decode"},
          .declare = declare,
          .run = run,
          .chain = true,
          .example = "hyper decode --input twin/sub-01/func/sub-01_task-faces_run-05_bold.nii.gz --decoder dec.safetensors --out pred.npy"};
}

}  // namespace hyper

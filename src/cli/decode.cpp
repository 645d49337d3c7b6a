// `hyper decode`: predict the latent of every trial of a run with a trained decoder,
// preprocessing it exactly as the decoder's training runs were (README, "hyper decode").
#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "decoders/decoder.hpp"
#include "io/npy.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "decode.input", .type = T::String, .def = std::string(""), .help = "4D NIfTI run", .flag = "--input"});
  s.add({.key = "decode.events", .type = T::String, .def = std::string(""),
         .help = "its events.tsv; empty: the BIDS file beside the run", .flag = "--events"});
  s.add({.key = "decode.decoder", .type = T::String, .def = std::string(""), .help = "decoder file from hyper train",
         .flag = "--decoder"});
  s.add({.key = "decode.out", .type = T::String, .def = std::string(""),
         .help = "latents .npy to write: one row per event, in the events' order", .flag = "--out"});
}

int run(const Settings& st, const StageRegistry& stages) {
  for (const char* k : {"decode.input", "decode.decoder", "decode.out"})
    if (st.get_string(k).empty()) throw SettingsError(std::string(k) + ": required (see hyper decode --help)");
  const Decoder d = load_decoder(st.get_string("decode.decoder"));
  const RunFile run = find_runs(st.get_string("decode.input")).at(0);
  const std::string events_file = st.get_string("decode.events").empty() ? events_path(run.path).string() : st.get_string("decode.events");
  const auto events = read_events(events_file);

  // The decoder's own preprocessing, so that decoding sees what training saw.
  Settings pre(st.schema());
  pre.load_text(d.preprocessing, "the decoder's preprocessing settings");
  Chain chain(stages, pre);
  const RunFeatures f = preprocess_run(chain, run);
  if (f.dims != d.dims)
    throw std::runtime_error(run.path.string() + fmt::format(": grid {}x{}x{}, the decoder was trained on {}x{}x{}", f.dims[0],
                                                             f.dims[1], f.dims[2], d.dims[0], d.dims[1], d.dims[2]));
  if (std::abs(f.tr_s - d.tr_s) > 1e-6)
    throw std::runtime_error(run.path.string() + fmt::format(": TR {} s, the decoder was trained at TR {} s", f.tr_s, d.tr_s));
  const Eigen::MatrixXf z = decode_trials(d, trial_responses(f.features, events, f.tr_s), f.voxels);
  const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = z;
  write_npy(st.get_string("decode.out"), {rows.rows(), rows.cols()}, std::vector<float>(rows.data(), rows.data() + rows.size()));
  spdlog::info("wrote {}: {} trials x {}", st.get_string("decode.out"), rows.rows(), rows.cols());
  return 0;
}

}  // namespace

Command decode_command() {
  return {"decode", "predict each trial's latent in a run with a trained decoder", {"decode"}, declare, run, /*chain=*/true};
}

}  // namespace hyper

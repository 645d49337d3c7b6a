// `hyper train`: fit the HYPER decoder from recorded runs (README, "hyper train").
#include <spdlog/spdlog.h>

#include "cli/train.hpp"

#include "cli/attribute_fit.hpp"

#include "cli/command.hpp"
#include "core/clock.hpp"
#include "decoders/array_decoder.hpp"
#include "decoders/decoder.hpp"
#include "io/npy.hpp"

namespace hyper {

TrainOptions train_options(const Settings& st) {
  TrainOptions o;
  o.mode = st.get_string("train.mode");
  o.estimator = st.get_string("train.estimator");
  o.lag_s = st.get_float("train.lag");
  o.k = st.get_int("train.voxels");
  o.penalty = st.get_float("train.penalty");
  o.preprocessing = st.to_toml({"preprocess"});
  return o;
}

bool is_training_run(const RunFile& run) {
  const auto ev = read_events(events_path(run.path));
  return !ev.empty() && std::all_of(ev.begin(), ev.end(), [](const Event& e) { return e.trial_type == "train"; });
}

Eigen::MatrixXf read_latents(const std::filesystem::path& path) {
  const std::string what = fmt::format("latents, a 2D array of rows of {}", kLatentDim);
  Eigen::MatrixXf m = read_matrix(path, what);
  if (m.cols() != kLatentDim) throw std::runtime_error(fmt::format("{}: {} columns; expected {}", path.string(), m.cols(), what));
  return m;
}

namespace {

void log_trained(const std::string& out, const Decoder& d, SteadyClock::time_point t0) {
  std::string cv;
  for (size_t i = 0; i < d.penalties.size(); ++i) cv += fmt::format(" {}: {:.4f}", d.penalties[i], d.cv_correlation[i]);
  spdlog::info("wrote {} in {:.1f} s: {} mode, {} voxels, penalty {}{}{}", out,
               std::chrono::duration<double>(SteadyClock::now() - t0).count(), d.mode, d.voxels.size(), d.penalty,
               d.penalty == 0 ? " (least squares)" : "", cv.empty() ? "" : "; cross-validated correlation by penalty:" + cv);
}

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "train.dataset", .type = T::String, .def = std::string(""),
         .help = "BIDS dataset folder (or --responses and --targets)", .flag = "--dataset", .existing = true});
  s.add({.key = "train.responses", .type = T::String, .def = std::string(""),
         .help = "instead of a dataset: a .npy of per-trial responses, trials x voxels, used as they are (e.g. X_train.npy "
                 "from hyper import-hyper); writes a decoder of response matrices",
         .flag = "--responses", .existing = true});
  s.add({.key = "train.targets", .type = T::String, .def = std::string(""),
         .help = "with --responses: the latents of those trials, trials x 512 (e.g. T_train.npy)", .flag = "--targets",
         .existing = true});
  s.add({.key = "train.folds", .type = T::Int, .def = int64_t{6},
         .help = "with --responses and penalty -1: contiguous blocks of trials for choosing the penalty (the paper's 1050 "
                 "training trials are 6 runs of 175 in order)", .min = 2.0});
  s.add({.key = "train.latents", .type = T::String, .def = std::string(""),
         .help = "stimulus latents .npy (rows = stim_index); empty: DATASET/stimuli/latents.npy", .flag = "--latents", .existing = true});
  s.add({.key = "train.out", .type = T::String, .def = std::string(""), .help = "decoder file to write", .flag = "--out", .required = true});
  s.add({.key = "train.train_runs", .type = T::StringList, .def = std::vector<std::string>{},
         .help = "run ids to train on; empty: every run whose events are all trial_type train", .flag = "--train-runs"});
  s.add({.key = "train.voxels", .type = T::Int, .def = int64_t{4096}, .unit = "voxels",
         .help = "voxels kept: the highest mean training t", .flag = "--voxels", .min = 1.0});
  s.add({.key = "train.penalty", .type = T::Float, .def = -1.0,
         .help = "ridge penalty; -1 chooses one by leave-one-run-out CV (with --responses: over train.folds); 0 is least squares", .flag = "--penalty", .min = -1.0});
  s.add({.key = "train.mode", .type = T::String, .def = std::string("trial"),
         .help = "trial: one sample per trial (its GLM beta), decoded offline; tr: one per TR from the online chain, "
                 "for the decode stage of hyper stream",
         .flag = "--mode", .choices = {"trial", "tr"}});
  s.add({.key = "train.estimator", .type = T::String, .def = std::string("lsa"),
         .help = "trial GLM: lsa (one GLM with every trial) or lss (one GLM per trial: it, the others, a constant)",
         .choices = {"lsa", "lss"}});
  s.add({.key = "train.attribute", .type = T::String, .def = std::string(""),
         .help = "fit an attribute's direction in the latent space instead (for the attribute protocol): the column of "
                 "DATASET/stimuli/attributes.tsv (stim_index, then one column per attribute), written to --out as .npy",
         .flag = "--attribute"});
  s.add({.key = "train.lag", .type = T::Float, .def = -1.0, .unit = "s",
         .help = "tr mode: -1 pairs each TR with the HRF-weighted sum of the latents before it; >= 0 with the face "
                 "on screen this long before it",
         .min = -1.0, .max = 60.0});
}

// From a response matrix: no chain, no voxel selection, the columns as they are.
int train_from_arrays(const Settings& st) {
  const std::string responses = st.get_string("train.responses"), targets = st.get_string("train.targets");
  if (targets.empty()) throw SettingsError("train.targets: --responses needs the latents of its trials: --targets T_train.npy");
  if (!st.get_string("train.dataset").empty())
    throw SettingsError("train.dataset: give a dataset or --responses, not both");
  const Eigen::MatrixXf x = read_matrix(responses, "trials x voxels"), t = read_latents(targets);
  if (t.rows() != x.rows())
    throw SettingsError(fmt::format("train.targets: {} has {} rows and {} {}: one row of each per trial", targets, t.rows(),
                                    responses, x.rows()));
  const auto t0 = SteadyClock::now();
  const Decoder d = train_array_decoder(x, t, st.get_float("train.penalty"), static_cast<int>(st.get_int("train.folds")),
                                        TrainOptions{}.penalties, [](const std::string& line) { spdlog::info("{}", line); });
  save_decoder(st.get_string("train.out"), d);
  log_trained(st.get_string("train.out"), d, t0);
  return 0;
}

int run(const Settings& st, const PartRegistry& stages) {
  if (!st.get_string("train.responses").empty()) {
    if (!st.get_string("train.attribute").empty())
      throw SettingsError("train.attribute: an attribute's direction is fitted from a dataset's stimuli (--dataset), not from "
                          "--responses");
    return train_from_arrays(st);
  }
  if (!st.get_string("train.targets").empty())
    throw SettingsError("train.targets: latents per trial go with --responses X_train.npy (a response matrix); a dataset's "
                        "latents are given with --latents");
  const std::string dataset = st.get_string("train.dataset"), out = st.get_string("train.out");
  if (dataset.empty())
    throw SettingsError("train.dataset: nothing to train on: give a BIDS dataset with --dataset DIR, or response matrices with "
                        "--responses X_train.npy --targets T_train.npy");
  // The dataset first: "not a dataset" is the likelier mistake than a missing latents file.
  std::vector<RunFile> found;
  try {
    found = find_runs(dataset);
  } catch (const std::runtime_error& e) {
    throw SettingsError(fmt::format("train.dataset: {} is not a BIDS dataset ({}): give its top folder, the one with sub-*/ "
                                    "in it", dataset, e.what()));
  }
  std::string latents_path = st.get_string("train.latents");
  if (latents_path.empty()) latents_path = (std::filesystem::path(dataset) / "stimuli" / "latents.npy").string();
  if (!std::filesystem::exists(latents_path))  // the default place (a given file was checked before the start)
    throw SettingsError("train.latents: no such file: " + latents_path +
                        " (a twin dataset has it; give the stimulus latents of yours with --latents FILE)");
  const Eigen::MatrixXf latents = read_latents(latents_path);
  if (const std::string name = st.get_string("train.attribute"); !name.empty())
    return fit_attribute(std::filesystem::path(dataset) / "stimuli" / "attributes.tsv", name, latents, st.get_float("train.penalty"), out);

  const auto wanted = st.get_list("train.train_runs");
  std::vector<RunFile> runs;
  std::string ids;
  for (const RunFile& r : found) {
    const bool chosen = wanted.empty() ? is_training_run(r) : std::find(wanted.begin(), wanted.end(), r.run_id) != wanted.end();
    if (chosen) runs.push_back(r);
    ids += (ids.empty() ? "" : ", ") + r.run_id;
  }
  if (runs.empty())
    throw SettingsError(wanted.empty() ? "train.train_runs: " + dataset + " has no run whose events are all trial_type train; "
                                             "name the training runs with --train-runs (runs found: " + ids + ")"
                                       : "train.train_runs: none of the runs named is in " + dataset + " (runs found: " + ids + ")");
  if (runs.size() < 2 && st.get_float("train.penalty") < 0)  // decoder.cpp: one run trains with a given penalty
    throw SettingsError(fmt::format("train.penalty: choosing the penalty by cross-validation leaves one run out, and {} has one "
                                    "training run ({}): give a penalty with --penalty 1000 (0: least squares), or train on more "
                                    "runs (hyper simulate --set twin.runs=3)", dataset, runs.front().run_id));
  spdlog::info("training on {} runs of {}", runs.size(), dataset);

  Chain chain(stages, st);
  if (chain.empty())  // as hyper preprocess says it
    spdlog::warn("preprocess.chain is empty: training on the raw volumes (no motion correction, no mask, no detrending); "
                 "the stream will decode with the same empty chain");
  const TrainOptions o = train_options(st);
  const auto t0 = SteadyClock::now();
  const Decoder d = train_decoder(chain, runs, latents, o, [](const std::string& line) { spdlog::info("{}", line); });
  save_decoder(out, d);
  log_trained(out, d, t0);
  return 0;
}

}  // namespace

Command train_command() {
  return {.name = "train",
          .help = "fit the HYPER decoder (voxels -> 512-d latent) from recorded runs and their events",
          .sections = {"train"},
          .declare = declare,
          .run = run,
          .chain = true,
          .example = "hyper train --dataset twin --out dec.safetensors   (or --attribute smile --out smile.npy; or --responses "
                     "X_train.npy --targets T_train.npy)"};
}

}  // namespace hyper

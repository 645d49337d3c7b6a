// `hyper eval`: how good reconstructions are, as the paper measured them and with chance
// levels (README, "hyper eval"): predictions matched to the faces presented, latent and
// image measures, a table, a contact sheet.
#include "cli/eval.hpp"
#include "cli/train.hpp"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "core/clock.hpp"
#include "core/progress.hpp"
#include "eval/evaluation.hpp"
#include "eval/feature_net.hpp"
#include "eval/report.hpp"
#include "generators/generator_settings.hpp"
#include "hyper/tr.hpp"
#include "io/files.hpp"
#include "io/npy.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "eval.pred", .type = T::StringList, .def = std::vector<std::string>{},
         .help = "predicted latents, one per run: a .npy (from hyper decode) or a run record folder (hyper stream --out)",
         .flag = "--pred", .required = true, .existing = true});
  s.add({.key = "eval.events", .type = T::StringList, .def = std::vector<std::string>{},
         .help = "each prediction's events.tsv, in the same order", .flag = "--events", .existing = true});
  s.add({.key = "eval.latents", .type = T::String, .def = std::string(""),
         .help = "the stimulus latents .npy that events' stim_index rows point into", .flag = "--latents", .existing = true});
  s.add({.key = "eval.truth", .type = T::String, .def = std::string(""),
         .help = "instead of --events and --latents: the presented latents, row i behind row i of every --pred (e.g. T_test.npy "
                 "from hyper import-hyper); each --pred is then scored on its own, into OUT/ITS_NAME/, and OUT/table1.md puts "
                 "them side by side", .flag = "--truth", .existing = true});
  s.add({.key = "eval.out", .type = T::String, .def = std::string(""),
         .help = "folder for eval.json, eval.md, items.tsv, contact_sheet.png (with --truth: table1.md, table1.json and "
                 "one such folder per prediction)", .flag = "--out", .required = true});
  s.add({.key = "eval.per", .type = T::String, .def = std::string("auto"),
         .help = "a .npy's rows: one per event, one per volume, or auto (event when as many rows as events)",
         .choices = {"auto", "event", "volume"}});
  s.add({.key = "eval.tr", .type = T::Float, .def = 0.0, .unit = "s",
         .help = "TR of per-volume .npy predictions (run records carry theirs)", .flag = "--tr", .min = 0.0});
  s.add({.key = "eval.lag", .type = T::Float, .def = -1.0, .unit = "s",
         .help = "the volume standing for an event: onset + lag; -1: the block response's peak", .min = -1.0, .max = 60.0});
  s.add({.key = "eval.trial_type", .type = T::String, .def = std::string(""),
         .help = "only events of this trial_type; empty: every event with a stim_index"});
  s.add({.key = "eval.repeats", .type = T::String, .def = std::string("average"),
         .help = "average: one item per face, its presentations averaged (as the paper); each: one item per presentation",
         .choices = {"average", "each"}});
  s.add({.key = "eval.force", .type = T::Bool, .def = false,
         .help = "score a run record against the events of another run (refused otherwise: its run.json names its run)",
         .flag = "--force"});
  s.add({.key = "eval.draws", .type = T::Int, .def = int64_t{1000}, .unit = "latents",
         .help = "prior draws for chance levels and p-values (each drawn once); 0: none", .min = 0.0, .max = 1e6});
  s.add({.key = "eval.seed", .type = T::Int, .def = int64_t{1}, .help = "seed of the prior draws and random directions", .min = 0.0});
  s.add({.key = "eval.images", .type = T::Bool, .def = true,
         .help = "draw both faces with the generator for the image measures and the contact sheet"});
  s.add({.key = "eval.image_size", .type = T::Int, .def = int64_t{224}, .unit = "px",
         .help = "side of the compared images (the paper: 224)", .min = 11.0, .max = 4096.0});
  s.add({.key = "eval.features", .type = T::String, .def = std::string(""),
         .help = "TorchScript feature network for feature similarity (README: its contract); empty: none", .flag = "--features"});
  s.add({.key = "eval.features_resize", .type = T::String, .def = std::string("nearest"),
         .help = "how a face is resized for the feature network: nearest, as Keras' load_img did for the paper's features; "
                 "bilinear (antialiased, as the image measures)", .choices = {"nearest", "bilinear"}});
  s.add({.key = "eval.boundaries", .type = T::StringList, .def = std::vector<std::string>{},
         .help = "attribute boundaries (.npy of 512 values, e.g. InterFaceGAN's) for attribute r", .flag = "--boundaries"});
  s.add({.key = "eval.batch", .type = T::Int, .def = int64_t{8}, .unit = "faces", .help = "latents per generator call",
         .min = 1.0, .max = 1024.0});
  s.add({.key = "eval.sheet_columns", .type = T::Int, .def = int64_t{12}, .unit = "faces", .help = "contact sheet columns",
         .min = 1.0, .max = 256.0});
  s.add({.key = "eval.sheet_size", .type = T::Int, .def = int64_t{128}, .unit = "px", .help = "side of a face on the contact sheet",
         .min = 16.0, .max = 1024.0});
  s.add({.key = "eval.sheet_items", .type = T::Int, .def = int64_t{72}, .unit = "items",
         .help = "at most this many items on the contact sheet (the first ones)", .min = 1.0});
}

int run(const Settings& st, const PartRegistry& parts) {
  const auto preds = st.get_list("eval.pred"), events = st.get_list("eval.events");
  if (!st.get_string("eval.truth").empty()) {
    if (!events.empty() || !st.get_string("eval.latents").empty())
      throw SettingsError("eval.truth: give --truth (rows paired with the predictions' rows) or --events and --latents, not both");
    return evaluate_arrays(st, parts);
  }
  if (events.empty() || st.get_string("eval.latents").empty())
    throw SettingsError(std::string(events.empty() ? "eval.events" : "eval.latents") +
                        ": which face each prediction belongs to: give each prediction's events.tsv with --events and the "
                        "stimulus latents with --latents, or the latents row by row with --truth T_test.npy");
  if (events.size() != preds.size())
    throw SettingsError(fmt::format("eval.events: {} events files for {} predictions (one per prediction, same order)",
                                    events.size(), preds.size()));
  std::vector<PredictionFile> files;
  for (size_t i = 0; i < preds.size(); ++i) files.push_back({preds[i], events[i]});
  const std::string table = run_evaluation(st, parts, files, st.get_string("eval.latents"), st.get_string("eval.out"));
  std::printf("\n%s\nOutputs in %s: eval.md, eval.json, items.tsv%s\n", table.c_str(), st.get_string("eval.out").c_str(),
              st.get_bool("eval.images") ? ", contact_sheet.png" : "");
  return 0;
}

}  // namespace

std::string run_evaluation(const Settings& st, const PartRegistry& parts, const std::vector<PredictionFile>& files, const std::filesystem::path& stimulus_latents,
                           const std::filesystem::path& out) {
  const Eigen::MatrixXd stimuli = read_latents(stimulus_latents).cast<double>();
  MatchOptions mo;
  mo.per = st.get_string("eval.per");
  mo.tr_s = st.get_float("eval.tr");
  mo.lag_s = st.get_float("eval.lag");
  mo.trial_type = st.get_string("eval.trial_type");
  mo.average = st.get_string("eval.repeats") == "average";
  mo.force = st.get_bool("eval.force");
  const EvalItems items = match_predictions(files, stimuli.rows(), mo, [](const std::string& line) { spdlog::info("{}", line); });

  std::string table;
  score_and_write(st, parts, items, stimuli, out, files.front().pred.filename().string() + (files.size() > 1 ? " and others" : ""), table);
  return table;
}

EvalResult score_and_write(const Settings& st, const PartRegistry& parts, const EvalItems& items, const Eigen::MatrixXd& stimuli,
                           const std::filesystem::path& out, const std::string& name, std::string& table, FaceCache* cache) {
  EvalOptions eo;
  eo.draws = static_cast<int>(st.get_int("eval.draws"));
  eo.seed = static_cast<uint64_t>(st.get_int("eval.seed"));
  eo.image_size = static_cast<int>(st.get_int("eval.image_size"));
  eo.batch = static_cast<int>(st.get_int("eval.batch"));
  eo.thumbnail = static_cast<int>(st.get_int("eval.sheet_size"));
  eo.features_nearest = st.get_string("eval.features_resize") == "nearest";
  std::vector<Boundary> boundaries;
  for (const auto& b : st.get_list("eval.boundaries")) boundaries.push_back(load_boundary(b));
  const bool images = st.get_bool("eval.images");
  if (!images && !st.get_string("eval.features").empty())
    throw SettingsError("eval.features: feature similarity needs the faces drawn (eval.images = true)");
  std::unique_ptr<Generator> gen;
  std::unique_ptr<FeatureNet> net;
  if (images) {
    if (st.get_string("generator.kind") == "pggan" && st.get_string("generator.weights").empty())
      throw SettingsError("generator.weights: hyper eval draws both faces for the image measures: give the GAN with --weights, "
                          "or --generator procedural, or --set eval.images=false for the latent measures alone");
    const GeneratorOptions go = generator_options(st);
    gen = parts.make_generator(go);
    if (!st.get_string("eval.features").empty()) net = std::make_unique<FeatureNet>(st.get_string("eval.features"), go.device, eo.image_size);
  }
  ensure_dir(out);
  spdlog::info("scoring {} items{}{}, chance from {} prior draws", items.predicted.rows(),
               gen ? ", faces drawn by " + gen->describe() : "", net ? ", features by " + net->describe() : "", eo.draws);
  ProgressLine progress;
  const auto t0 = SteadyClock::now();
  const EvalResult r = evaluate(items, stimuli, gen.get(), net.get(), boundaries, eo, [&](int64_t done, int64_t total) {
    progress.update(fmt::format("drawing and comparing faces: {} / {}", done, total), done == total);
  }, cache);
  progress.finish();
  spdlog::info("scored in {:.1f} s", std::chrono::duration<double>(SteadyClock::now() - t0).count());

  table = markdown_table(r, items);
  write_file_atomic(out / "eval.md", table);
  write_file_atomic(out / "eval.json", to_json(r, items).dump(2) + "\n");
  write_file_atomic(out / "items.tsv", items_tsv(r, items));
  write_file_atomic(out / "settings.toml", st.to_toml({"eval", "generator"}));
  if (!r.stimulus_thumbs.empty()) {
    const auto n = static_cast<std::ptrdiff_t>(std::min<int64_t>(st.get_int("eval.sheet_items"), static_cast<int64_t>(r.stimulus_thumbs.size())));
    SheetText text{name + ": presented faces over their reconstructions",
                   fmt::format("{} of {} items, drawn by {}; under each pair its latent r", n, r.items, r.images), {}, {}};
    const Metric* latent_r = r.find("latent_r");
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      text.item_ids.push_back(fmt::format("#{} stim {}", i, items.stimulus[static_cast<size_t>(i)]));
      if (latent_r) text.captions.push_back(fmt::format("r {:.2f}", latent_r->items.at(static_cast<size_t>(i))));
    }
    write_contact_sheet(out / "contact_sheet.png", {r.stimulus_thumbs.begin(), r.stimulus_thumbs.begin() + n},
                        {r.reconstruction_thumbs.begin(), r.reconstruction_thumbs.begin() + n}, r.thumbnail,
                        static_cast<int>(st.get_int("eval.sheet_columns")), text);
  }
  return r;
}

Command eval_command() {
  return {.name = "eval",
          .help = "score reconstructions: the paper's measures and more, with chance levels, a table and a contact sheet",
          .sections = {"eval", "generator"},
          .declare = declare,
          .run = run,
          .example = "hyper eval --pred out/sub-01_task-faces_run-05_bold --events twin/sub-01/func/sub-01_task-faces_run-05_events.tsv --latents twin/stimuli/latents.npy --out eval\n"
                     "  hyper eval --truth s1/T_test.npy --pred paper.npy ridge.npy --boundaries bounds/*.npy --out table1   (rows paired)"};
}

}  // namespace hyper

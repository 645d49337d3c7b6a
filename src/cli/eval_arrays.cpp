// `hyper eval --truth`: predictions of the same test items paired row by row with the latents
// presented (the released HYPER data: X_test's rows are the 36 test faces, repeats already
// averaged), each scored as hyper eval scores a run, then put side by side in the layout of the
// paper's Table 1 (README, "The paper's own files").
#include <cstdio>

#include <spdlog/spdlog.h>

#include "cli/eval.hpp"
#include "cli/train.hpp"
#include "decoders/array_decoder.hpp"
#include "eval/table1.hpp"
#include "hyper/tr.hpp"
#include "io/files.hpp"

namespace hyper {

int evaluate_arrays(const Settings& st, const PartRegistry& parts) {
  const std::string truth_file = st.get_string("eval.truth");
  const Eigen::MatrixXd truth = read_latents(truth_file).cast<double>();
  const std::filesystem::path out = st.get_string("eval.out");
  // Every prediction checked before any is scored (scoring one can take minutes of faces).
  std::vector<std::string> names;
  std::vector<Eigen::MatrixXf> preds;
  for (const std::string& file : st.get_list("eval.pred")) {
    const std::string name = std::filesystem::path(file).stem().string();
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw SettingsError("eval.pred: two predictions are called " + name + ": their reports would share OUT/" + name +
                          "/; rename one");
    if (std::filesystem::is_directory(file))
      throw SettingsError("eval.pred: " + file + " is a run record; with --truth every prediction is a .npy of one row per item");
    preds.push_back(read_matrix(file, "predicted latents, items x 512"));
    const Eigen::MatrixXf& pred = preds.back();
    if (pred.cols() != kLatentDim)
      throw SettingsError(fmt::format("eval.pred: {} has {} columns, latents have {}: if it holds responses, decode them "
                                      "first (hyper decode --responses {} --decoder D --out PRED.npy)", file, pred.cols(),
                                      kLatentDim, file));
    if (pred.rows() != truth.rows())
      throw SettingsError(fmt::format("eval.pred: {} has {} rows and {} {}: row i of each is item i", file, pred.rows(),
                                      truth_file, truth.rows()));
    names.push_back(name);
  }
  std::vector<EvalResult> results;
  results.reserve(preds.size());
  // The presented faces and the prior's are the same for every prediction: drawn once.
  const FaceCachePtr faces = make_face_cache();
  for (size_t k = 0; k < preds.size(); ++k) {
    EvalItems items;
    items.predicted = preds[k].cast<double>();
    for (Eigen::Index i = 0; i < preds[k].rows(); ++i) items.stimulus.push_back(i);
    items.presentations.assign(static_cast<size_t>(preds[k].rows()), 1);
    items.averaged = false;  // a row is what the file holds (the released test rows are averages already)
    items.matched = preds[k].rows();
    spdlog::info("{}: {} items paired with the rows of {}", st.get_list("eval.pred")[k], preds[k].rows(), truth_file);
    std::string table;
    results.push_back(score_and_write(st, parts, items, truth, out / names[k], names[k], table, faces.get()));
  }
  std::vector<NamedResult> named;
  for (size_t i = 0; i < names.size(); ++i) named.push_back({names[i], &results[i]});
  const std::string table = table1_markdown(named);
  write_file_atomic(out / "table1.md", table);
  write_file_atomic(out / "table1.json", table1_json(named).dump(2) + "\n");
  std::printf("\n%s\nOutputs in %s: table1.md, table1.json, and per prediction NAME/eval.md, eval.json, items.tsv%s\n",
              table.c_str(), out.string().c_str(), st.get_bool("eval.images") ? ", contact_sheet.png" : "");
  return 0;
}

}  // namespace hyper

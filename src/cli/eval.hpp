#pragma once
// What `hyper eval` and `hyper demo` share: scoring predictions against the presented faces
// with the [eval] and [generator] settings, and writing the report.

#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "core/registry.hpp"
#include "eval/evaluation.hpp"
#include "eval/matching.hpp"

namespace hyper {

// Matches, scores and writes OUT/eval.json, eval.md, items.tsv, contact_sheet.png (and
// settings.toml); returns the Markdown table. Throws naming the file or key that is wrong.
std::string run_evaluation(const Settings& settings, const PartRegistry& parts, const std::vector<PredictionFile>& files,
                           const std::filesystem::path& stimulus_latents, const std::filesystem::path& out);

// Scores matched items against the stimulus latents (their rows) and writes OUT's files;
// `name` heads the contact sheet, `table` gets eval.md's text. `cache`: see evaluate().
EvalResult score_and_write(const Settings& settings, const PartRegistry& parts, const EvalItems& items,
                           const Eigen::MatrixXd& stimuli, const std::filesystem::path& out, const std::string& name,
                           std::string& table, FaceCache* cache = nullptr);

// hyper eval --truth (eval_arrays.cpp): predictions paired row by row with the presented
// latents, each scored into OUT/NAME/, and OUT/table1.md, table1.json side by side.
int evaluate_arrays(const Settings& settings, const PartRegistry& parts);

}  // namespace hyper

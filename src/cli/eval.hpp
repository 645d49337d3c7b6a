#pragma once
// What `hyper eval` and `hyper demo` share: scoring predictions against the presented faces
// with the [eval] and [generator] settings, and writing the report.

#include <filesystem>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "eval/matching.hpp"

namespace hyper {

// Matches, scores and writes OUT/eval.json, eval.md, items.tsv, contact_sheet.png (and
// settings.toml); returns the Markdown table. Throws naming the file or key that is wrong.
std::string run_evaluation(const Settings& settings, const PartRegistry& parts, const std::vector<PredictionFile>& files,
                           const std::filesystem::path& stimulus_latents, const std::filesystem::path& out);

}  // namespace hyper

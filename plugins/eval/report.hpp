#pragma once
// hyper eval's outputs (README, "hyper eval"): eval.json, a Markdown table with the layout
// of the paper's Table 1 (mean ± s.e.) plus chance and p columns, items.tsv (every item's
// values), and a contact sheet (presented faces over their reconstructions, as the paper's
// Fig. 2).

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/evaluation.hpp"

namespace hyper {

nlohmann::json to_json(const EvalResult& r, const EvalItems& items);
// A number for JSON: NaN (no standard error, no chance level) as null.
nlohmann::json json_number(double x);
// "0.4722 ± 0.0024" (mean ± s.e.), or "0.4722" for a value across items.
std::string value_text(const Metric& m);
// "0.012", "≤0.001" when no null set reached the value (p at its floor, 1/(draws+1)), "–" without.
std::string p_text(const Metric& m, int draws);
std::string markdown_table(const EvalResult& r, const EvalItems& items);
std::string items_tsv(const EvalResult& r, const EvalItems& items);

// What a reader needs to read a contact sheet without the README.
struct SheetText {
  std::string title;                    // e.g. "RUN: presented faces over their reconstructions"
  std::string subtitle;                 // a smaller line under it: items, generator, what the captions are
  std::vector<std::string> item_ids;    // above each pair ("#3 stim 17": item 3, stimulus row 17)
  std::vector<std::string> captions;    // under each pair ("r 0.42": its latent r)
};

// Pairs of square RGB images (`side` pixels) in blocks of `columns`: each block a row of
// `top` (labelled "presented") over the row of `bottom` ("reconstructed"), a title above.
// Writes a PNG; throws naming the file.
void write_contact_sheet(const std::filesystem::path& png, const std::vector<std::vector<uint8_t>>& top,
                         const std::vector<std::vector<uint8_t>>& bottom, int side, int columns, const SheetText& text);

}  // namespace hyper

#include "eval/report.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

#include "io/png.hpp"
#include "io/text.hpp"

namespace hyper {

nlohmann::json json_number(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

std::string value_text(const Metric& m) {
  return std::isfinite(m.se) ? fmt::format("{:.4f} ± {:.4f}", m.value, m.se) : fmt::format("{:.4f}", m.value);
}

std::string p_text(const Metric& m, int draws) {
  if (!std::isfinite(m.p)) return "–";
  return m.p * (draws + 1) < 1.5 ? fmt::format("≤{:.2g}", m.p) : fmt::format("{:.3f}", m.p);
}

namespace {

std::string what_items(const EvalResult& r, const EvalItems& items) {
  return items.averaged ? fmt::format("{} faces ({} presentations averaged per face)", r.items, items.matched)
                  : fmt::format("{} presentations of {} faces", r.items, r.candidates);
}
}  // namespace

nlohmann::json to_json(const EvalResult& r, const EvalItems& items) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const Metric& m : r.metrics)
    metrics[m.key] = {{"label", m.label}, {"per_item", m.per_item}, {"value", m.value}, {"se", json_number(m.se)},
                      {"chance", json_number(m.chance)}, {"chance_sd", json_number(m.chance_sd)}, {"p", json_number(m.p)}};
  return {{"format", "hyper-eval/1"},
          {"items", r.items},
          {"faces", r.candidates},
          {"presentations", items.matched},
          {"presentations_without_prediction", items.unmatched},
          {"averaged", items.averaged},
          {"chance_draws", r.draws},
          {"images", r.images},
          {"features", r.features},
          {"metrics", metrics}};
}

std::string markdown_table(const EvalResult& r, const EvalItems& items) {
  std::string t = fmt::format("# hyper eval: {}\n\n", what_items(r, items));
  if (!r.images.empty()) t += "Faces drawn by: " + r.images + "\n";
  if (!r.features.empty()) t += "Features: " + r.features + "\n";
  t += r.draws > 0 ? fmt::format("Chance: {} latents drawn from the prior N(0, I); p = (1 + null sets at least as good) / {}\n\n",
                                 r.draws, r.draws + 1)
                   : "Chance: not computed (eval.draws = 0)\n\n";
  t += "| measure | reconstruction (mean ± s.e.) | chance (mean ± s.d.) | p |\n|---|---|---|---|\n";
  for (const Metric& m : r.metrics) {
    const std::string chance = std::isfinite(m.chance) ? fmt::format("{:.4f} ± {:.4f}", m.chance, m.chance_sd) : "–";
    t += fmt::format("| {} | {} | {} | {} |\n", m.label, value_text(m), chance, p_text(m, r.draws));
  }
  return t;
}

std::string items_tsv(const EvalResult& r, const EvalItems& items) {
  std::string t = "item\tstimulus\tpresentations";
  for (const Metric& m : r.metrics)
    if (m.per_item) t += "\t" + m.key;
  t += "\n";
  for (size_t i = 0; i < items.stimulus.size(); ++i) {
    t += fmt::format("{}\t{}\t{}", i, items.stimulus[i], items.presentations[i]);
    for (const Metric& m : r.metrics)
      if (m.per_item) t += fmt::format("\t{:.6f}", m.items.at(i));
    t += "\n";
  }
  return t;
}

void write_contact_sheet(const std::filesystem::path& png, const std::vector<std::vector<uint8_t>>& top,
                         const std::vector<std::vector<uint8_t>>& bottom, int side, int columns, const SheetText& text) {
  if (top.size() != bottom.size() || top.empty() || side < 1 || columns < 1)
    throw std::invalid_argument(png.string() + ": a contact sheet needs pairs of images");
  const int n = static_cast<int>(top.size()), cols = std::min(columns, n), blocks = (n + cols - 1) / cols;
  const int gap = std::max(2, side / 32), block_gap = 3 * gap, line = 14;
  const std::string row_label[2] = {"presented", "reconstructed"};
  const int left = text_width(row_label[1]) + 2 * gap, title_h = text.title.empty() ? 0 : 3 * line + gap;
  const int block_h = line + 2 * side + gap + line;  // the item ids, the two faces, the captions
  const int width = std::max({left + cols * (side + gap) + gap, text_width(text.title, 2) + 2 * gap, text_width(text.subtitle) + 2 * gap});
  const int height = title_h + blocks * (block_h + block_gap) - block_gap + 2 * gap;
  std::vector<uint8_t> sheet(static_cast<size_t>(width) * static_cast<size_t>(height) * 3, 255);
  constexpr std::array<uint8_t, 3> ink{20, 20, 20}, grey{90, 90, 90};
  draw_text(sheet, width, height, gap, gap, text.title, ink, 2);
  draw_text(sheet, width, height, gap, gap + 2 * line, text.subtitle, grey);
  for (int b = 0; b < blocks; ++b)
    for (int row = 0; row < 2; ++row)
      draw_text(sheet, width, height, gap, title_h + gap + b * (block_h + block_gap) + line + row * (side + gap) + side / 2 - 6,
                row_label[row], grey);
  for (int i = 0; i < n; ++i) {
    const int x0 = left + (i % cols) * (side + gap), y_block = title_h + gap + (i / cols) * (block_h + block_gap);
    if (static_cast<size_t>(i) < text.item_ids.size()) draw_text(sheet, width, height, x0, y_block + 1, text.item_ids[i], grey);
    for (int row = 0; row < 2; ++row) {
      const auto& img = row == 0 ? top[static_cast<size_t>(i)] : bottom[static_cast<size_t>(i)];
      if (img.size() != static_cast<size_t>(side) * static_cast<size_t>(side) * 3)
        throw std::invalid_argument(png.string() + ": an image of the contact sheet is not " + std::to_string(side) + " pixels square");
      const int y0 = y_block + line + row * (side + gap);
      for (int y = 0; y < side; ++y)
        std::copy_n(img.begin() + static_cast<std::ptrdiff_t>(y) * side * 3, side * 3,
                    sheet.begin() + (static_cast<std::ptrdiff_t>(y0 + y) * width + x0) * 3);
    }
    if (static_cast<size_t>(i) < text.captions.size())
      draw_text(sheet, width, height, x0, y_block + line + 2 * side + gap + 2, text.captions[i], ink);
  }
  write_png(png, width, height, sheet);
}

}  // namespace hyper

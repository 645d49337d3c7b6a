#include "eval/table1.hpp"

#include <cmath>
#include <limits>
#include <optional>

#include <spdlog/fmt/fmt.h>

#include "eval/report.hpp"

namespace hyper {

namespace {

// The paper's values (Table 1, mean ± s.e. over the 36 test faces; attribute r of S1 from its
// text; NaN where it reports none). Its latent similarity is its code's 1/(1+MSE).
struct PaperRow {
  std::string key;    // our metric key; attribute rows match a boundary file naming the attribute
  std::string label;
  double s1, s1_se, s2, s2_se;
};
constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
const std::vector<PaperRow> kRows{
    {"latent_similarity_mse", "latent similarity 1/(1+MSE)", 0.4722, 0.0024, 0.4666, 0.0020},
    {"feature_similarity_mse", "feature similarity 1/(1+MSE) (VGGFace ResNet-50)", 0.1656, 0.0050, 0.1665, 0.0058},
    {"image_r", "Pearson r of luminance pixels", 0.5464, 0.0256, 0.5013, 0.0291},
    {"image_ssim_paper", "SSIM as the paper's code (RGB, full size, 7x7 uniform window; not in its table)", kNone, kNone, kNone, kNone},
    {"image_ssim", "SSIM, luminance, Gaussian window (not in the paper)", kNone, kNone, kNone, kNone},
    {"latent_r", "latent Pearson r (not in the paper)", kNone, kNone, kNone, kNone},
    {"latent_identification_top1", "latent identification, top-1 (not in the paper)", kNone, kNone, kNone, kNone},
    {"attribute_r_gender", "attribute r: gender", 0.89, kNone, kNone, kNone},
    {"attribute_r_age", "attribute r: age", 0.78, kNone, kNone, kNone},
    {"attribute_r_eyeglasses", "attribute r: eyeglasses", 0.59, kNone, kNone, kNone},
    {"attribute_r_pose", "attribute r: pose", 0.83, kNone, kNone, kNone},
    {"attribute_r_smile", "attribute r: smile", 0.10, kNone, kNone, kNone},
};

// A row's metric in a result: by key; for an attribute, the one boundary file named after it
// exactly: ATTR.npy or InterFaceGAN's pggan_celebahq_ATTR_boundary.npy (not a conditional
// boundary such as ..._age_c_gender_boundary). More than one such file: none, and `ambiguous`
// names them.
const Metric* find_row(const EvalResult& r, const std::string& key, std::string* ambiguous = nullptr) {
  const std::string prefix = "attribute_r_";
  if (key.rfind(prefix, 0) != 0) return r.find(key);
  const std::string attribute = key.substr(prefix.size()), tail = "_" + attribute + "_boundary";
  std::vector<const Metric*> found;
  for (const Metric& m : r.metrics) {
    if (m.key.rfind(prefix, 0) != 0) continue;
    const std::string name = m.key.substr(prefix.size());
    const bool ends = name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
    if (name == attribute || name == attribute + "_boundary" || (ends && name.find("_c_") == std::string::npos))
      found.push_back(&m);
  }
  if (found.size() > 1 && ambiguous) {
    *ambiguous = attribute + ":";
    for (const Metric* m : found) *ambiguous += " " + m->key.substr(prefix.size());
  }
  return found.size() == 1 ? found.front() : nullptr;
}

std::string paper_cell(double v, double se) {
  if (!std::isfinite(v)) return "–";
  return std::isfinite(se) ? fmt::format("{:.4f} ± {:.4f}", v, se) : fmt::format("{:.2f}", v);
}

}  // namespace

std::string table1_markdown(const std::vector<NamedResult>& results) {
  std::string t = "# Table 1 of Dado et al. (2022), side by side\n\n";
  if (!results.empty()) {
    const EvalResult& first = *results.front().result;
    t += fmt::format("{} test items; chance from {} latents drawn from N(0, I).", first.items, first.draws);
    if (!first.images.empty()) t += " Faces drawn by: " + first.images + ".";
    if (!first.features.empty()) t += " Features: " + first.features + ".";
    t += "\nEach prediction: mean ± s.e. over the items (attribute r: one value across them) and its permutation p. The "
         "paper's columns are its published figures (S1, S2), for comparison; a row a run could not compute (no generator, "
         "no feature network, no boundary file) is left out.\n\n";
  }
  t += "| measure |";
  for (const NamedResult& n : results) t += " " + n.name + " |";
  t += " chance (mean ± s.d.) | paper S1 | paper S2 |\n|---|";
  for (size_t i = 0; i < results.size() + 3; ++i) t += "---|";
  t += "\n";
  std::string ambiguous;
  for (const PaperRow& row : kRows) {
    std::string cells, label = row.label;
    std::optional<std::string> chance;
    for (const NamedResult& n : results) {
      std::string which;
      const Metric* m = find_row(*n.result, row.key, &which);
      if (!which.empty() && ambiguous.find(which) == std::string::npos) ambiguous += "\n- " + which;
      if (!m) {
        cells += " – |";
        continue;
      }
      cells += fmt::format(" {} (p {}) |", value_text(*m), p_text(*m, n.result->draws));
      if (!chance && std::isfinite(m->chance)) chance = fmt::format("{:.4f} ± {:.4f}", m->chance, m->chance_sd);
      if (row.key.rfind("attribute_r_", 0) == 0) label = row.label + " (" + m->key.substr(12) + ")";
    }
    if (cells.find_first_not_of(" –|") == std::string::npos) continue;  // no result has it
    t += fmt::format("| {} |{} {} | {} | {} |\n", label, cells, chance.value_or("–"), paper_cell(row.s1, row.s1_se),
                     paper_cell(row.s2, row.s2_se));
  }
  if (!ambiguous.empty())
    t += "\nLeft out, more than one boundary file names the attribute (give one per attribute):" + ambiguous + "\n";
  return t;
}

nlohmann::json table1_json(const std::vector<NamedResult>& results) {
  nlohmann::json rows = nlohmann::json::array();
  for (const PaperRow& row : kRows) {
    nlohmann::json values = nlohmann::json::object();
    for (const NamedResult& n : results)
      if (const Metric* m = find_row(*n.result, row.key))
        values[n.name] = {{"key", m->key}, {"value", m->value}, {"se", json_number(m->se)}, {"p", json_number(m->p)},
                          {"chance", json_number(m->chance)}};
    if (values.empty()) continue;
    rows.push_back({{"measure", row.key}, {"label", row.label}, {"results", values},
                    {"paper", {{"S1", json_number(row.s1)}, {"S1_se", json_number(row.s1_se)}, {"S2", json_number(row.s2)}, {"S2_se", json_number(row.s2_se)}}}});
  }
  nlohmann::json names = nlohmann::json::array();
  for (const NamedResult& n : results) names.push_back(n.name);
  return {{"format", "hyper-table1/1"}, {"predictions", names}, {"rows", rows}};
}

}  // namespace hyper

#pragma once
// hyper eval's side-by-side report when several predictions of the same test items are scored
// (README, "The paper's own files"): the measures of the paper's Table 1 and its attribute r
// (Dado et al. 2022), one column per prediction (mean ± s.e. and permutation p), the chance
// level, and the paper's published values beside them for comparison.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/evaluation.hpp"

namespace hyper {

struct NamedResult {
  std::string name;  // e.g. the prediction file's stem
  const EvalResult* result;
};

std::string table1_markdown(const std::vector<NamedResult>& results);
nlohmann::json table1_json(const std::vector<NamedResult>& results);

}  // namespace hyper

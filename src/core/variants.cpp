#include "core/variants.hpp"

#include <cctype>

#include <spdlog/fmt/fmt.h>

namespace hyper {

std::vector<Variant> variants_of(const Settings& st, const std::string& key) {
  std::vector<Variant> out;
  for (std::string spec : st.get_list(key)) {
    Settings v = st;
    // "NAME: KEY=VALUE;..." names the variant; else the assignments are its name.
    std::string name = spec;
    const size_t colon = spec.find(':'), eq = spec.find('=');
    if (colon != std::string::npos && colon < eq) {
      name = spec.substr(0, colon);
      const size_t rest = spec.find_first_not_of(' ', colon + 1);
      spec = spec.substr(rest == std::string::npos ? spec.size() : rest);
    }
    size_t start = 0;
    while (start <= spec.size()) {
      const size_t end = std::min(spec.find(';', start), spec.size());
      if (end > start) v.apply_assignment(spec.substr(start, end - start), key);
      start = end + 1;
    }
    out.push_back({name, v});
  }
  if (out.empty()) out.push_back({"baseline", st});
  return out;
}

std::string variant_slug(size_t i, const std::string& name) {
  std::string s = fmt::format("{:02d}-", i + 1);
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  return s.substr(0, 60);
}

}  // namespace hyper

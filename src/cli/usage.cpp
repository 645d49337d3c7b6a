#include "cli/usage.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/fmt/ranges.h>

namespace hyper {

namespace {
std::string upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}
}  // namespace

void check_given(const Schema& schema, const Command& c, const std::vector<std::string>& sections, const Settings& st) {
  for (const auto& section : sections)
    for (const SettingSpec* s : schema.section(section)) {
      if (!s->required && !s->existing) continue;
      const SettingValue& v = st.value(s->key);
      const std::vector<std::string> paths = s->type == SettingType::StringList ? std::get<std::vector<std::string>>(v)
                                                                                : std::vector<std::string>{std::get<std::string>(v)};
      const bool empty = paths.empty() || (paths.size() == 1 && paths[0].empty());
      const bool own = std::find(c.sections.begin(), c.sections.end(), section) != c.sections.end();
      if (s->required && own && empty) {
        const std::string how = s->key == c.positional ? "hyper " + c.name + " " + upper(s->key.substr(s->key.find('.') + 1)) + (c.positional_settings ? ".toml" : "")
                                : s->flag.empty()      ? "--set " + s->key + "=..."
                                                       : s->flag;
        throw SettingsError(s->key + ": required: give it with " + how + " (" + s->help + "); see the example in hyper " + c.name +
                            " --help");
      }
      if (!s->existing || empty) continue;
      const std::string origin = st.origin(s->key);
      for (const auto& p : paths)
        if (!std::filesystem::exists(p))
          throw SettingsError(s->key + ": no such file: " + p + " (from " +
                              (origin.rfind("flag ", 0) == 0 ? origin.substr(5) : origin) + ")");
    }
}

std::string usage_error(int argc, char** argv, CLI::App& app, const std::string& what) {
  const std::string tail = " (see hyper --help)";
  std::vector<std::string> names;
  CLI::App* sub = nullptr;
  for (CLI::App* c : app.get_subcommands([](CLI::App*) { return true; })) {
    if (argc >= 2 && c->get_name() == argv[1]) sub = c;
    names.push_back(c->get_name());
  }
  if (argc < 2) return "give a command: " + fmt::format("{}", fmt::join(names, ", ")) + tail;
  const std::string word = argv[1];
  if (!sub && word[0] != '-') {
    const std::string best = closest(word, names);
    return "unknown command '" + word + "'" + (best.empty() ? "" : " (did you mean '" + best + "'?)") + "; the commands: " +
           fmt::format("{}", fmt::join(names, ", ")) + tail;
  }
  if (!sub) return what + tail;
  names.clear();
  for (const CLI::Option* o : sub->get_options())
    for (const auto& n : o->get_lnames()) names.push_back("--" + n);
  for (int i = 2; i < argc; ++i) {
    const std::string a = std::string(argv[i]).substr(0, std::string(argv[i]).find('='));
    if (a.rfind("--", 0) != 0 || std::find(names.begin(), names.end(), a) != names.end()) continue;
    const std::string best = closest(a, names);
    return "unknown flag " + a + (best.empty() ? "" : " (did you mean " + best + "?)") + " for hyper " + word +
           " (see hyper " + word + " --help)";
  }
  return what + " (see hyper " + word + " --help)";
}

}  // namespace hyper

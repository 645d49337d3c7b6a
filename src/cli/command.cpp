#include "cli/command.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "core/interrupt.hpp"
#include "core/logging.hpp"
#include "cli/usage.hpp"
#include "builtin.hpp"
#include "generators/generator_settings.hpp"

namespace hyper {

namespace {

// What the command line said for one subcommand, before resolution.
struct Given {
  std::string config;
  std::vector<std::string> plugins;  // parsed early (see plugin_paths); kept so CLI11 accepts the flag
  std::vector<std::string> sets;
  bool print_settings = false;
  std::map<std::string, std::string> text;                       // key -> flag text
  std::map<std::string, std::vector<std::string>> lists;         // key -> list flag values
  std::map<std::string, bool> switches;                          // key -> bool flag storage
  std::map<std::string, CLI::Option*> options;                   // key -> option (to ask count())
};

std::string type_name(const SettingSpec& s) {
  switch (s.type) {
    case SettingType::Int: return "INT";
    case SettingType::Float: return s.choices.empty() ? "NUMBER" : "NUMBER|" + s.choices.front();  // --speed NUMBER|max
    case SettingType::StringList: return "PATH...";
    default: return "TEXT";
  }
}

// --plugin paths, read before anything else: a plugin's parts declare settings that the
// config file and --set may then use.
std::vector<std::string> plugin_paths(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--plugin" && i + 1 < argc) out.push_back(argv[++i]);
    else if (a.rfind("--plugin=", 0) == 0) out.push_back(a.substr(9));
  }
  return out;
}

void add_options(CLI::App& sub, const Schema& schema, const std::vector<std::string>& sections, bool chain,
                 const std::string& example, const std::string& positional, Given& g) {
  sub.add_option("--config", g.config, "TOML settings file (flags > --set > --config > defaults)")
      ->check(CLI::ExistingFile);
  if (chain)
    sub.add_option("--plugin", g.plugins, "load parts (stages, sources, sinks, generators) from a plugin (.so); repeatable");
  sub.add_option("--set", g.sets, "override one setting: section.key=value (repeatable)");
  sub.add_flag("--print-settings", g.print_settings,
               "print the resolved settings as TOML, with where each came from, and exit");
  std::string footer;
  for (const auto& section : sections) {
    for (const SettingSpec* s : schema.section(section)) {
      if (s->key == positional) {  // PLAN.toml: a file of settings as well as a value
        const std::string name = s->key.substr(s->key.find('.') + 1);
        g.options[s->key] = sub.add_option(name, g.text[s->key], describe(*s) + "  {" + s->key + "}")->check(CLI::ExistingFile);
        continue;
      }
      if (s->flag.empty()) {
        footer += "  " + s->key + "  " + describe(*s) + "\n";
        continue;
      }
      CLI::Option* o = nullptr;
      const std::string help = describe(*s) + "  {" + s->key + "}";
      if (s->type == SettingType::Bool) o = sub.add_flag(s->flag, g.switches[s->key], help);
      else if (s->type == SettingType::StringList) o = sub.add_option(s->flag, g.lists[s->key], help);
      else o = sub.add_option(s->flag, g.text[s->key], help)->type_name(type_name(*s));
      g.options[s->key] = o;
    }
  }
  if (!footer.empty()) footer = "Settings without a flag (give them with --set KEY=VALUE or in --config):\n" + footer + "\n";
  sub.footer(footer + "Example:\n  " + example);
}

Settings resolve(const Schema& schema, const Command& c, const Given& g) {
  Settings st(schema);
  if (!c.base_toml.empty()) st.load_text(c.base_toml, c.base_name);
  if (!c.positional.empty() && c.positional_settings && g.options.at(c.positional)->count() > 0) st.load_file(g.text.at(c.positional));
  if (!g.config.empty()) st.load_file(g.config);
  for (const auto& a : g.sets) st.apply_assignment(a);
  for (const auto& [key, opt] : g.options) {
    if (opt->count() == 0) continue;
    const std::string origin = key == c.positional ? "the command line" : "flag " + schema.find(key)->flag;
    if (auto it = g.switches.find(key); it != g.switches.end()) st.apply_value(key, it->second, origin);
    else if (auto it = g.lists.find(key); it != g.lists.end()) st.apply_value(key, it->second, origin);
    else st.apply_text(key, g.text.at(key), origin);
  }
  return st;
}

// The settings sections a command reads: log, its own, the chain's if it builds one, and
// those of the registered sources and sinks if it runs the live pipeline.
std::vector<std::string> sections_of(const Command& c, const PartRegistry& parts) {
  std::vector<std::string> sections{"log"};
  auto add = [&](const std::string& s) {
    if (std::find(sections.begin(), sections.end(), s) == sections.end()) sections.push_back(s);
  };
  for (const auto& s : c.sections) add(s);
  if (c.chain) add("preprocess");
  if (c.session)
    for (const auto& s : parts.session_sections()) add(s);
  return sections;
}

// The command's sections and every other section a value was set in (the demo's train settings).
std::vector<std::string> printed_sections(std::vector<std::string> sections, const Settings& st) {
  for (const auto& spec : st.schema().all()) {
    const std::string section = spec.key.substr(0, spec.key.find('.'));
    if (st.origin(spec.key) != "default" && std::find(sections.begin(), sections.end(), section) == sections.end())
      sections.push_back(section);
  }
  return sections;
}

}  // namespace

int run_cli(int argc, char** argv, const std::vector<Command>& commands) {
  PartRegistry parts;
  register_builtin_parts(parts);
  try {
    for (const auto& path : plugin_paths(argc, argv)) load_plugin(path, parts);
  } catch (const std::exception& e) {
    std::cerr << "hyper: " << e.what() << "\n";
    return kExitUsage;
  }
  Schema schema;
  declare_log_settings(schema);
  parts.declare(schema);
  declare_generator_settings(schema, parts.generator_names());  // [generator]: shared by render, eval and the faces sink
  for (const auto& c : commands) c.declare(schema);

  CLI::App app{"hyper: real-time fMRI face reconstruction (HYPER-RT " HYPER_VERSION ")"};
  app.set_version_flag("--version", HYPER_VERSION);
  app.require_subcommand(1);
  std::vector<Given> given(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    CLI::App* sub = app.add_subcommand(commands[i].name, commands[i].help);
    add_options(*sub, schema, sections_of(commands[i], parts), commands[i].chain || commands[i].session, commands[i].example,
                commands[i].positional, given[i]);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // CLI11's own codes (105, 106, 109...) would hide a usage error: one line and exit 2.
    std::cerr << "hyper: " << usage_error(argc, argv, app, e.what()) << "\n";
    return kExitUsage;
  }

  for (size_t i = 0; i < commands.size(); ++i) {
    if (!app.got_subcommand(commands[i].name)) continue;
    const Command& cmd = commands[i];
    std::optional<Settings> st;
    try {
      st.emplace(resolve(schema, cmd, given[i]));
      init_logging(st->get_string("log.level"));
    } catch (const std::exception& e) {
      std::cerr << "hyper " << cmd.name << ": " << e.what() << "\n";
      return kExitUsage;
    }
    if (given[i].print_settings) {
      std::cout << st->to_toml(printed_sections(sections_of(cmd, parts), *st));
      return 0;
    }
    install_interrupt_handler();
    try {
      check_given(schema, cmd, sections_of(cmd, parts), *st);
      return cmd.run(*st, parts);
    } catch (const SettingsError& e) {
      spdlog::error("{}", e.what());
      return kExitUsage;
    } catch (const Interrupted& e) {
      spdlog::warn("{}", e.what());
      return kExitInterrupted;
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return kExitFailure;
    }
  }
  return kExitUsage;
}

}  // namespace hyper

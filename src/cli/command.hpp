#pragma once
// A subcommand of `hyper`: its name, the settings sections it reads (each key with a flag
// becomes a command-line option), how it declares those keys, and what it runs.
// The list of subcommands is written once, in main.cpp.

#include <functional>
#include <string>
#include <vector>

#include "core/settings.hpp"
#include "core/registry.hpp"

namespace CLI {
class App;
}

namespace hyper {

struct Command {
  std::string name;
  std::string help;
  std::vector<std::string> sections;         // e.g. {"replay"}; "log" is added for every command
  std::function<void(Schema&)> declare;      // adds this command's keys
  std::function<int(const Settings&, const PartRegistry&)> run;  // returns the exit code
  bool chain = false;    // builds a preprocessing chain: reads [preprocess], takes --plugin
  bool session = false;  // runs the live pipeline: also reads the settings of every registered source and sink
  std::string base_toml;  // this command's own defaults, under --config (the demo's embedded configs/demo.toml)
  std::string base_name;  // where they come from, as settings errors and --print-settings name it
  std::string example;    // one typical command line, shown at the end of --help
  std::string positional;  // a key given as the one positional argument (hyper session PLAN.toml)
  bool positional_settings = true;  // ... read as a settings file too (PLAN.toml is; import-hyper's DATA.dat is not)
};

Command replay_command();
Command stream_command();
Command simulate_command();
Command preprocess_command();
Command train_command();
Command decode_command();
Command render_command();
Command eval_command();
Command bench_command();
Command demo_command();
Command bridge_command();
Command session_command();
Command keys_command();
Command import_hyper_command();

// Runs `hyper` with the given commands: parses flags, resolves settings (flags > --set >
// --config > defaults), starts logging, runs the chosen command. Returns the exit code:
// 0 success, 1 runtime failure, 2 bad usage or settings, 130 interrupted.
int run_cli(int argc, char** argv, const std::vector<Command>& commands);

// Exit codes shared by the subcommands.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

}  // namespace hyper

#pragma once
// What `hyper` says about a command line it cannot run: a mistyped command or flag gets a
// did-you-mean, an empty REQUIRED setting its flag, a missing file where it came from. Both before anything starts (exit 2).

#include <string>

#include "cli/command.hpp"

namespace hyper {

// The one line for a command line CLI11 refused (`what`): an unknown command or flag gets a
// did-you-mean (the names are CLI11's own, so the hint never drifts from the options).
std::string usage_error(int argc, char** argv, CLI::App& app, const std::string& what);

// Throws SettingsError naming the first REQUIRED key of the command's own sections left empty,
// or the first path of an `existing` key in `sections` that is not there ("no such file").
void check_given(const Schema& schema, const Command& c, const std::vector<std::string>& sections, const Settings& st);

}  // namespace hyper

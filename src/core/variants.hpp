#pragma once
// Variants of a run's settings, compared side by side (hyper bench --variants): each is
// "[NAME:] KEY=VALUE[;KEY=VALUE...]" applied over the resolved settings.

#include <string>
#include <vector>

#include "core/settings.hpp"

namespace hyper {

struct Variant {
  std::string name;  // NAME, or the assignments themselves
  Settings settings;
};

// The variants listed in `key` (a string list); none listed: one, "baseline", the settings
// as they are. A bad assignment is a SettingsError naming `key`.
std::vector<Variant> variants_of(const Settings& settings, const std::string& key);

// A folder name for variant i: "01-name" with unsafe characters replaced, sorting in order.
std::string variant_slug(size_t i, const std::string& name);

}  // namespace hyper

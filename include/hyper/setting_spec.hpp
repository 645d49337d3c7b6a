#pragma once
// How a setting or a stage parameter is declared: type, default, unit, range, one line of
// help (STYLE.md 3). Plugins declare their stages' parameters with it.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace hyper {

enum class SettingType { Bool, Int, Float, String, StringList };

using SettingValue = std::variant<bool, int64_t, double, std::string, std::vector<std::string>>;

struct SettingSpec {
  std::string key;    // "section.name" (a stage parameter: just "name")
  SettingType type = SettingType::String;
  SettingValue def;   // default
  std::string unit;   // "s", "mm", "volumes", ... ("" when unitless)
  std::string help;   // one line
  std::string flag;   // "--speed" or "" (config only)
  std::optional<double> min, max;    // inclusive range for Int and Float
  std::vector<std::string> choices;  // String: the allowed values; Float: words allowed instead of a number
  bool required = false;  // String or StringList that the command cannot run without: --help marks it REQUIRED
  bool existing = false;  // a path (or list of paths) that must exist when given: checked before the command starts
  // How the work is run, not what it computes (a thread count): every value gives the same
  // numbers, bit for bit, so a decoder trained with another value still applies, and decoding
  // runs with the user's.
  bool same_numbers = false;
};

}  // namespace hyper

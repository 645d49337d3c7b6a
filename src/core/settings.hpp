#pragma once
// Settings: every key is declared once (type, default, unit, range, help, optional flag),
// then resolved in one documented order (STYLE.md 4):
//   command-line flags  >  --set section.key=value  >  --config FILE  >  defaults.
// Unknown keys and wrong types are errors that name the key and where it came from.
// Resolved settings never change afterwards; reading them is thread-safe.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "hyper/params.hpp"
#include "hyper/setting_spec.hpp"

namespace hyper {

class SettingsError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The set of every key the program knows, across all subcommands: a key that a config file
// sets for another subcommand is not an error, a key no subcommand knows is.
class Schema {
 public:
  void add(SettingSpec spec);  // throws std::logic_error on a duplicate key
  const SettingSpec* find(const std::string& key) const;
  std::vector<const SettingSpec*> section(const std::string& name) const;  // in declaration order
  const std::vector<SettingSpec>& all() const { return specs_; }
  // A top-level table a command reads itself from the same file (hyper session's [[run]]):
  // settings files may hold it, Settings skips it.
  void add_table(const std::string& name) { tables_.push_back(name); }
  bool is_table(const std::string& name) const;

 private:
  std::vector<SettingSpec> specs_;
  std::vector<std::string> tables_;
};

// "--speed FLOAT  playback speed ... [default: 1] (x)": the text `--help` shows for a key.
std::string describe(const SettingSpec& spec);
std::string format_value(const SettingValue& v);
// The candidate within a few edits of `word` ("did you mean"), or "" when none is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

class Settings : public Params {
 public:
  explicit Settings(const Schema& schema);

  void load_file(const std::filesystem::path& path);
  // The same from text already read (e.g. settings recorded in a decoder); `origin` names it.
  void load_text(const std::string& text, const std::string& origin);
  // "section.key=value"; the value is read as TOML (numbers, true/false, ["a","b"]) and,
  // failing that, as a plain string, so --set replay.endpoint=tcp://host:5555 works unquoted.
  void apply_assignment(const std::string& assignment, const std::string& origin = "--set");
  // A value given as command-line text (flags), checked like any other.
  void apply_text(const std::string& key, const std::string& text, const std::string& origin);
  void apply_value(const std::string& key, SettingValue value, const std::string& origin);

  bool get_bool(const std::string& key) const override;
  int64_t get_int(const std::string& key) const override;
  double get_float(const std::string& key) const override;  // throws if the value is a word ("max")
  bool is_word(const std::string& key, const std::string& word) const;
  std::string get_string(const std::string& key) const override;
  std::vector<std::string> get_list(const std::string& key) const override;

  const SettingValue& value(const std::string& key) const;
  // "default", "file configs/x.toml", "--set", "flag --speed".
  std::string origin(const std::string& key) const;
  // Every resolved value as TOML, grouped by section: the record of what a run used.
  std::string to_toml(const std::vector<std::string>& sections) const;

  const Schema& schema() const { return schema_; }

 private:
  const Schema& schema_;
  std::map<std::string, SettingValue> values_;
  std::map<std::string, std::string> origins_;
};

}  // namespace hyper

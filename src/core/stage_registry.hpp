#pragma once
// The registry of preprocessing stages (built-in and from plugins), the declaration of
// their parameters as settings (preprocess.<stage>.<param>), and plugin loading.
// Built once at start-up on the main thread; read-only afterwards.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/settings.hpp"
#include "hyper/registry.hpp"

namespace hyper {

class StageRegistry : public Registry {
 public:
  void add_stage(StageInfo info) override;
  const StageInfo* find(const std::string& name) const;
  std::vector<std::string> names() const;
  // Declares preprocess.chain and every stage's parameters.
  void declare(Schema& schema) const;

 private:
  std::map<std::string, StageInfo> stages_;
};

// Registers HYPER-RT's own stages: the one explicit list (src/core/builtin.cpp).
void register_builtin_stages(Registry& registry);

// Loads a plugin (dlopen) and calls its hyper_register. Throws std::runtime_error naming
// the file when it cannot be loaded, is not a HYPER-RT plugin, or was built for another
// API version (checked before any of its registration code runs). The library stays
// loaded for the life of the process.
void load_plugin(const std::string& path, Registry& registry);

// A stage's parameters read from resolved settings (preprocess.<stage>.<name>).
class SettingsStageParams : public StageParams {
 public:
  SettingsStageParams(const Settings& settings, std::string stage) : s_(settings), prefix_("preprocess." + stage + ".") {}
  bool get_bool(const std::string& n) const override { return s_.get_bool(prefix_ + n); }
  int64_t get_int(const std::string& n) const override { return s_.get_int(prefix_ + n); }
  double get_float(const std::string& n) const override { return s_.get_float(prefix_ + n); }
  std::string get_string(const std::string& n) const override { return s_.get_string(prefix_ + n); }
  std::vector<std::string> get_list(const std::string& n) const override { return s_.get_list(prefix_ + n); }

 private:
  const Settings& s_;
  std::string prefix_;
};

}  // namespace hyper

#pragma once
// Where stages are registered: the built-in ones from one explicit list
// (src/core/builtin.cpp), third-party ones from plugins.
//
// A plugin is a shared library built against include/hyper only:
//
//   #include "hyper/registry.hpp"
//   HYPER_PLUGIN(registry) { registry.add_stage({...}); }
//
// and loaded with `--plugin PATH`. HYPER_PLUGIN also exports the API version the plugin
// was built with; a plugin of another version is refused before any of its code runs.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hyper/setting_spec.hpp"
#include "hyper/stage.hpp"
#include "hyper/version.hpp"

namespace hyper {

// Read access to one stage's parameters, already checked against their declarations.
class StageParams {
 public:
  virtual ~StageParams() = default;
  virtual bool get_bool(const std::string& name) const = 0;
  virtual int64_t get_int(const std::string& name) const = 0;
  virtual double get_float(const std::string& name) const = 0;
  virtual std::string get_string(const std::string& name) const = 0;
  virtual std::vector<std::string> get_list(const std::string& name) const = 0;
};

struct StageInfo {
  std::string name;                  // as written in preprocess.chain
  std::string help;                  // one line
  std::vector<SettingSpec> params;   // keys are parameter names; set as preprocess.<name>.<param>
  std::function<std::unique_ptr<Stage>(const StageParams&)> make;
};

class Registry {
 public:
  virtual ~Registry() = default;
  virtual void add_stage(StageInfo info) = 0;  // throws std::invalid_argument on a duplicate name
};

}  // namespace hyper

#define HYPER_PLUGIN(registry)                                                         \
  extern "C" int hyper_plugin_api_version() { return ::hyper::kApiVersion; }            \
  extern "C" void hyper_register(::hyper::Registry& registry)

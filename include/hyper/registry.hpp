#pragma once
// Where the pipeline's parts are registered: stages, sources, sinks and generators. The
// built-in ones come from one explicit list per kind (plugins/<kind>/list.cpp), third-party
// ones from plugins. A plugin is a shared library built against include/hyper only:
//
//   #include "hyper/registry.hpp"
//   HYPER_PLUGIN(registry) { registry.add_stage({...}); registry.add_sink({...}); }
//
// and loaded with `--plugin PATH`. HYPER_PLUGIN also exports the API version the plugin
// was built with; a plugin of another version is refused before any of its code runs.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hyper/generator.hpp"
#include "hyper/params.hpp"
#include "hyper/setting_spec.hpp"
#include "hyper/sink.hpp"
#include "hyper/source.hpp"
#include "hyper/stage.hpp"
#include "hyper/version.hpp"

namespace hyper {


struct StageInfo {
  std::string name;                  // as written in preprocess.chain
  std::string help;                  // one line
  std::vector<SettingSpec> params;   // keys are parameter names; set as preprocess.<name>.<param>
  std::function<std::unique_ptr<Stage>(const StageParams&)> make;
};

struct SinkInfo {
  std::string name;                  // e.g. "run_record"
  std::string help;                  // one line
  std::vector<SettingSpec> settings; // full keys ("display.width"), the one that turns it on among them
  // The sink, or nullptr when its settings leave it off. Throws SettingsError-like
  // std::runtime_error naming the key for a bad combination.
  std::function<std::unique_ptr<Sink>(const SinkContext&)> make;
};

struct SourceInfo {
  std::string name;                  // as chosen with stream.source
  std::string help;                  // one line
  std::vector<SettingSpec> settings; // full keys
  std::function<std::unique_ptr<Source>(const Params&)> make;
};

struct GeneratorInfo {
  std::string name;                  // as chosen with generator.kind
  std::string help;                  // one line
  std::function<std::unique_ptr<Generator>(const GeneratorOptions&)> make;
};

// Each add throws std::invalid_argument on a duplicate or empty name.
class Registry {
 public:
  virtual ~Registry() = default;
  virtual void add_stage(StageInfo info) = 0;
  virtual void add_sink(SinkInfo info) = 0;
  virtual void add_source(SourceInfo info) = 0;
  virtual void add_generator(GeneratorInfo info) = 0;
};

}  // namespace hyper

#define HYPER_PLUGIN(registry)                                                         \
  extern "C" int hyper_plugin_api_version() { return ::hyper::kApiVersion; }            \
  extern "C" void hyper_register(::hyper::Registry& registry)

// For the lists of built-in parts (plugins/<kind>/list.cpp): each part is one file that
// defines `void register_NAME(Registry&)`; its list names it once, X(NAME), and expands
// the list with these two.
#define HYPER_DECLARE_PART(name) void register_##name(::hyper::Registry&);
#define HYPER_REGISTER_PART(name) register_##name(registry);

#include "core/stage_registry.hpp"

#include <stdexcept>

#include <dlfcn.h>

namespace hyper {

void StageRegistry::add_stage(StageInfo info) {
  if (info.name.empty() || !info.make) throw std::invalid_argument("a stage needs a name and a factory");
  if (stages_.count(info.name)) throw std::invalid_argument("stage '" + info.name + "' is registered twice");
  const std::string name = info.name;
  stages_.emplace(name, std::move(info));
}

const StageInfo* StageRegistry::find(const std::string& name) const {
  auto it = stages_.find(name);
  return it == stages_.end() ? nullptr : &it->second;
}

std::vector<std::string> StageRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : stages_) out.push_back(name);
  return out;
}

void StageRegistry::declare(Schema& schema) const {
  schema.add({.key = "preprocess.chain", .type = SettingType::StringList, .def = std::vector<std::string>{},
              .help = "preprocessing stages in order, e.g. [\"mask\", \"detrend\", \"zscore\"]"});
  for (const auto& [name, info] : stages_)
    for (SettingSpec p : info.params) {
      p.key = "preprocess." + name + "." + p.key;
      p.flag.clear();  // stage parameters come from --set or the config file
      schema.add(std::move(p));
    }
}

void load_plugin(const std::string& path, Registry& registry) {
  // RTLD_LOCAL: two plugins may use the same internal names.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw std::runtime_error("plugin " + path + ": cannot load: " + dlerror());
  using VersionFn = int (*)();
  using RegisterFn = void (*)(Registry&);
  auto version = reinterpret_cast<VersionFn>(dlsym(handle, "hyper_plugin_api_version"));
  auto reg = reinterpret_cast<RegisterFn>(dlsym(handle, "hyper_register"));
  if (!version || !reg) {
    dlclose(handle);
    throw std::runtime_error("plugin " + path + ": not a HYPER-RT plugin (it does not export hyper_register and "
                             "hyper_plugin_api_version; use HYPER_PLUGIN from hyper/registry.hpp)");
  }
  if (const int v = version(); v != kApiVersion) {
    dlclose(handle);
    throw std::runtime_error("plugin " + path + ": built for plugin API version " + std::to_string(v) +
                             ", this hyper has version " + std::to_string(kApiVersion) +
                             ": rebuild it against this include/hyper");
  }
  reg(registry);
}

}  // namespace hyper

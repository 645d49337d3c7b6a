#include "core/registry.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <dlfcn.h>

namespace hyper {

namespace {

template <typename Info>
void check_new(const Info& info, bool has_factory, const std::vector<std::string>& known, const char* kind) {
  if (info.name.empty() || !has_factory) throw std::invalid_argument(std::string("a ") + kind + " needs a name and a factory");
  if (std::find(known.begin(), known.end(), info.name) != known.end())
    throw std::invalid_argument(std::string(kind) + " '" + info.name + "' is registered twice");
}

template <typename Info>
std::vector<std::string> names_of(const std::vector<Info>& infos) {
  std::vector<std::string> out;
  for (const auto& i : infos) out.push_back(i.name);
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

void PartRegistry::add_stage(StageInfo info) {
  check_new(info, static_cast<bool>(info.make), names(), "stage");
  const std::string name = info.name;
  stages_.emplace(name, std::move(info));
}

void PartRegistry::add_sink(SinkInfo info) {
  check_new(info, static_cast<bool>(info.make), names_of(sinks_), "sink");
  sinks_.push_back(std::move(info));
}

void PartRegistry::add_source(SourceInfo info) {
  check_new(info, static_cast<bool>(info.make), names_of(sources_), "source");
  sources_.push_back(std::move(info));
}

void PartRegistry::add_generator(GeneratorInfo info) {
  check_new(info, static_cast<bool>(info.make), names_of(generators_), "generator");
  generators_.push_back(std::move(info));
}

const StageInfo* PartRegistry::find(const std::string& name) const {
  auto it = stages_.find(name);
  return it == stages_.end() ? nullptr : &it->second;
}

std::vector<std::string> PartRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : stages_) out.push_back(name);
  return out;
}

const SourceInfo& PartRegistry::source(const std::string& name) const {
  for (const auto& s : sources_)
    if (s.name == name) return s;
  throw SettingsError("stream.source: unknown source '" + name + "' (known: " + join(source_names()) + ")");
}

std::vector<std::string> PartRegistry::source_names() const { return names_of(sources_); }
std::vector<std::string> PartRegistry::generator_names() const { return names_of(generators_); }

std::unique_ptr<Generator> PartRegistry::make_generator(const GeneratorOptions& o) const {
  for (const auto& g : generators_)
    if (g.name == o.kind) return g.make(o);
  throw std::runtime_error("generator.kind: '" + o.kind + "' is not a generator (" + join(generator_names()) + ")");
}

void PartRegistry::declare(Schema& schema) const {
  schema.add({.key = "preprocess.chain", .type = SettingType::StringList, .def = std::vector<std::string>{},
              .help = "preprocessing stages in order, e.g. [\"mask\", \"detrend\", \"zscore\"]"});
  // Not a stage of the chain (a decoder appends its decode stage), but its work per TR.
  schema.add({.key = "preprocess.decode_threads", .type = SettingType::Int, .def = int64_t{2}, .unit = "threads",
              .help = "threads sharing the decode stage's product every TR, with a decoder (the same latent with any number)",
              .min = 1.0, .max = 64.0, .same_numbers = true});
  for (const auto& [name, info] : stages_)
    for (SettingSpec p : info.params) {
      p.key = "preprocess." + name + "." + p.key;
      p.flag.clear();  // stage parameters come from --set or the config file
      schema.add(std::move(p));
    }
  for (const auto& s : sources_)
    for (const SettingSpec& p : s.settings) schema.add(p);
  for (const auto& s : sinks_)
    for (const SettingSpec& p : s.settings) schema.add(p);
}

std::vector<std::string> PartRegistry::session_sections() const {
  std::vector<std::string> out{"log"};
  auto add = [&](const std::string& section) {
    if (std::find(out.begin(), out.end(), section) == out.end()) out.push_back(section);
  };
  for (const auto& s : sources_)
    for (const auto& p : s.settings) add(p.key.substr(0, p.key.find('.')));
  for (const auto& s : sinks_)
    for (const auto& p : s.settings) add(p.key.substr(0, p.key.find('.')));
  add("preprocess");
  add("generator");
  return out;
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

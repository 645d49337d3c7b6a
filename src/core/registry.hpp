#pragma once
// The registry of the pipeline's parts: stages, sources, sinks and generators, built-in
// (plugins/<kind>/list.cpp) and from plugins; the declaration of their settings; plugin
// loading. Built once at start-up on the main thread; read-only afterwards.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/settings.hpp"
#include "hyper/registry.hpp"

namespace hyper {

class PartRegistry : public Registry {
 public:
  void add_stage(StageInfo info) override;
  void add_sink(SinkInfo info) override;
  void add_source(SourceInfo info) override;
  void add_generator(GeneratorInfo info) override;

  const StageInfo* find(const std::string& stage) const;
  std::vector<std::string> names() const;  // the stages
  const std::vector<SinkInfo>& sinks() const { return sinks_; }  // in the order added
  const SourceInfo& source(const std::string& name) const;        // throws SettingsError naming stream.source
  std::vector<std::string> source_names() const;
  std::vector<std::string> generator_names() const;
  // Throws std::runtime_error naming generator.kind when no generator has that name.
  std::unique_ptr<Generator> make_generator(const GeneratorOptions& options) const;

  // Declares preprocess.chain, every stage's parameters and every sink's and source's settings.
  void declare(Schema& schema) const;
  // The settings sections the live pipeline reads (log, those of every registered source and
  // sink, preprocess, generator): what a run's settings.toml records.
  std::vector<std::string> session_sections() const;

 private:
  std::map<std::string, StageInfo> stages_;
  std::vector<SinkInfo> sinks_;
  std::vector<SourceInfo> sources_;
  std::vector<GeneratorInfo> generators_;
};

// Loads a plugin (dlopen) and calls its hyper_register. Throws std::runtime_error naming
// the file when it cannot be loaded, is not a HYPER-RT plugin, or was built for another
// API version (checked before any of its registration code runs). The library stays
// loaded for the life of the process.
void load_plugin(const std::string& path, Registry& registry);

// A stage's parameters read from resolved settings (preprocess.<stage>.<name>).
class SettingsStageParams : public Params {
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

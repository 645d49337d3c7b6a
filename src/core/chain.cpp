#include "core/chain.hpp"

#include <chrono>
#include <functional>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

namespace hyper {

Chain::Chain(const PartRegistry& registry, const Settings& settings) {
  for (const auto& name : settings.get_list("preprocess.chain")) {
    const StageInfo* info = registry.find(name);
    if (!info) {
      std::string known;
      for (const auto& n : registry.names()) known += (known.empty() ? "" : ", ") + n;
      throw SettingsError("preprocess.chain: unknown stage '" + name + "' (known: " + known + ")" +
                          (name.find(',') != std::string::npos ? "; a list is written as TOML: preprocess.chain=[\"realign\", \"mask\"]" : ""));
    }
    try {
      stages_.push_back(info->make(SettingsStageParams(settings, name)));
    } catch (const std::invalid_argument& e) {
      throw SettingsError("preprocess." + name + "." + e.what());
    }
    names_.push_back(name);
  }
  times_.resize(stages_.size());
}

void Chain::append(std::string name, std::unique_ptr<Stage> stage) {
  names_.push_back(std::move(name));
  stages_.push_back(std::move(stage));
  times_.resize(stages_.size());
}

Spec Chain::preflight(const Spec& input) const {
  return walk(input, [](Stage&, const Spec&) {});
}

void Chain::initialize(const Spec& input) {
  preflight(input);  // every stage checked before any allocates
  std::vector<int64_t> voxels;  // of each stage's input grid
  walk(input, [&](Stage& stage, const Spec& in) {
    stage.initialize(in);
    voxels.push_back(in.dims[0] * in.dims[1] * in.dims[2]);
  });
  // What each stage's output must hold, from the end (the decoder's voxels) backwards. A
  // stage's flags are for its input grid: a plugin's wrong count is named, not read past.
  std::vector<uint8_t> used;
  for (size_t i = stages_.size(); i-- > 0;) {
    used = stages_[i]->uses(used);
    if (!used.empty() && static_cast<int64_t>(used.size()) != voxels[i])
      throw SettingsError(fmt::format("preprocess.{}: uses() gave {} voxel flags for an input grid of {} voxels", names_[i],
                                      used.size(), voxels[i]));
  }
}

Spec Chain::walk(const Spec& input, const std::function<void(Stage&, const Spec&)>& each) const {
  Spec spec = input;
  for (size_t i = 0; i < stages_.size(); ++i) {
    Spec out = spec;
    try {
      stages_[i]->preflight(spec, out);
      each(*stages_[i], spec);  // initialize, too, reports a bad parameter as "<param>: why"
    } catch (const std::invalid_argument& e) {
      throw SettingsError("preprocess." + names_[i] + "." + e.what());
    }
    spec = out;
  }
  return spec;
}

void Chain::start_run(const RunInfo& run) {
  for (auto& t : times_) t.clear();
  for (auto& s : stages_) s->start_run(run);
}

void Chain::process(Tr& tr) {
  tr.stage_ms.resize(stages_.size());
  for (size_t i = 0; i < stages_.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    stages_[i]->process(tr);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    tr.stage_ms[i] = ms;
    times_[i].push_back(ms);
  }
}

void Chain::rebuild(Tr& tr) {
  for (auto& s : stages_) s->process(tr);
}

void Chain::stop_run() {
  for (auto& s : stages_) s->stop_run();
}

std::vector<LatencySummary> Chain::timings() const {
  std::vector<LatencySummary> out;
  for (const auto& t : times_) out.push_back(summarize(t));
  return out;
}

std::vector<std::string> Chain::not_rebuildable() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < stages_.size(); ++i)
    if (stages_[i]->rebuild() == Rebuild::No) out.push_back(names_[i]);
  return out;
}

std::string Chain::format_timings() const {
  std::string out;
  const auto t = timings();
  for (size_t i = 0; i < t.size(); ++i)
    out += fmt::format("{}{}: p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms", i ? "; " : "", names_[i], t[i].p50,
                       t[i].p99, t[i].max);
  return out;
}

Spec spec_of(const Volume& v, double tr_s) {
  Spec s;
  s.dims = v.dims;
  s.voxel_mm = v.voxel_mm;
  s.affine = v.affine;
  s.tr_s = tr_s;
  return s;
}

void output_grid(const Tr& tr, std::vector<float>& grid) {
  if (!tr.feature_voxels) {
    grid = tr.volume.data;
    return;
  }
  grid.assign(static_cast<size_t>(tr.volume.voxel_count()), 0.0f);
  const auto& idx = *tr.feature_voxels;
  for (size_t i = 0; i < idx.size(); ++i) grid[static_cast<size_t>(idx[i])] = tr.features[i];
}

}  // namespace hyper

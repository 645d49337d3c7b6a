#pragma once
// The preprocessing chain: the stages of preprocess.chain, in that order, with their life
// (hyper/stage.hpp) and a timer per stage on every TR. The same chain runs online (the
// processing thread of `hyper stream`) and offline (`hyper preprocess`, training).
// Owned by one thread.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/settings.hpp"
#include "core/registry.hpp"
#include "core/stats.hpp"

namespace hyper {

class Chain {
 public:
  // Creates the stages of preprocess.chain; throws SettingsError naming an unknown stage.
  Chain(const PartRegistry& registry, const Settings& settings);

  // Checks every stage against the shapes flowing through; throws SettingsError
  // "preprocess.<stage>.<param>: why" (stages throw std::invalid_argument "<param>: why").
  Spec preflight(const Spec& input) const;
  // Preflight, then each stage's initialize, then each stage's uses() from the last back.
  void initialize(const Spec& input);
  // Adds a stage the program builds itself (the decode stage), after those of preprocess.chain.
  void append(std::string name, std::unique_ptr<Stage> stage);
  void start_run(const RunInfo& run);
  void process(Tr& tr);                // every stage in order; fills tr.stage_ms
  void rebuild(Tr& tr);                // the same, untimed: a resumed run's earlier volumes
  void stop_run();

  const std::vector<std::string>& names() const { return names_; }
  // The stages whose per-run state cannot be rebuilt from the run's volumes (Rebuild::No).
  std::vector<std::string> not_rebuildable() const;
  bool empty() const { return stages_.empty(); }
  // Per-stage time per volume over the current (or last) run, ms.
  std::vector<LatencySummary> timings() const;
  std::string format_timings() const;

 private:
  // Preflights stage after stage, the output spec of one the input of the next, calling
  // `each` with every stage and its input.
  Spec walk(const Spec& input, const std::function<void(Stage&, const Spec&)>& each) const;

  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::vector<std::vector<double>> times_;
};

// The chain's input spec for volumes of this geometry.
Spec spec_of(const Volume& v, double tr_s);

// The record's output as a grid: the volume, or the features put back at their voxels
// (0 elsewhere). `grid` gets the volume's voxel count.
void output_grid(const Tr& tr, std::vector<float>& grid);

}  // namespace hyper

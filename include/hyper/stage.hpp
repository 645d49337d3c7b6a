#pragma once
// A preprocessing stage and its life (after BCI2000's GenericFilter; DESIGN.md, "A stage's
// life"). Plugins implement Stage and register a factory (hyper/registry.hpp).
//
//   preflight(in, out) const   check parameters and shapes, change nothing; throw
//                              std::invalid_argument naming the parameter
//   initialize(in)             allocate, plan, load: all costly work here
//   start_run(run)             reset per-run state
//   process(tr)                hot path, every volume in order: no exceptions for data
//                              faults (set a flag); allocation only on a run's first volume
//   stop_run()
//   uses(used)                 once the chain is complete, from its end backwards: which
//                              input voxels the output at `used` depends on
//
// rebuild() says whether a run's state survives a crash of the stream (README, "Resume
// after a crash"): a resumed run feeds the volumes recorded before the crash through the
// chain again, which rebuilds the state of every stage whose state is a function of the
// run's volumes, in order.
//
// Threads: a chain and its stages belong to one thread (processing); no locking inside.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "hyper/tr.hpp"

namespace hyper {

// What a stage sees and produces, known before the first volume.
struct Spec {
  std::array<int64_t, 3> dims{0, 0, 0};
  std::array<double, 3> voxel_mm{1, 1, 1};
  std::array<double, 16> affine{};
  double tr_s = 0;
  // false: the TR record carries a grid (tr.volume); true: a feature vector (tr.features)
  bool features = false;
};

struct RunInfo {
  std::string run;
  double tr_s = 0;
  int64_t n_volumes = -1;  // -1: unknown (online, before the end)
};

// Stateless: no per-run state. FromVolumes: the run's volumes so far, in order, make it (the
// default: a deterministic stage). No: it depends on something else (the wall clock, input
// from outside the volumes): a resumed run warns that its state may not be where it was.
enum class Rebuild : uint8_t { Stateless, FromVolumes, No };

class Stage {
 public:
  virtual Rebuild rebuild() const { return Rebuild::FromVolumes; }
  virtual ~Stage() = default;
  virtual void preflight(const Spec& in, Spec& out) const = 0;
  virtual void initialize(const Spec& /*in*/) {}
  virtual void start_run(const RunInfo& /*run*/) {}
  virtual void process(Tr& tr) = 0;
  virtual void stop_run() {}
  // Which voxels of its input this stage reads to give the later stages what they read of
  // its output. Both as one flag per voxel of the volumes' grid (features are grid voxels,
  // through the mask), an empty vector meaning every voxel. Called after initialize, from
  // the chain's end backwards (the chain's last stage gets an empty vector); a stage may keep
  // `used` to skip work on the rest of its output (realign resamples only there), the rest
  // then holding other values. The default: every input voxel, whatever is used.
  virtual std::vector<uint8_t> uses(const std::vector<uint8_t>& /*used*/) { return {}; }
};

}  // namespace hyper

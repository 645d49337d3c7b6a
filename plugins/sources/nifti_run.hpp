#pragma once
// The in-process source: a recorded 4D NIfTI run, volume by volume, as if it streamed
// (DESIGN.md: "NIfTI run in-process"). Offline work (hyper decode, preprocess, training)
// and `hyper bench --process in` use it; `hyper stream --source nifti_run` plays a file
// through the live pipeline without a second process.

#include <functional>
#include <memory>
#include <string>

#include "core/chain.hpp"
#include "hyper/source.hpp"
#include "io/nifti.hpp"

namespace hyper {

struct NiftiRunOptions {
  double speed = 0;      // x real time (one volume per TR / speed); 0: as fast as they are taken
  int64_t count = -1;    // volumes from the first; -1 all
  // Each volume encoded as a hyper/1 message and decoded again, so that t_sent -> t_recv is
  // the codec's cost (hyper bench --process in).
  bool codec = false;
};

class NiftiRunSource : public Source {
 public:
  // `run` is borrowed and must outlive the source.
  NiftiRunSource(const NiftiRun& run, std::string run_id, double tr_s, NiftiRunOptions options = {});
  // Reads the first run of `input` (a file or a BIDS folder); throws naming it.
  NiftiRunSource(const std::string& input, NiftiRunOptions options);

  std::string describe() const override;
  std::optional<SourceEvent> next(std::chrono::milliseconds timeout) override;
  bool finished() const override { return state_ == State::Finished; }
  void stop() override { stopped_ = true; }

 private:
  std::unique_ptr<Tr> volume(int64_t k) const;

  std::unique_ptr<NiftiRun> owned_;
  const NiftiRun* run_;
  std::string run_id_;
  double tr_s_;
  NiftiRunOptions o_;
  int64_t count_;
  enum class State : uint8_t { Start, Volumes, Finished } state_ = State::Start;
  int64_t next_ = 0;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point t0_{};
};

// Runs `chain` over a recorded run exactly as the live pipeline does (the Session, in
// serial and strict mode): initialize on the run's geometry, start_run, every volume in
// order, stop_run; `on_tr` sees each record after the chain. `options.count` limits the
// volumes (the rest are not read).
void run_chain_offline(Chain& chain, const NiftiRun& run, const std::string& run_id, double tr_s,
                       const std::function<void(const Tr&)>& on_tr, const NiftiRunOptions& options = {});

}  // namespace hyper

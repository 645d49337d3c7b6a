// The progress sink: one terminal line updated as volumes arrive (silent when stderr is not
// a terminal), ended at each run's end so that the run's report starts on a new line.
#include <spdlog/fmt/fmt.h>

#include "core/clock.hpp"
#include "core/progress.hpp"
#include "hyper/registry.hpp"

namespace hyper {

namespace {

class ProgressSink : public Sink {
 public:
  void on_tr(const Tr& tr) override {
    progress_.update(fmt::format("{}  volume {}  {}x{}x{}  t_sent->t_recv {:.2f} ms", tr.run, tr.index, tr.volume.dims[0],
                                 tr.volume.dims[1], tr.volume.dims[2], ns_to_ms(tr.t.t_recv - tr.t.t_sent)));
  }
  void on_run_end(const RunEnd&) override { progress_.finish(); }

 private:
  ProgressLine progress_;
};

}  // namespace

void register_progress(Registry& r) {
  r.add_sink({"progress", "a terminal line per volume (only on a terminal)", {},
              [](const SinkContext&) -> std::unique_ptr<Sink> { return std::make_unique<ProgressSink>(); }});
}

}  // namespace hyper

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
  explicit ProgressSink(std::function<int64_t()> dropped) : dropped_(std::move(dropped)) {}
  // What the experimenter needs at a glance: where the run is, how late, how much it moved,
  // whether it decoded, and whether anything was lost.
  void on_tr(const Tr& tr) override {
    progress_.update(fmt::format("{}  TR {}/{}  sent->ready {}  FD {:.2f} mm  {}  dropped {}", tr.run, tr.index + 1,
                                 tr.n_volumes > 0 ? std::to_string(tr.n_volumes) : "?",
                                 tr.t.t_sent > 0 ? fmt::format("{:.1f} ms", ns_to_ms(tr.t.t_ready - tr.t.t_sent)) : "-", tr.fd_mm,
                                 tr.decoded ? "decoded" : "not decoded", dropped_()));
  }
  void on_run_end(const RunEnd&) override { progress_.finish(); }

 private:
  std::function<int64_t()> dropped_;
  ProgressLine progress_;
};

}  // namespace

void register_progress(Registry& r) {
  r.add_sink({"progress", "a terminal line per volume (only on a terminal)", {},
              [](const SinkContext& ctx) -> std::unique_ptr<Sink> { return std::make_unique<ProgressSink>(ctx.dropped); }});
}

}  // namespace hyper

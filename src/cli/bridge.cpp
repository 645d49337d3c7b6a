// `hyper bridge` (README, "At the scanner"): runs on a PC that mounts the scanner's export
// share, watches the folder (the watch source, as `hyper stream --watch` does) and publishes
// every volume as hyper/1 to a `hyper stream` elsewhere: the same source, another sink.
// The volumes go on as float32 with their affine; each run is framed by run_start and
// run_end, so the stream's record equals the one `hyper stream --watch` writes.
#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "core/interrupt.hpp"
#include "core/session.hpp"
#include "net/publisher.hpp"

namespace hyper {

namespace {

class PublishSink : public Sink {
 public:
  PublishSink(const std::string& endpoint, const PublisherOptions& options) : endpoint_(endpoint), pub_(ctx_, endpoint, options) {}

  void on_run_start(const RunStart& r) override {
    sent_ = 0;
    run_ = r.source_run;
    // Nothing is sent before a stream listens: a run's start and first volumes would be lost
    // (ZeroMQ drops what a subscriber that has not yet joined would get). The watch source
    // queues the volumes meanwhile.
    while (pub_.wait_for_subscribers(1, std::chrono::seconds(5)) < 1 && !interrupted())
      spdlog::info("bridge: run {} waits for hyper stream to subscribe to {}", run_, endpoint_);
    pub_.send_control({.type = ControlType::RunStart, .run = run_, .first_index = r.first_index, .count = r.count});
  }
  void on_tr(const Tr& tr) override {
    VolumeHeader h;
    h.run = run_;
    h.index = tr.index;
    h.n_volumes = tr.n_volumes;
    h.tr_s = tr.tr_s;
    h.dims = tr.volume.dims;
    h.voxel_mm = tr.volume.voxel_mm;
    h.affine = tr.volume.affine;
    h.dtype = DType::Float32;
    h.byte_order = native_byte_order();
    const auto bytes = std::as_bytes(std::span(tr.volume.data));
    if (pub_.send_volume(h, bytes)) ++sent_;
  }
  void on_run_end(const RunEnd&) override {
    pub_.send_control({.type = ControlType::RunEnd, .run = run_, .volumes_sent = sent_});
    spdlog::info("bridge: run {}: {} volumes published", run_, sent_);
  }

 private:
  std::string endpoint_;
  zmq::context_t ctx_{1};
  Publisher pub_;
  std::string run_;  // as the watch source named it
  int64_t sent_ = 0;
};

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "bridge.endpoint", .type = T::String, .def = std::string("tcp://127.0.0.1:5555"),
         .help = "ZeroMQ endpoint to bind and publish hyper/1 on (hyper stream --endpoint connects to it)", .flag = "--endpoint"});
  s.add({.key = "bridge.allow_remote", .type = T::Bool, .def = false,
         .help = "bind an address other than loopback (the stream runs on another PC: then needed)", .flag = "--allow-remote"});
  s.add({.key = "bridge.tr", .type = T::Float, .def = 0.0, .unit = "s", .help = "the TR; 0 takes the DICOM RepetitionTime",
         .flag = "--tr", .min = 0.0, .max = 1000.0});
  s.add({.key = "bridge.run_id", .type = T::String, .def = std::string(""), .help = "run id; empty: series-N", .flag = "--run-id"});
  s.add({.key = "bridge.run_volumes", .type = T::Int, .def = int64_t{0}, .unit = "volumes",
         .help = "volumes in each run (its end is then sent at once); 0: a run ends with the next series or Ctrl-C",
         .flag = "--run-volumes", .min = 0.0});
  s.add({.key = "bridge.runs", .type = T::Int, .def = int64_t{0}, .unit = "runs",
         .help = "exit after this many runs; 0 runs until Ctrl-C", .flag = "--runs", .min = 0.0});
  declare_link_settings(s, "bridge");
}

int run(const Settings& given, const PartRegistry& parts) {
  if (given.get_string("watch.dir").empty()) throw SettingsError("watch.dir: required: give the export folder with --watch DIR");
  // The watch source reads the stream's names for what the bridge calls its own.
  Settings st = given;
  st.apply_value("stream.tr", given.get_float("bridge.tr"), given.origin("bridge.tr"));
  st.apply_value("stream.run_id", given.get_string("bridge.run_id"), given.origin("bridge.run_id"));
  st.apply_value("stream.run_volumes", given.get_int("bridge.run_volumes"), given.origin("bridge.run_volumes"));
  Chain chain(parts, st);  // preprocess is not among the bridge's settings: an empty chain, volumes go on as they came
  Session session(chain, {.max_runs = st.get_int("bridge.runs")});
  PublisherOptions po{.allow_remote = st.get_bool("bridge.allow_remote"), .linger = std::chrono::seconds(10), .what = "bridge.endpoint (--endpoint)"};
  apply_link_settings(st, "bridge", po);
  session.add(std::make_shared<PublishSink>(st.get_string("bridge.endpoint"), po));
  const auto source = parts.source("watch").make(st);
  spdlog::info("bridge: {} -> hyper/1 on {}", source->describe(), st.get_string("bridge.endpoint"));
  session.run(*source);
  return interrupted() ? kExitInterrupted : 0;
}

}  // namespace

Command bridge_command() {
  return {.name = "bridge",
          .help = "on the scanner side: watch the export folder and publish each volume as hyper/1 to a stream elsewhere",
          .sections = {"bridge", "watch"},
          .declare = declare,
          .run = run,
          .example = "hyper bridge --watch /mnt/scanner/export --tr 1.5 --endpoint tcp://0.0.0.0:5555 --allow-remote"};
}

}  // namespace hyper

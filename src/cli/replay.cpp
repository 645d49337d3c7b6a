// `hyper replay`: publish recorded runs as a simulated scanner stream (README, "hyper replay").
#include <cmath>
#include <limits>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "cli/command.hpp"
#include "core/interrupt.hpp"
#include "core/progress.hpp"
#include "net/publisher.hpp"
#include "net/replayer.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "replay.input", .type = T::StringList, .def = std::vector<std::string>{},
         .help = "4D NIfTI run(s) or BIDS dataset folder(s), played in the order given", .flag = "--input", .required = true, .existing = true});
  s.add({.key = "replay.endpoint", .type = T::String, .def = std::string("tcp://127.0.0.1:5555"),
         .help = "ZeroMQ endpoint to bind and publish on", .flag = "--endpoint"});
  s.add({.key = "replay.allow_remote", .type = T::Bool, .def = false,
         .help = "allow binding a non-loopback address (exposes the stream to the network)",
         .flag = "--allow-remote"});
  s.add({.key = "replay.tr", .type = T::Float, .def = 0.0, .unit = "s",
         .help = "repetition time; 0 takes the BIDS sidecar, then the NIfTI header", .flag = "--tr", .min = 0.0,
         .max = 1000.0});
  s.add({.key = "replay.speed", .type = T::Float, .def = 1.0, .unit = "x real time",
         .help = "playback speed: 10 plays ten times faster, \"max\" as fast as possible", .flag = "--speed",
         .min = 1e-3, .max = 1e6, .choices = {"max"}});
  s.add({.key = "replay.start", .type = T::Int, .def = int64_t{0}, .unit = "volumes",
         .help = "first volume of each run (0-based)", .flag = "--start", .min = 0.0});
  s.add({.key = "replay.count", .type = T::Int, .def = int64_t{-1}, .unit = "volumes",
         .help = "volumes per run; -1 to the end", .flag = "--count", .min = -1.0});
  s.add({.key = "replay.loop", .type = T::Bool, .def = false,
         .help = "start over after the last run until Ctrl-C (runs renamed <run>.rep2, ...)", .flag = "--loop"});
  s.add({.key = "replay.wait_subscribers", .type = T::Int, .def = int64_t{1}, .unit = "subscribers",
         .help = "subscribers to wait for before the first volume; 0 does not wait", .flag = "--wait-subscribers",
         .min = 0.0, .max = 1000.0});
  s.add({.key = "replay.wait_timeout", .type = T::Float, .def = 30.0, .unit = "s",
         .help = "give up when the subscribers have not joined by then", .flag = "--wait-timeout", .min = 0.0});
  s.add({.key = "replay.heartbeat", .type = T::Float, .def = 1.0, .unit = "s",
         .help = "heartbeat interval while waiting between volumes", .min = 0.01, .max = 3600.0});
  s.add({.key = "replay.send_hwm", .type = T::Int, .def = int64_t{256}, .unit = "messages",
         .help = "messages queued per subscriber; paced, one further behind loses volumes (the others keep the TR pace); "
                 "at --speed max sending waits for it",
         .min = 1.0,
         .max = 1e6});
  declare_link_settings(s, "replay");
}

int run(const Settings& st, const PartRegistry&) {
  const auto inputs = st.get_list("replay.input");
  std::vector<RunFile> runs;
  for (const auto& in : inputs) {
    auto found = find_runs(in);
    runs.insert(runs.end(), found.begin(), found.end());
  }
  for (const RunFile& r : runs) read_nifti_info(r.path);  // an unreadable input fails now, not after a subscriber joined

  ReplayOptions o;
  o.tr_s = st.get_float("replay.tr");
  o.speed = st.is_word("replay.speed", "max") ? std::numeric_limits<double>::infinity()
                                              : st.get_float("replay.speed");
  o.start = st.get_int("replay.start");
  o.count = st.get_int("replay.count");
  if (o.count == 0) throw SettingsError("replay.count: 0 volumes would send nothing; use -1 for the whole run");
  o.loop = st.get_bool("replay.loop");
  o.heartbeat = std::chrono::milliseconds(static_cast<int64_t>(st.get_float("replay.heartbeat") * 1000));
  ProgressLine progress;
  o.on_volume = [&](const std::string& run, int64_t i, int64_t n, double late_ms) {
    progress.update(fmt::format("{}  {}/{}  late {:.2f} ms", run, i, n, late_ms), i == n);
    if (i == n) progress.finish();
  };

  zmq::context_t ctx(1);
  PublisherOptions po;
  po.allow_remote = st.get_bool("replay.allow_remote");
  po.send_hwm = static_cast<int>(st.get_int("replay.send_hwm"));
  apply_link_settings(st, "replay", po);
  // Paced, the scanner's clock rules: a subscriber that stops reading loses volumes (its
  // gaps say so), the others go on at TR pace. At max speed there is no pace to keep: send
  // as fast as the slowest subscriber takes them.
  po.lossy = std::isfinite(o.speed);
  // At max speed the receivers hold only what their queues allow (bounded memory): what is
  // still queued here when the last volume is sent must reach them before replay exits.
  if (!po.lossy) po.linger = std::chrono::seconds(120);
  Publisher pub(ctx, st.get_string("replay.endpoint"), po);

  const auto want = static_cast<int>(st.get_int("replay.wait_subscribers"));
  if (want > 0) {
    const double timeout_s = st.get_float("replay.wait_timeout");
    spdlog::info("publishing on {}: waiting for {} subscriber(s), up to {} s", pub.endpoint(), want, timeout_s);
    const int got = pub.wait_for_subscribers(want, std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
    if (interrupted()) return kExitInterrupted;
    if (got < want)
      throw std::runtime_error(fmt::format(
          "only {} of {} subscriber(s) joined {} within {} s: start `hyper stream --endpoint {}` first, "
          "or pass --wait-subscribers 0",
          got, want, pub.endpoint(), timeout_s, pub.endpoint()));
  } else {
    spdlog::info("publishing on {} (not waiting for subscribers)", pub.endpoint());
  }

  const auto reports = replay(pub, runs, o);
  progress.finish();
  for (const auto& r : reports)
    spdlog::info("run {}: sent {} volumes in {:.2f} s (TR {} s); lateness p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms",
                 r.run, r.sent, r.duration_s, r.tr_s, r.lateness_ms.p50, r.lateness_ms.p99, r.lateness_ms.max);
  return interrupted() ? kExitInterrupted : 0;
}

}  // namespace

Command replay_command() {
  return {.name = "replay",
          .help = "publish recorded 4D NIfTI runs as a simulated scanner stream (hyper/1 over ZeroMQ)",
          .sections = {"replay"},
          .declare = declare,
          .run = run,
          .example = "hyper replay --input twin --speed 10   (every run of a BIDS folder, ten times faster than the scanner)"};
}

}  // namespace hyper

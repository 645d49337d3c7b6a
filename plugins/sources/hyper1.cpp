// The hyper/1 source (README, "Protocol hyper/1"): a ZeroMQ SUB socket connected to the
// scanner export, `hyper replay` or a bridge. The receiver thread validates every message,
// keeps each run's accounting and hands volumes over through a bounded queue
// (src/net/receiver.hpp); this adapter turns its events into the Session's.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/settings.hpp"
#include "hyper/registry.hpp"
#include "net/receiver.hpp"

namespace hyper {

namespace {

class Hyper1Source : public Source {
 public:
  explicit Hyper1Source(const ReceiverOptions& o) : rx_(ctx_, o), endpoint_(o.endpoint) {}

  std::string describe() const override { return "hyper/1 from " + endpoint_; }
  void start() override { rx_.start(); }
  bool finished() const override { return rx_.drained(); }
  int64_t dropped() const override {
    int64_t n = 0;
    for (int64_t d : rx_.dropped()) n += d;
    return n;
  }

  void stop() override {
    rx_.stop();
    if (reported_) return;
    reported_ = true;
    const auto by_reason = rx_.dropped();
    std::string by;
    for (size_t i = 0; i < kRejectCount; ++i)
      if (by_reason[i] > 0) by += fmt::format(" {} {}", reject_name(static_cast<Reject>(i)), by_reason[i]);
    if (!by.empty()) spdlog::warn("dropped {} message(s) in this session:{}", dropped(), by);
  }

  std::optional<SourceEvent> next(std::chrono::milliseconds timeout) override {
    auto ev = rx_.next(timeout);
    if (!ev) return std::nullopt;
    SourceEvent out;
    out.run = ev->run;
    switch (ev->kind) {
      case StreamEvent::Kind::RunStart:
        out.kind = SourceEvent::Kind::RunStart;
        out.first_index = ev->start.first_index;
        out.count = ev->start.count;
        out.tr_s = ev->start.tr_s;
        out.announced = ev->announced;
        break;
      case StreamEvent::Kind::Volume:
        out.kind = SourceEvent::Kind::Volume;
        out.tr = std::move(ev->tr);
        break;
      case StreamEvent::Kind::RunEnd: {
        const RunSummary& s = *ev->summary;
        out.kind = SourceEvent::Kind::RunEnd;
        out.end = RunEnd{.run = s.run,
                         .ended_by = std::string(run_end_cause_name(s.ended_by)),
                         .received = s.received,
                         .missing = s.missing,
                         .dropped = s.dropped_total(),
                         .report = format_summary(s),
                         .summary_json = to_json(s).dump(2)};
        break;
      }
    }
    return out;
  }

 private:
  zmq::context_t ctx_{1};
  Receiver rx_;
  std::string endpoint_;
  bool reported_ = false;
};

}  // namespace

void register_hyper1(Registry& r) {
  using T = SettingType;
  r.add_source(
      {"hyper1", "a hyper/1 stream over ZeroMQ (the scanner export, hyper replay, a bridge)",
       {{.key = "stream.endpoint", .type = T::String, .def = std::string("tcp://127.0.0.1:5555"),
         .help = "ZeroMQ endpoint of the publisher (scanner export or hyper replay) to connect to", .flag = "--endpoint"},
        {.key = "stream.queue_capacity", .type = T::Int, .def = int64_t{64}, .unit = "volumes",
         .help = "volumes waiting between the receiver and processing", .min = 1.0, .max = 100000.0},
        {.key = "stream.queue_timeout", .type = T::Float, .def = 2.0, .unit = "s",
         .help = "how long the receiver waits for room in that queue before dropping a volume", .min = 0.0, .max = 3600.0},
        {.key = "stream.run_timeout", .type = T::Float, .def = 30.0, .unit = "s",
         .help = "an open run with no message (not even a heartbeat) for this long is ended", .min = 0.1},
        {.key = "stream.max_volume_mb", .type = T::Float, .def = 1024.0, .unit = "MiB",
         .help = "larger messages are refused before they are read", .min = 0.001, .max = 65536.0},
        {.key = "stream.max_runs", .type = T::Int, .def = int64_t{64}, .unit = "runs",
         .help = "runs one stream opens at most: a publisher inventing run ids cannot fill the disk (too_many_runs beyond)",
         .min = 1.0, .max = 100000.0},
        {.key = "stream.resend", .type = T::Bool, .def = true,
         .help = "ask a hyper/1.1 publisher again for volumes missing from the stream (a gap, a late start, a reconnect)"},
        {.key = "stream.resend_wait", .type = T::Float, .def = 1.0, .unit = "s",
         .help = "how long volumes after a gap wait for the missing ones before the gap is given up", .min = 0.0, .max = 600.0},
        {.key = "stream.resend_hold", .type = T::Int, .def = int64_t{256}, .unit = "volumes",
         .help = "volumes held behind a gap at most (beyond, the gap is given up)", .min = 1.0, .max = 100000.0},
        {.key = "stream.curve_secret", .type = T::String, .def = std::string(""),
         .help = "this stream's key pair (NAME.key_secret from hyper keys): the link encrypted, the publisher checked; empty: none "
                 "(then only loopback, or --insecure)", .existing = true},
        {.key = "stream.curve_server", .type = T::String, .def = std::string(""),
         .help = "the publisher's public key (its NAME.key): only that publisher is listened to", .existing = true},
        {.key = "stream.insecure", .type = T::Bool, .def = false,
         .help = "connect to a non-loopback publisher without keys (the volumes cross the network in clear, unchecked)",
         .flag = "--insecure"}},
       [](const Params& p) -> std::unique_ptr<Source> {
         ReceiverOptions o;
         o.endpoint = p.get_string("stream.endpoint");
         o.queue_capacity = static_cast<size_t>(p.get_int("stream.queue_capacity"));
         o.queue_timeout = std::chrono::milliseconds(static_cast<int64_t>(p.get_float("stream.queue_timeout") * 1000));
         o.run_timeout = std::chrono::milliseconds(static_cast<int64_t>(p.get_float("stream.run_timeout") * 1000));
         o.max_payload_bytes = static_cast<uint64_t>(p.get_float("stream.max_volume_mb") * 1024 * 1024);
         o.max_runs = p.get_int("stream.max_runs");
         o.resend = p.get_bool("stream.resend");
         o.resend_wait = std::chrono::milliseconds(static_cast<int64_t>(p.get_float("stream.resend_wait") * 1000));
         o.resend_hold = static_cast<size_t>(p.get_int("stream.resend_hold"));
         o.keys = client_link_keys(p, "stream.curve_secret", "stream.curve_server", "stream.insecure");
         try {
           return std::make_unique<Hyper1Source>(o);
         } catch (const std::invalid_argument& e) {  // "endpoint: '...' is not a ZeroMQ endpoint": a setting, exit 2
           throw SettingsError(std::string("stream.") + e.what());
         }
       }});
}

}  // namespace hyper

// The Pyneal Scanner source (`hyper stream --protocol pyneal`; README, "At the scanner"):
// HYPER-RT takes the place of Pyneal's scanReceiver. A ZeroMQ PAIR socket is bound; Pyneal
// Scanner connects, sends a hello string (echoed verbatim), then each volume as a JSON
// header and its voxels, and waits for a reply after each. The reply goes at once, from
// this thread, before any processing; a message that cannot be read gets one too (so the
// sender never hangs), counted with its reason. Pyneal sends no run id, no checksum and no
// time stamp: the run id is stream.run_id or a time stamp, and "sent" is when it arrived.
#include <atomic>
#include <ctime>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "hyper/registry.hpp"
#include "net/protocol.hpp"
#include "net/endpoint.hpp"
#include "sources/pyneal_message.hpp"
#include "sources/run_feed.hpp"

namespace hyper {

namespace {

struct PynealOptions {
  std::string endpoint;
  double tr_s = 0;
  std::string run_id;            // "": pyneal-<UTC time stamp> per run
  int64_t count = 0;             // volumes in a run; 0: not known (no STOP is sent)
  size_t reorder = 2;            // volumes held behind a gap
  std::chrono::milliseconds run_timeout{30000};
  size_t queue_capacity = 64;
  int64_t max_message_bytes = int64_t{1} << 30;
};

class PynealSource : public FeedSource {
 public:
  explicit PynealSource(PynealOptions o)
      : FeedSource({.protocol = "pyneal", .queue_capacity = o.queue_capacity, .reorder = o.reorder, .tr_s = o.tr_s, .count = o.count}),
        o_(std::move(o)), socket_(ctx_, zmq::socket_type::pair) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::maxmsgsize, o_.max_message_bytes);  // a remote peer cannot make us hold any size
    bind_endpoint(socket_, o_.endpoint, "stream.endpoint (--endpoint)");
  }
  ~PynealSource() override { stop(); }

  std::string describe() const override { return "Pyneal Scanner on " + o_.endpoint + " (PAIR, bound)"; }

 private:
  void receive() override {
    auto last_message = std::chrono::steady_clock::now();
    while (!stop_) {
      zmq::multipart_t msg;
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      try {
        zmq::poll(&item, 1, std::chrono::milliseconds(20));
        if ((item.revents & ZMQ_POLLIN) && !msg.recv(socket_, ZMQ_DONTWAIT)) msg.clear();
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) spdlog::warn("pyneal: {}", e.what());
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      if (msg.empty()) {
        feed_.flush_due();
        if (feed_.open() && now - last_message > o_.run_timeout) feed_.end_run("timeout");
        continue;
      }
      last_message = now;
      if (msg.size() == 1) hello(msg.at(0).to_string());
      else volume(msg);
    }
  }

  void reply(const std::string& text) {
    try {
      socket_.send(zmq::buffer(text), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      spdlog::warn("pyneal: could not reply '{}': {}", text, e.what());
    }
  }

  // The sender's handshake: its string back, verbatim. A hello mid-run starts a new session.
  void hello(const std::string& text) {
    reply(text);
    feed_.end_run("new_session");
    spdlog::info("pyneal: a sender connected ('{}')", text);
  }

  void volume(zmq::multipart_t& msg) {
    const int64_t t_recv = realtime_ns();
    if (msg.size() != 2) return refuse("frames", fmt::format("{} frames, a volume has 2 (header, voxels)", msg.size()));
    const zmq::message_t& payload = msg.at(1);
    auto decoded = decode_pyneal(msg.at(0).to_string_view(), {static_cast<const std::byte*>(payload.data()), payload.size()});
    if (auto* why = std::get_if<std::string>(&decoded)) return refuse(why->substr(0, why->find(':')), *why);
    PynealVolume& v = std::get<PynealVolume>(decoded);
    // The reply first: the sender waits for it before it reads the next volume.
    const bool last = o_.count > 0 && v.index >= o_.count - 1;
    reply(fmt::format("received volIdx {}{}", v.index, last ? " STOP" : ""));
    if (!feed_.open()) {
      feed_.open_run(o_.run_id.empty() ? utc_run_id() : o_.run_id);
      tr_checked_ = false;
    }
    if (!tr_checked_ && !v.tr.empty()) {
      tr_checked_ = true;
      const double header_s = pyneal_tr_seconds(v.tr, o_.tr_s);
      if (std::fabs(header_s - o_.tr_s) > 0.01 * o_.tr_s)
        spdlog::warn("run {}: the sender's TR is '{}', stream.tr is {} s: using {} s (Pyneal's TR field is not to be trusted; "
                     "check --tr)", feed_.run(), v.tr, o_.tr_s, o_.tr_s);
    }
    auto tr = std::make_unique<Tr>();
    tr->run = feed_.run();
    tr->index = v.index;
    tr->n_volumes = o_.count > 0 ? o_.count : -1;
    tr->tr_s = o_.tr_s;
    tr->volume = std::move(v.volume);
    tr->t.t_recv = tr->t.t_sent = t_recv;  // Pyneal sends no time: latency counts from arrival
    feed_.add(std::move(tr));
    if (last) feed_.end_run("count");
  }

  // A message that cannot be read still gets its reply: the sender must not hang.
  void refuse(const std::string& reason, const std::string& what) {
    reply("received volIdx ? (refused: " + reason + ")");
    feed_.drop(reason, what);
  }

  static std::string utc_run_id() {
    const std::time_t now = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "pyneal-%Y%m%dT%H%M%S", std::gmtime(&now));
    return buf;
  }

  PynealOptions o_;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
  bool tr_checked_ = false;  // the receiving thread's
};

}  // namespace

void register_pyneal(Registry& r) {
  using T = SettingType;
  r.add_source(
      {"pyneal", "Pyneal Scanner's protocol (ZeroMQ PAIR, bound at stream.endpoint): a drop-in for Pyneal's scanReceiver",
       {{.key = "stream.tr", .type = T::Float, .def = 0.0, .unit = "s",
         .help = "the TR of sources that carry none to trust (pyneal; a watched folder: 0 takes the DICOM RepetitionTime)",
         .flag = "--tr", .min = 0.0, .max = 1000.0},
        {.key = "stream.run_id", .type = T::String, .def = std::string(""),
         .help = "run id for sources that send none (pyneal; empty: pyneal-<UTC time>; a watched folder: series-N)",
         .flag = "--run-id"},
        {.key = "stream.run_volumes", .type = T::Int, .def = int64_t{0}, .unit = "volumes",
         .help = "volumes in each run, for sources that do not say (pyneal: its last gets the STOP reply); 0: not known",
         .flag = "--run-volumes", .min = 0.0},
        {.key = "pyneal.reorder", .type = T::Int, .def = int64_t{2}, .unit = "volumes",
         .help = "volumes held behind a missing one before it is given up (also after half a TR)", .min = 0.0, .max = 1000.0},
        {.key = "stream.allow_remote", .type = T::Bool, .def = false,
         .help = "bind addresses other than loopback: the Pyneal port (Pyneal Scanner runs on another PC) and the dashboard "
                 "(--dashboard ADDR:PORT, then with a token)", .flag = "--allow-remote"}},
       [](const Params& p) -> std::unique_ptr<Source> {
         PynealOptions o;
         o.endpoint = p.get_string("stream.endpoint");
         o.tr_s = p.get_float("stream.tr");
         if (o.tr_s <= 0)
           throw SettingsError("stream.tr: Pyneal Scanner sends a TR field that cannot be trusted (seconds from Siemens and GE, "
                               "milliseconds from Philips): give the TR with --tr SECONDS");
         try {
           check_endpoint(o.endpoint, "stream.endpoint");
         } catch (const std::invalid_argument& e) {
           throw SettingsError(e.what());
         }
         if (!p.get_bool("stream.allow_remote") && !is_local_endpoint(o.endpoint))
           throw SettingsError("stream.endpoint: " + o.endpoint + " is not a loopback address: binding it lets any host send volumes; "
                               "pass --allow-remote if the scanner-side PC is to connect (Pyneal Scanner runs there)");
         o.run_id = p.get_string("stream.run_id");
         if (!o.run_id.empty() && !valid_run_id(o.run_id))
           throw SettingsError("stream.run_id: '" + o.run_id + "' is not a run id (letters, digits, - _ . ; no path)");
         o.count = p.get_int("stream.run_volumes");
         o.reorder = static_cast<size_t>(p.get_int("pyneal.reorder"));
         o.run_timeout = std::chrono::milliseconds(static_cast<int64_t>(p.get_float("stream.run_timeout") * 1000));
         o.queue_capacity = static_cast<size_t>(p.get_int("stream.queue_capacity"));
         o.max_message_bytes = static_cast<int64_t>(p.get_float("stream.max_volume_mb") * 1024 * 1024);
         return std::make_unique<PynealSource>(std::move(o));
       }});
}

}  // namespace hyper

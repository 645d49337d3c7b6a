// The Pyneal Scanner source (`hyper stream --protocol pyneal`; README, "At the scanner"):
// HYPER-RT takes the place of Pyneal's scanReceiver. A ZeroMQ PAIR socket is bound; Pyneal
// Scanner connects, sends a hello string (echoed verbatim), then each volume as a JSON
// header and its voxels, and waits for a reply after each. The reply goes at once, from
// this thread, before any processing; a message that cannot be read gets one too (so the
// sender never hangs), counted with its reason. Pyneal sends no run id, no checksum and no
// time stamp: the run id is stream.run_id or a time stamp, and "sent" is when it arrived.
#include <atomic>
#include <ctime>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "core/bounded_queue.hpp"
#include "core/clock.hpp"
#include "core/reorder_window.hpp"
#include "core/settings.hpp"
#include "hyper/registry.hpp"
#include "net/endpoint.hpp"
#include "sources/pyneal_message.hpp"

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
};

class PynealSource : public Source {
 public:
  explicit PynealSource(PynealOptions o)
      : o_(std::move(o)), socket_(ctx_, zmq::socket_type::pair), queue_(o_.queue_capacity),
        window_(o_.reorder, std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(0.5 * o_.tr_s))) {
    socket_.set(zmq::sockopt::linger, 0);
    bind_endpoint(socket_, o_.endpoint, "stream.endpoint (--endpoint)");
  }
  ~PynealSource() override { stop(); }

  std::string describe() const override { return "Pyneal Scanner on " + o_.endpoint + " (PAIR, bound)"; }
  void start() override { thread_ = std::thread([this] { loop(); }); }
  bool finished() const override { return queue_.closed() && queue_.size() == 0; }
  int64_t dropped() const override { return dropped_total_; }
  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::optional<SourceEvent> next(std::chrono::milliseconds timeout) override { return queue_.pop(timeout); }

 private:
  void loop() {
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
        std::vector<std::unique_ptr<Tr>> due;
        window_.flush_due(due);
        deliver(due);
        if (!run_.empty() && now - last_message > o_.run_timeout) end_run("timeout");
        continue;
      }
      last_message = now;
      if (msg.size() == 1) hello(msg.at(0).to_string());
      else volume(msg);
    }
    end_run("shutdown");
    queue_.close();
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
    end_run("new_session");
    spdlog::info("pyneal: a sender connected ('{}')", text);
  }

  void volume(zmq::multipart_t& msg) {
    const int64_t t_recv = realtime_ns();
    if (msg.size() != 2) return refuse("frames", fmt::format("{} frames, a volume has 2 (header, voxels)", msg.size()), "?");
    const zmq::message_t& payload = msg.at(1);
    auto decoded = decode_pyneal(msg.at(0).to_string_view(), {static_cast<const std::byte*>(payload.data()), payload.size()});
    if (auto* why = std::get_if<std::string>(&decoded)) return refuse(why->substr(0, why->find(':')), *why, "?");
    PynealVolume& v = std::get<PynealVolume>(decoded);
    // The reply first: the sender waits for it before it reads the next volume.
    const bool last = o_.count > 0 && v.index >= o_.count - 1;
    reply(fmt::format("received volIdx {}{}", v.index, last ? " STOP" : ""));
    if (run_.empty()) open_run();
    if (!tr_checked_ && !v.tr.empty()) {
      tr_checked_ = true;
      const double header_s = pyneal_tr_seconds(v.tr, o_.tr_s);
      if (std::fabs(header_s - o_.tr_s) > 0.01 * o_.tr_s)
        spdlog::warn("run {}: the sender's TR is '{}', stream.tr is {} s: using {} s (Pyneal's TR field is not to be trusted; "
                     "check --tr)", run_, v.tr, o_.tr_s, o_.tr_s);
    }
    auto tr = std::make_unique<Tr>();
    tr->run = run_;
    tr->index = v.index;
    tr->n_volumes = o_.count > 0 ? o_.count : -1;
    tr->tr_s = o_.tr_s;
    tr->volume = std::move(v.volume);
    tr->t.t_recv = tr->t.t_sent = t_recv;  // Pyneal sends no time: latency counts from arrival
    std::vector<std::unique_ptr<Tr>> ready;
    switch (window_.add(v.index, std::move(tr), ready)) {
      case ReorderWindow<std::unique_ptr<Tr>>::Added::Late: count_drop("out_of_order", fmt::format("volume {} after the run went past it", v.index)); break;
      case ReorderWindow<std::unique_ptr<Tr>>::Added::Duplicate: count_drop("duplicate", fmt::format("volume {} twice", v.index)); break;
      default: break;
    }
    deliver(ready);
    if (last) end_run("count");
  }

  void refuse(const std::string& reason, const std::string& what, const std::string& index) {
    reply("received volIdx " + index + " (refused: " + reason + ")");
    count_drop(reason, what);
  }

  void count_drop(const std::string& reason, const std::string& what) {
    ++dropped_[reason];
    ++dropped_total_;
    spdlog::warn("pyneal: message refused ({}): {}", reason, what);
  }

  void open_run() {
    run_ = o_.run_id;
    if (run_.empty()) {
      const std::time_t now = std::time(nullptr);
      char buf[32];
      std::strftime(buf, sizeof buf, "pyneal-%Y%m%dT%H%M%S", std::gmtime(&now));
      run_ = buf;
    }
    window_.reset(0);
    received_ = 0;
    dropped_.clear();
    tr_checked_ = false;
    SourceEvent ev;
    ev.kind = SourceEvent::Kind::RunStart;
    ev.run = run_;
    ev.count = o_.count > 0 ? o_.count : -1;
    ev.tr_s = o_.tr_s;
    queue_.push_always(std::move(ev));
  }

  void deliver(std::vector<std::unique_ptr<Tr>>& ready) {
    for (auto& tr : ready) {
      SourceEvent ev;
      ev.kind = SourceEvent::Kind::Volume;
      ev.run = run_;
      ev.tr = std::move(tr);
      if (queue_.push(std::move(ev), std::chrono::milliseconds(2000))) ++received_;
      else count_drop("queue_full", "processing did not take a volume in time");
    }
    ready.clear();
  }

  void end_run(const char* why) {
    if (run_.empty()) return;
    std::vector<std::unique_ptr<Tr>> rest;
    window_.flush_all(rest);
    deliver(rest);
    int64_t dropped = 0;
    nlohmann::json by = nlohmann::json::object();
    for (const auto& [reason, n] : dropped_) {
      by[reason] = n;
      dropped += n;
    }
    const int64_t missing = window_.missing() + (o_.count > 0 ? std::max<int64_t>(0, o_.count - window_.next()) : 0);
    SourceEvent ev;
    ev.kind = SourceEvent::Kind::RunEnd;
    ev.run = run_;
    ev.end = RunEnd{.run = run_,
                    .ended_by = why,
                    .received = received_,
                    .missing = missing,
                    .dropped = dropped,
                    .report = fmt::format("run {}: {} volumes from Pyneal Scanner, {} missing, {} refused, {} put back in order; "
                                          "ended by {}", run_, received_, missing, dropped, window_.reordered(), why),
                    .summary_json = nlohmann::json{{"run", run_},
                                                   {"protocol", "pyneal"},
                                                   {"ended_by", why},
                                                   {"received", received_},
                                                   {"missing", missing},
                                                   {"reordered", window_.reordered()},
                                                   {"dropped", by},
                                                   {"dropped_total", dropped},
                                                   {"complete", missing == 0 && dropped == 0 && (o_.count <= 0 || received_ == o_.count)}}
                                        .dump(2)};
    queue_.push_always(std::move(ev));
    run_.clear();
  }

  PynealOptions o_;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
  BoundedQueue<SourceEvent> queue_;
  ReorderWindow<std::unique_ptr<Tr>> window_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> dropped_total_{0};
  // The receiving thread's own:
  std::string run_;
  int64_t received_ = 0;
  std::map<std::string, int64_t> dropped_;
  bool tr_checked_ = false;
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
        {.key = "pyneal.allow_remote", .type = T::Bool, .def = false,
         .help = "bind an address other than loopback (Pyneal Scanner runs on another PC: then needed)", .flag = "--allow-remote"}},
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
         if (!p.get_bool("pyneal.allow_remote") && !is_local_endpoint(o.endpoint))
           throw SettingsError("stream.endpoint: " + o.endpoint + " is not a loopback address: binding it lets any host send volumes; "
                               "pass --allow-remote if the scanner-side PC is to connect (Pyneal Scanner runs there)");
         o.run_id = p.get_string("stream.run_id");
         o.count = p.get_int("stream.run_volumes");
         o.reorder = static_cast<size_t>(p.get_int("pyneal.reorder"));
         o.run_timeout = std::chrono::milliseconds(static_cast<int64_t>(p.get_float("stream.run_timeout") * 1000));
         o.queue_capacity = static_cast<size_t>(p.get_int("stream.queue_capacity"));
         return std::make_unique<PynealSource>(std::move(o));
       }});
}

}  // namespace hyper

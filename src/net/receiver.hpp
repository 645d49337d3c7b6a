#pragma once
// The receiving side of hyper/1 (the receiver thread of `hyper stream`): subscribes,
// validates every message, keeps per-run accounting, rebuilds volumes as float32 and hands
// them, in order, to the processing thread through a bounded queue.
//
// Threads: the receiver thread owns the socket and the run trackers. next() is for one
// consumer thread (processing). dropped() may be read from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "core/bounded_queue.hpp"
#include "core/clock.hpp"
#include "core/logging.hpp"
#include "core/reorder_window.hpp"
#include "hyper/tr.hpp"
#include "net/curve.hpp"
#include "net/protocol.hpp"
#include "net/run_tracker.hpp"

namespace hyper {

struct ReceiverOptions {
  std::string endpoint;                              // connected to (the publisher binds)
  size_t queue_capacity = 64;                        // volumes waiting for processing
  std::chrono::milliseconds queue_timeout{2000};     // wait for room, then drop (queue_full)
  std::chrono::milliseconds run_timeout{30000};      // an open run with no message this long ends
  uint64_t max_payload_bytes = uint64_t{1} << 30;    // larger messages are refused by ZeroMQ
  int64_t max_runs = 64;                             // runs this receiver opens at most (too_many_runs beyond)
  // hyper/1.1 recovery: volumes after a gap wait (at most resend_hold of them, resend_wait
  // long) while the publisher's resend endpoint is asked for the missing ones.
  bool resend = true;
  std::chrono::milliseconds resend_wait{1000};
  size_t resend_hold = 256;
  LinkKeys keys;  // CURVE: this stream's key pair and the publisher's public key (net/curve.hpp)
};

// What the processing thread receives, in arrival order.
struct StreamEvent {
  enum class Kind : uint8_t { RunStart, Volume, RunEnd };
  Kind kind = Kind::Volume;
  std::string run;
  std::unique_ptr<Tr> tr;             // Volume
  ControlMessage start;               // RunStart: first_index, count, tr (as announced)
  bool announced = true;              // RunStart: false when a volume opened the run (we joined it late)
  std::optional<RunSummary> summary;  // RunEnd
};

class Receiver {
 public:
  // Creates and connects the socket; throws std::runtime_error naming a bad endpoint.
  Receiver(zmq::context_t& ctx, ReceiverOptions options);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  void start();
  // Ends an open run (ended by "shutdown"), stops the thread and closes the queue; what is
  // queued can still be taken with next().
  void stop();

  // The next event, or nothing after `timeout` or once stopped and drained.
  std::optional<StreamEvent> next(std::chrono::milliseconds timeout);
  bool drained() const { return queue_.closed() && queue_.size() == 0; }

  std::array<int64_t, kRejectCount> dropped() const;  // every drop so far, by reason

 private:
  // A volume waiting in the reorder window; `recovered`: it came by resend.
  struct Held {
    std::unique_ptr<Tr> tr;
    bool recovered = false;
  };

  void loop(std::stop_token stop);
  // `resent`: the message came on the resend socket (a reply, not the live stream).
  void handle(std::span<const std::span<const std::byte>> frames, int64_t t_recv, bool resent);
  void on_control(const ControlMessage& c, bool resent);
  void on_volume(const VolumeMessage& m, int64_t t_recv, bool resent);
  // Recovery: connect to an announced resend endpoint, ask for what is missing, give up on
  // what waited too long, hand what is in order to processing.
  void learn_resend(const std::string& announced);
  void request_missing(int64_t from, int64_t to);
  void tend_window();
  void deliver(std::vector<Held>& ready);
  // Opens a run, or says why not. A run_start (`restart`) reopens a run id that has ended:
  // a restarted publisher makes a new run (the Session records it under a new name).
  std::optional<Reject> open_run(const std::string& run, int64_t first_index, int64_t count, double tr_s, bool restart);
  void end_run(RunEndCause cause);
  void drop(Reject reason, const std::string& detail, const std::string& run);
  void watch_connection();  // reads the monitor's events
  void reconnect();

  ReceiverOptions options_;
  zmq::context_t& ctx_;
  std::string link_;  // "curve", "loopback" or "insecure", in each run's summary
  zmq::socket_t socket_;
  // Told when the connection drops: ZeroMQ closes it on a message over its size limit and
  // would not reconnect by itself, which left the stream deaf (README, "Reliability").
  zmq::socket_t monitor_;
  BoundedQueue<StreamEvent> queue_;
  RateLimitedLog log_;
  std::array<std::atomic<int64_t>, kRejectCount> dropped_{};

  // Receiver-thread state.
  std::optional<RunTracker> run_;
  std::optional<VolumeHeader> geometry_;  // the first accepted header of the open run
  double announced_tr_ = 0;               // from run_start, 0 unknown
  std::set<std::string> ended_runs_;
  int64_t runs_opened_ = 0;
  std::optional<SteadyClock::time_point> lost_since_;  // disconnected, and ZeroMQ has not retried
  std::optional<zmq::socket_t> resend_;  // DEALER to the publisher's resend ROUTER, once announced
  std::string resend_at_;
  ReorderWindow<Held> window_;
  int64_t requested_to_ = -1;  // the highest index asked for in the open run
  int64_t gap_at_ = -1;        // the gap being waited for, and whether it was asked for again
  bool gap_retried_ = false;
  SteadyClock::time_point gap_since_{};
  int64_t end_at_ = -1;  // run_end arrived: the run ends here once the window is whole, or at end_deadline_
  SteadyClock::time_point end_deadline_{};
  std::jthread thread_;
};

}  // namespace hyper

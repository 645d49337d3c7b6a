#pragma once
// The sending side of hyper/1: an XPUB socket that sees its subscribers arrive, so that a
// run can wait for them and lose nothing at its start (plain PUB drops what is sent before
// a subscriber's subscription has arrived: ZeroMQ's "slow joiner").
// Not thread-safe: one thread owns a Publisher (as ZeroMQ requires of sockets).

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <zmq.hpp>

#include "net/protocol.hpp"

namespace hyper {

struct PublisherOptions {
  bool allow_remote = false;  // binding a non-loopback address needs this (README, "Reliability and security")
  int send_hwm = 256;         // messages queued per subscriber before it loses them (lossy) or send blocks
  // true: a subscriber that falls send_hwm messages behind loses messages (it counts them as
  // gaps) and the publisher keeps its pace; false: send waits for the slowest subscriber.
  bool lossy = false;
  std::chrono::milliseconds linger{5000};  // at close, time allowed to flush what is queued (none after Ctrl-C)
  std::string what = "replay.endpoint (--endpoint)";  // the setting that chose the endpoint, for errors
};

class Publisher {
 public:
  // Binds `endpoint`; throws std::runtime_error naming it when that fails or when a remote
  // address is bound without allow_remote.
  Publisher(zmq::context_t& ctx, const std::string& endpoint, const PublisherOptions& options = {});
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Waits until `n` subscribers are subscribed now (one that left no longer counts: a
  // restarted stream is waited for again), up to `timeout`, checking `interrupted()`.
  // Returns the number subscribed.
  int wait_for_subscribers(int n, std::chrono::milliseconds timeout);

  // Stamps payload_bytes, crc32 and (last) t_sent into `h`, then sends [vol, header, payload].
  // With `keep_alive` owning the payload's memory, the payload is sent without a copy and
  // kept alive until ZeroMQ is done with it; without, it is copied.
  // Not lossy: when a subscriber lags, send blocks (XPUB_NODROP) and retries until
  // `interrupted()`; returns false only then. Lossy: never blocks.
  bool send_volume(VolumeHeader& h, std::span<const std::byte> payload,
                   std::shared_ptr<const void> keep_alive = nullptr);
  bool send_control(ControlMessage c);  // stamps t_sent

  const std::string& endpoint() const { return endpoint_; }

 private:
  bool send_frames(zmq::message_t& topic, zmq::message_t& header, zmq::message_t* payload);
  void drain_subscriptions();

  zmq::socket_t socket_;
  std::string endpoint_;
  int subscribers_ = 0;  // subscriptions seen, ever
  int present_ = 0;      // ... less those withdrawn (a subscriber that left)
};

}  // namespace hyper

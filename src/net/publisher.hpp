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
#include "net/curve.hpp"
#include "net/resend.hpp"

namespace hyper {

class Schema;
class Settings;

struct PublisherOptions {
  bool allow_remote = false;  // binding a non-loopback address needs this (README, "Reliability and security")
  int send_hwm = 256;         // messages queued per subscriber before it loses them (lossy) or send blocks
  // true: a subscriber that falls send_hwm messages behind loses messages (it counts them as
  // gaps) and the publisher keeps its pace; false: send waits for the slowest subscriber.
  bool lossy = false;
  std::chrono::milliseconds linger{5000};  // at close, time allowed to flush what is queued (none after Ctrl-C)
  std::string what = "replay.endpoint (--endpoint)";  // the setting that chose the endpoint, for errors
  // hyper/1.1 recovery (net/resend.hpp): "auto" (beside the volume endpoint), an endpoint, or
  // "off"; the current run's volumes kept in resend_mb of memory, then in resend_spool.
  std::string resend_endpoint = "auto";
  double resend_mb = 512;
  std::string resend_spool;
  std::chrono::milliseconds resend_linger{1000};  // at close, serve late requests until quiet this long
  LinkKeys keys;  // CURVE for the volume and resend sockets (net/curve.hpp)
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
  bool send_control(ControlMessage c);  // stamps t_sent; a run_start begins the resend store's run

  const std::string& endpoint() const { return endpoint_; }
  // The resend endpoint as bound, empty when resending is off.
  std::string resend_endpoint() const { return resend_ ? resend_->endpoint() : std::string(); }
  int64_t resent() const { return resend_ ? resend_->resent() : 0; }
  int64_t refused_peers() const { return zap_ ? zap_->refused() : 0; }  // peers the key check turned away
  const std::string& link() const { return link_; }  // "curve", "loopback" or "insecure"

 private:
  bool send_frames(zmq::message_t& topic, zmq::message_t& header, zmq::message_t* payload);
  void drain_subscriptions();

  std::unique_ptr<ZapHandler> zap_;  // before the sockets: it must answer their handshakes
  zmq::socket_t socket_;
  std::string endpoint_, link_;
  std::shared_ptr<ResendStore> store_;
  std::unique_ptr<ResendServer> resend_;
  std::chrono::milliseconds resend_linger_;
  int subscribers_ = 0;  // subscriptions seen, ever
  int present_ = 0;      // ... less those withdrawn (a subscriber that left)
};

// The link settings every publishing command offers (`SECTION.resend_endpoint`,
// `.resend_mb`, `.resend_spool`, `.curve_secret`, `.curve_clients`, `.insecure`), and their
// values put into `o`.
void declare_link_settings(Schema& s, const std::string& section);
void apply_link_settings(const Settings& st, const std::string& section, PublisherOptions& o);

}  // namespace hyper

#include "net/publisher.hpp"

#include <cerrno>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/interrupt.hpp"
#include "net/endpoint.hpp"

namespace hyper {

namespace {
constexpr int kSendTimeoutMs = 1000;  // a blocked send wakes up this often to check Ctrl-C
}

Publisher::Publisher(zmq::context_t& ctx, const std::string& endpoint, const PublisherOptions& options)
    : socket_(ctx, zmq::socket_type::xpub), endpoint_(endpoint) {
  check_endpoint(endpoint, "endpoint");
  if (!options.allow_remote && !is_local_endpoint(endpoint))
    throw std::runtime_error("endpoint " + endpoint +
                             " is not a loopback address: binding it exposes the stream to the "
                             "network; pass --allow-remote if that is intended");
  socket_.set(zmq::sockopt::xpub_verboser, 1);  // every subscription and unsubscription reaches us (a subscriber leaving)
  socket_.set(zmq::sockopt::xpub_nodrop, options.lossy ? 0 : 1);  // at the high-water mark: drop for that subscriber, or block
  socket_.set(zmq::sockopt::sndhwm, options.send_hwm);
  socket_.set(zmq::sockopt::sndtimeo, kSendTimeoutMs);
  socket_.set(zmq::sockopt::linger, static_cast<int>(options.linger.count()));
  bind_endpoint(socket_, endpoint, options.what);
  endpoint_ = socket_.get(zmq::sockopt::last_endpoint);  // resolves a wildcard port
}

Publisher::~Publisher() {
  if (interrupted()) socket_.set(zmq::sockopt::linger, 0);  // Ctrl-C ends at once, whatever is queued
}

void Publisher::drain_subscriptions() {
  zmq::message_t m;
  while (socket_.recv(m, zmq::recv_flags::dontwait)) {
    if (m.size() < 1) continue;
    if (static_cast<const uint8_t*>(m.data())[0] == 1) {
      ++subscribers_;
      ++present_;
      spdlog::info("subscriber joined {} ({} so far)", endpoint_, subscribers_);
    } else if (present_ > 0 && --present_ == 0) {  // ZeroMQ unsubscribes a peer that disconnects
      spdlog::warn("the last subscriber left {}: what is sent until one subscribes again is lost (is hyper stream still "
                   "running?)", endpoint_);
    } else {
      spdlog::info("a subscriber left {} ({} still subscribed)", endpoint_, present_);
    }
  }
}

int Publisher::wait_for_subscribers(int n, std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  drain_subscriptions();
  while (present_ < n && !interrupted() && SteadyClock::now() < deadline) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;  // Ctrl-C: the loop's condition ends it
    }
    drain_subscriptions();
  }
  return present_;
}

bool Publisher::send_frames(zmq::message_t& topic, zmq::message_t& header, zmq::message_t* payload) {
  try {
    // Only the first part can meet the high-water mark; the others follow it atomically.
    while (!socket_.send(topic, zmq::send_flags::sndmore)) {
      if (interrupted()) return false;
      spdlog::warn("send to {} blocked for {} ms: a subscriber is not keeping up", endpoint_, kSendTimeoutMs);
    }
    if (!payload) return socket_.send(header, zmq::send_flags::none).has_value();
    socket_.send(header, zmq::send_flags::sndmore);
    return socket_.send(*payload, zmq::send_flags::none).has_value();
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;  // Ctrl-C arrived during the call: the caller winds down
    throw;
  }
}

bool Publisher::send_volume(VolumeHeader& h, std::span<const std::byte> payload,
                            std::shared_ptr<const void> keep_alive) {
  drain_subscriptions();
  h.payload_bytes = payload.size();
  h.crc32 = crc32(payload);
  zmq::message_t body;
  if (keep_alive) {
    // ZeroMQ calls the free function from its I/O thread once every subscriber has the
    // data; the heap-held shared_ptr keeps the buffer alive until then.
    auto* hint = new std::shared_ptr<const void>(std::move(keep_alive));
    body.rebuild(const_cast<std::byte*>(payload.data()), payload.size(),
                 [](void*, void* hint) { delete static_cast<std::shared_ptr<const void>*>(hint); }, hint);
  } else {
    body.rebuild(payload.data(), payload.size());
  }
  zmq::message_t topic(kTopicVolume.data(), kTopicVolume.size());
  h.t_sent = realtime_ns();
  zmq::message_t header(encode_volume_header(h));
  return send_frames(topic, header, &body);
}

bool Publisher::send_control(ControlMessage c) {
  drain_subscriptions();
  zmq::message_t topic(kTopicControl.data(), kTopicControl.size());
  c.t_sent = realtime_ns();
  zmq::message_t header(encode_control(c));
  return send_frames(topic, header, nullptr);
}

}  // namespace hyper

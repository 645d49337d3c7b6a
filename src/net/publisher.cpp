#include "net/publisher.hpp"

#include <cerrno>
#include <stdexcept>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/interrupt.hpp"
#include "core/settings.hpp"
#include "net/endpoint.hpp"

namespace hyper {

namespace {
constexpr int kSendTimeoutMs = 1000;  // a blocked send wakes up this often to check Ctrl-C
}

Publisher::Publisher(zmq::context_t& ctx, const std::string& endpoint, const PublisherOptions& options)
    : zap_(options.keys.configured() ? std::make_unique<ZapHandler>(ctx, options.keys.allowed) : nullptr),
      socket_(ctx, zmq::socket_type::xpub), endpoint_(endpoint), resend_linger_(options.resend_linger) {
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
  link_ = secure_server(socket_, options.keys, endpoint);
  bind_endpoint(socket_, endpoint, options.what);
  endpoint_ = socket_.get(zmq::sockopt::last_endpoint);  // resolves a wildcard port
  if (options.resend_endpoint != "off" && !options.resend_endpoint.empty()) {
    const std::string at = options.resend_endpoint == "auto" ? resend_endpoint_beside(endpoint_) : options.resend_endpoint;
    if (!options.allow_remote && !is_local_endpoint(at))
      throw std::runtime_error("resend endpoint " + at + " is not a loopback address; pass --allow-remote if that is intended");
    store_ = std::make_shared<ResendStore>(static_cast<uint64_t>(options.resend_mb * 1024 * 1024), options.resend_spool);
    resend_ = std::make_unique<ResendServer>(ctx, at, options.what + ", its resend endpoint", store_, options.keys);
  }
}

Publisher::~Publisher() {
  if (interrupted()) {
    socket_.set(zmq::sockopt::linger, 0);  // Ctrl-C ends at once, whatever is queued
  } else if (resend_ && present_ > 0) {
    // A subscriber may still be asking for what it missed at the end of the run.
    resend_->wait_quiet(resend_linger_, std::max(resend_linger_ * 10, std::chrono::milliseconds(10000)));
  }
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
  if (store_ && !keep_alive) {  // kept for resending: one copy, shared with ZeroMQ
    auto copy = std::make_shared<std::vector<std::byte>>(payload.begin(), payload.end());
    payload = {copy->data(), copy->size()};
    keep_alive = std::move(copy);
  }
  h.payload_bytes = payload.size();
  h.crc32 = crc32(payload);
  zmq::message_t body;
  if (keep_alive) {
    // ZeroMQ calls the free function from its I/O thread once every subscriber has the
    // data; the heap-held shared_ptr keeps the buffer alive until then.
    auto* hint = new std::shared_ptr<const void>(keep_alive);
    body.rebuild(const_cast<std::byte*>(payload.data()), payload.size(),
                 [](void*, void* hint) { delete static_cast<std::shared_ptr<const void>*>(hint); }, hint);
  } else {
    body.rebuild(payload.data(), payload.size());
  }
  zmq::message_t topic(kTopicVolume.data(), kTopicVolume.size());
  h.t_sent = realtime_ns();
  h.resend = resend_endpoint();
  std::string text = encode_volume_header(h);
  if (store_) store_->keep(h.run, h.index, KeptVolume{text, keep_alive, payload});  // exactly as sent
  zmq::message_t header(text);
  return send_frames(topic, header, &body);
}

bool Publisher::send_control(ControlMessage c) {
  drain_subscriptions();
  zmq::message_t topic(kTopicControl.data(), kTopicControl.size());
  c.t_sent = realtime_ns();
  c.resend = resend_endpoint();
  if (store_ && c.type == ControlType::RunStart) store_->begin_run(c.run);
  zmq::message_t header(encode_control(c));
  return send_frames(topic, header, nullptr);
}

void declare_link_settings(Schema& s, const std::string& section) {
  using T = SettingType;
  s.add({.key = section + ".resend_endpoint", .type = T::String, .def = std::string("auto"),
         .help = "where a stream asks for volumes it missed (hyper/1.1): \"auto\" (the publishing address, a free port, "
                 "announced in every message), an endpoint (a fixed port for a firewall), or \"off\""});
  s.add({.key = section + ".resend_mb", .type = T::Float, .def = 512.0, .unit = "MiB",
         .help = "the current run's volumes kept in memory for resending (older ones go to resend_spool, or are forgotten)",
         .min = 1.0, .max = 1e6});
  s.add({.key = section + ".resend_spool", .type = T::String, .def = std::string(""),
         .help = "a folder for the volumes beyond resend_mb (empty: they are forgotten and can no longer be resent)"});
  s.add({.key = section + ".curve_secret", .type = T::String, .def = std::string(""),
         .help = "this publisher's key pair (NAME.key_secret from hyper keys): every volume encrypted, only the clients of "
                 "curve_clients let in; empty: none (then only loopback, or --insecure)", .existing = true});
  s.add({.key = section + ".curve_clients", .type = T::String, .def = std::string(""),
         .help = "the streams let in: a folder of their public keys (NAME.key), or one", .existing = true});
  s.add({.key = section + ".insecure", .type = T::Bool, .def = false,
         .help = "serve a non-loopback address without keys (anyone who reaches it can read the volumes and send their own)",
         .flag = "--insecure"});
}

void apply_link_settings(const Settings& st, const std::string& section, PublisherOptions& o) {
  o.resend_endpoint = st.get_string(section + ".resend_endpoint");
  if (o.resend_endpoint != "auto" && o.resend_endpoint != "off") {
    try {
      check_endpoint(o.resend_endpoint, section + ".resend_endpoint");
    } catch (const std::invalid_argument& e) {
      throw SettingsError(e.what());
    }
  }
  o.resend_mb = st.get_float(section + ".resend_mb");
  o.resend_spool = st.get_string(section + ".resend_spool");
  o.keys = LinkKeys{.insecure = st.get_bool(section + ".insecure"),
                    .what = section + ".curve_secret (or --insecure)"};
  const std::string secret = st.get_string(section + ".curve_secret"), clients = st.get_string(section + ".curve_clients");
  if (!secret.empty()) {
    o.keys.own = read_curve_secret(secret, section + ".curve_secret");
    if (clients.empty())
      throw SettingsError(section + ".curve_clients: needed with curve_secret: the public keys (NAME.key) of the streams to let in");
    o.keys.allowed = read_curve_allowed(clients, section + ".curve_clients");
  } else if (!clients.empty()) {
    throw SettingsError(section + ".curve_clients: set, but not curve_secret (this publisher's own key pair)");
  }
}

}  // namespace hyper

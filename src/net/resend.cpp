#include "net/resend.hpp"

#include <cstring>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include "core/clock.hpp"
#include "net/endpoint.hpp"
#include "net/protocol.hpp"

namespace hyper {

ResendStore::ResendStore(uint64_t memory_bytes, std::filesystem::path spool)
    : capacity_(memory_bytes), spool_(std::move(spool)) {
  if (!spool_.empty()) std::filesystem::create_directories(spool_);
}

std::filesystem::path ResendStore::spool_file(int64_t index) const {
  return spool_ / fmt::format("{}.{:06d}.vol", run_, index);
}

void ResendStore::begin_run(const std::string& run) {
  std::lock_guard lock(mu_);
  if (run == run_) return;  // a run_start sent again for the same run: what is kept stays
  std::error_code ec;
  for (const auto& [index, unused] : on_disk_) std::filesystem::remove(spool_file(index), ec);
  memory_.clear();
  on_disk_.clear();
  bytes_ = 0;
  run_ = run;
}

void ResendStore::keep(const std::string& run, int64_t index, KeptVolume v) {
  std::lock_guard lock(mu_);
  if (run != run_) return;  // volumes sent without a run_start are not kept (nothing announced them)
  bytes_ += v.payload.size();
  if (auto old = memory_.find(index); old != memory_.end()) {  // the same index sent again: the newer
    bytes_ -= old->second.payload.size();
    memory_.erase(old);
  }
  memory_.emplace(index, std::move(v));
  // Oldest first out: to the spool (header length, header, payload), or forgotten.
  while (bytes_ > capacity_ && memory_.size() > 1) {
    auto it = memory_.begin();
    if (!spool_.empty()) {
      std::ofstream f(spool_file(it->first), std::ios::binary);
      const uint32_t n = static_cast<uint32_t>(it->second.header.size());
      f.write(reinterpret_cast<const char*>(&n), sizeof n);
      f.write(it->second.header.data(), n);
      f.write(reinterpret_cast<const char*>(it->second.payload.data()), static_cast<std::streamsize>(it->second.payload.size()));
      f.close();  // the buffered tail too: a full disk shows here
      if (f) {
        on_disk_[it->first] = true;
        ++spilled_;
      } else {
        std::error_code ec;
        std::filesystem::remove(spool_file(it->first), ec);
        spdlog::warn("resend spool {}: cannot write volume {} (disk full?): it can no longer be resent", spool_.string(), it->first);
      }
    }
    bytes_ -= it->second.payload.size();
    memory_.erase(it);
  }
}

std::optional<KeptVolume> ResendStore::find(const std::string& run, int64_t index) const {
  std::filesystem::path path;
  {
    std::lock_guard lock(mu_);  // not held while the disk is read: keep() is the live stream's path
    if (run != run_) return std::nullopt;
    if (auto it = memory_.find(index); it != memory_.end()) return it->second;
    if (!on_disk_.count(index)) return std::nullopt;
    path = spool_file(index);
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  std::ifstream f(path, std::ios::binary);
  uint32_t n = 0;
  f.read(reinterpret_cast<char*>(&n), sizeof n);
  if (ec || !f || size < sizeof n + n) return std::nullopt;
  KeptVolume v;
  v.header.resize(n);
  f.read(v.header.data(), n);
  auto bytes = std::make_shared<std::vector<std::byte>>(size - sizeof n - n);
  f.read(reinterpret_cast<char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
  if (!f) return std::nullopt;
  v.payload = {bytes->data(), bytes->size()};
  v.owner = std::move(bytes);
  return v;
}

int64_t ResendStore::spilled() const {
  std::lock_guard lock(mu_);
  return spilled_;
}

ResendServer::ResendServer(zmq::context_t& ctx, const std::string& endpoint, const std::string& what,
                           std::shared_ptr<ResendStore> store, const LinkKeys& keys)
    : socket_(ctx, zmq::socket_type::router), store_(std::move(store)) {
  check_endpoint(endpoint, what);
  secure_server(socket_, keys, endpoint);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::rcvhwm, 64);        // requests are small and few
  socket_.set(zmq::sockopt::sndhwm, 64);        // answers a peer does not read are dropped, not piled up here
  socket_.set(zmq::sockopt::maxmsgsize, int64_t{65536});  // a peer sending more is cut off before it is read
  bind_endpoint(socket_, endpoint, what);
  endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  thread_ = std::jthread([this](std::stop_token st) { loop(st); });
}

ResendServer::~ResendServer() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void ResendServer::wait_quiet(std::chrono::milliseconds quiet, std::chrono::milliseconds limit) const {
  const int64_t start = realtime_ns();
  const int64_t q = quiet.count() * 1'000'000, l = limit.count() * 1'000'000;
  while (true) {
    const int64_t now = realtime_ns();
    if (now - start >= l || now - std::max(start, last_request_ns_.load()) >= q) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ResendServer::loop(std::stop_token stop) {
  std::vector<zmq::message_t> frames;
  while (!stop.stop_requested()) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    frames.clear();
    while (zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      last_request_ns_ = realtime_ns();
      const bool ok = frames.size() == 3 && frames[1].to_string_view() == kTopicResend;
      if (ok) answer(frames[0], {static_cast<const std::byte*>(frames[2].data()), frames[2].size()});
      else {
        ++refused_;
        log_.warn("resend-frames", fmt::format("resend request refused: {} frames, expected [\"resend\", header]", frames.size() - 1));
      }
      frames.clear();
    }
  }
}

void ResendServer::answer(zmq::message_t& peer, std::span<const std::byte> header) {
  const auto decoded = decode_resend_request(header);
  if (const auto* why = std::get_if<std::string>(&decoded)) {
    ++refused_;
    return log_.warn("resend-request", "resend request refused: " + *why);
  }
  const auto& r = std::get<ResendRequest>(decoded);
  // ROUTER drops what a peer cannot take (its queue full): the receiver asks again or gives up.
  auto send = [&](std::initializer_list<std::string_view> parts, const KeptVolume* v) {
    zmq::message_t id(peer.data(), peer.size());
    socket_.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    size_t i = 0;
    for (auto p : parts) {
      const bool last = ++i == parts.size() && !v;
      socket_.send(zmq::message_t(p.data(), p.size()), last ? zmq::send_flags::dontwait : zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    }
    if (v) {
      auto* hint = new std::shared_ptr<const void>(v->owner);
      zmq::message_t body(const_cast<std::byte*>(v->payload.data()), v->payload.size(),
                          [](void*, void* h) { delete static_cast<std::shared_ptr<const void>*>(h); }, hint);
      socket_.send(body, zmq::send_flags::dontwait);
    }
  };
  int64_t none_from = -1;
  auto say_none = [&](int64_t to) {
    ControlMessage c{.type = ControlType::ResendNone, .run = r.run, .from = none_from, .to = to, .t_sent = realtime_ns()};
    send({kTopicControl, encode_control(c)}, nullptr);
    none_from = -1;
  };
  for (int64_t i = r.from; i <= r.to; ++i) {
    if (auto v = store_->find(r.run, i)) {
      if (none_from >= 0) say_none(i - 1);
      send({kTopicVolume, v->header}, &*v);
      ++resent_;
    } else if (none_from < 0) {
      none_from = i;
    }
  }
  if (none_from >= 0) say_none(r.to);
}

std::string resend_endpoint_beside(const std::string& e) {
  if (e.rfind("tcp://", 0) != 0) return e + ".resend";
  return e.substr(0, e.rfind(':') + 1) + "*";  // the system picks a free port; headers announce it
}

std::string resend_endpoint_for(const std::string& stream, const std::string& announced) {
  const auto transport = [](const std::string& e) { return e.substr(0, e.find("://")); };
  if (announced.empty() || transport(stream) != transport(announced)) return {};
  if (transport(stream) != "tcp") return announced;
  const auto port = announced.substr(announced.rfind(':') + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) return {};
  return stream.substr(0, stream.rfind(':') + 1) + port;
}

}  // namespace hyper

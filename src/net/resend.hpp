#pragma once
// The publisher's half of hyper/1.1's recovery of missing volumes (README, "Recovery of
// missing volumes"): every volume of the current run is kept (a memory ring, spilling to a
// spool folder when one is set) and a ROUTER socket, served by its own thread, answers a
// receiver's ["resend", {run, from, to}] with the volumes exactly as first sent, and with
// ["ctl", resend_none] for those it no longer has.
//
// Thread-safe: the publishing thread keeps volumes, the server thread reads them.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "core/logging.hpp"
#include "net/curve.hpp"

namespace hyper {

// A volume message as sent: its header text and its payload (shared, not copied, when the
// sender owns the buffer).
struct KeptVolume {
  std::string header;
  std::shared_ptr<const void> owner;
  std::span<const std::byte> payload;
};

class ResendStore {
 public:
  // `memory_bytes`: payload bytes kept in memory; older volumes go to `spool` (a folder,
  // created; empty: they are forgotten).
  ResendStore(uint64_t memory_bytes, std::filesystem::path spool);

  void begin_run(const std::string& run);  // forgets the previous run (its spool files too)
  void keep(const std::string& run, int64_t index, KeptVolume v);
  std::optional<KeptVolume> find(const std::string& run, int64_t index) const;
  int64_t spilled() const;

 private:
  std::filesystem::path spool_file(int64_t index) const;
  mutable std::mutex mu_;
  uint64_t capacity_, bytes_ = 0;
  std::filesystem::path spool_;
  std::string run_;
  std::map<int64_t, KeptVolume> memory_;
  std::map<int64_t, bool> on_disk_;
  int64_t spilled_ = 0;
};

class ResendServer {
 public:
  // Binds `endpoint` (a SettingsError naming `what` when that fails); serves until destroyed.
  ResendServer(zmq::context_t& ctx, const std::string& endpoint, const std::string& what, std::shared_ptr<ResendStore> store,
               const LinkKeys& keys = {});
  ~ResendServer();
  ResendServer(const ResendServer&) = delete;
  ResendServer& operator=(const ResendServer&) = delete;

  const std::string& endpoint() const { return endpoint_; }  // as bound (a wildcard port resolved)
  int64_t resent() const { return resent_.load(); }
  int64_t refused() const { return refused_.load(); }
  // Waits while requests keep arriving: until `quiet` has passed without one, at most `limit`.
  void wait_quiet(std::chrono::milliseconds quiet, std::chrono::milliseconds limit) const;

 private:
  void loop(std::stop_token stop);
  void answer(zmq::message_t& peer, std::span<const std::byte> header);

  zmq::socket_t socket_;
  std::string endpoint_;
  std::shared_ptr<ResendStore> store_;
  RateLimitedLog log_;
  std::atomic<int64_t> resent_{0}, refused_{0};
  std::atomic<int64_t> last_request_ns_{0};
  std::jthread thread_;
};

// The resend endpoint next to a volume endpoint: over tcp the same address and a free port
// (every header announces it), ipc/inproc the name + ".resend".
std::string resend_endpoint_beside(const std::string& volume_endpoint);

// Where a receiver connected to `stream_endpoint` reaches an announced resend endpoint:
// over tcp the announced port at the host the stream connects to (a publisher bound to a
// wildcard announces 0.0.0.0); otherwise the announced name, if of the same transport.
// Empty when the announcement is unusable.
std::string resend_endpoint_for(const std::string& stream_endpoint, const std::string& announced);

}  // namespace hyper

#pragma once
// CURVE encryption and authentication for the links that may leave this machine (README,
// "Keys and encryption"): ZeroMQ's CURVE (Curve25519 keys, every message encrypted) and a
// ZAP handler that lets in only the client keys listed.
//
// Key files are pyzmq's certificates (zmq.auth.create_certificates / load_certificate), so
// a lab's own Python client can use them: NAME.key holds the public key, NAME.key_secret
// both (readable by its owner only).

#include <atomic>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "hyper/params.hpp"

namespace hyper {

struct CurveKeyPair {
  std::string public_key, secret_key;  // Z85, 40 characters each
};

// Writes DIR/NAME.key and DIR/NAME.key_secret (mode 0600); refuses to overwrite either.
// Returns the pair.
CurveKeyPair write_curve_keys(const std::filesystem::path& dir, const std::string& name);
// Reads NAME.key_secret; refuses one that others may read. Throws SettingsError naming `what`.
CurveKeyPair read_curve_secret(const std::filesystem::path& file, const std::string& what);
// The public key of a certificate (NAME.key or NAME.key_secret).
std::string read_curve_public(const std::filesystem::path& file, const std::string& what);
// Every *.key in a folder, or the one certificate named.
std::set<std::string> read_curve_allowed(const std::filesystem::path& file_or_dir, const std::string& what);

// One side of a link as the settings give it.
struct LinkKeys {
  std::optional<CurveKeyPair> own;  // this side's key pair
  std::string server_public;        // a client: the server's public key
  std::set<std::string> allowed;    // a server: the client keys let in
  bool insecure = false;            // off loopback without keys, knowingly
  std::string what;                 // the settings, for errors ("replay.curve_secret, ...")
  bool configured() const { return own.has_value(); }
};

// A client's keys from its settings: `secret_key` names its key pair file (empty: no keys),
// `server_key` the server's public key file (required with a key pair), `insecure_key` the flag.
LinkKeys client_link_keys(const Params& p, const std::string& secret_key, const std::string& server_key, const std::string& insecure_key);

// A socket that binds (server) or connects (client) `endpoint`: CURVE when keys are given;
// without, an endpoint off loopback is a SettingsError unless `insecure` (then a warning).
// Returns "curve", "loopback" or "insecure" for the record.
std::string secure_server(zmq::socket_t& s, const LinkKeys& keys, const std::string& endpoint);
std::string secure_client(zmq::socket_t& s, const LinkKeys& keys, const std::string& endpoint);

// Answers ZeroMQ's authentication requests (ZAP) for the CURVE servers of one context:
// a client whose public key is in `allowed` is let in, any other refused, logged, counted.
class ZapHandler {
 public:
  ZapHandler(zmq::context_t& ctx, std::set<std::string> allowed);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;
  int64_t refused() const { return refused_.load(); }

 private:
  void loop(std::stop_token stop);
  zmq::socket_t socket_;
  std::set<std::string> allowed_;
  std::atomic<int64_t> refused_{0};
  std::jthread thread_;
};

}  // namespace hyper

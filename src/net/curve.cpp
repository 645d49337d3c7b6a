#include "net/curve.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <vector>

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include "core/logging.hpp"
#include "core/settings.hpp"
#include "net/endpoint.hpp"

namespace hyper {

namespace {

constexpr const char* kBanner =
    "#   ZeroMQ CURVE {} Certificate, made by `hyper keys` (the format of pyzmq's zmq.auth)\n"
    "{}\n\n"
    "metadata\n"
    "curve\n"
    "    public-key = \"{}\"\n";

bool is_z85_key(const std::string& k) {
  std::array<uint8_t, 32> raw{};
  return k.size() == 40 && zmq_z85_decode(raw.data(), k.c_str()) != nullptr;
}

// Writes `text` to a new file of `mode`; an existing file is an error (keys are never replaced silently).
void write_new(const std::filesystem::path& p, const std::string& text, mode_t mode) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    throw SettingsError(p.string() + (errno == EEXIST ? ": exists already (keys are never overwritten: remove it, or give another --name)"
                                                      : ": cannot create: " + std::string(std::strerror(errno))));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) throw std::runtime_error(p.string() + ": write failed");
}

// The "public-key" and "secret-key" values of a certificate.
std::pair<std::string, std::string> read_certificate(const std::filesystem::path& file, const std::string& what) {
  std::ifstream in(file);
  if (!in) throw SettingsError(what + ": cannot read " + file.string());
  std::string line, pub, sec;
  auto value = [](const std::string& l) {
    std::string v = l.substr(l.find('=') + 1);
    const auto a = v.find_first_not_of(" \t'\""), b = v.find_last_not_of(" \t'\"\r");
    return a == std::string::npos ? std::string() : v.substr(a, b - a + 1);
  };
  while (std::getline(in, line)) {
    const auto s = line.find_first_not_of(" \t");
    if (s == std::string::npos || line[s] == '#') continue;
    if (line.compare(s, 10, "public-key") == 0) pub = value(line);
    if (line.compare(s, 10, "secret-key") == 0) sec = value(line);
  }
  if (!is_z85_key(pub)) throw SettingsError(what + ": " + file.string() + " has no public-key of 40 Z85 characters (make keys with hyper keys)");
  return {pub, sec};
}

}  // namespace

CurveKeyPair write_curve_keys(const std::filesystem::path& dir, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos) throw SettingsError("keys.name: '" + name + "' is not a file name");
  std::array<char, 41> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0)
    throw std::runtime_error(std::string("this libzmq cannot make CURVE keys: ") + zmq_strerror(zmq_errno()));
  std::filesystem::create_directories(dir);
  const CurveKeyPair k{pub.data(), sec.data()};
  const std::string secret = fmt::format(kBanner, "**Secret**", "#   Give it to nobody; it stays readable by its owner only.", k.public_key) +
                             "    secret-key = \"" + k.secret_key + "\"\n";
  write_new(dir / (name + ".key_secret"), secret, 0600);
  write_new(dir / (name + ".key"), fmt::format(kBanner, "Public", "#   Copy it to the peers that must let this one in.", k.public_key), 0644);
  return k;
}

CurveKeyPair read_curve_secret(const std::filesystem::path& file, const std::string& what) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    throw SettingsError(what + ": " + file.string() + " may be read by others (mode " + fmt::format("{:o}", st.st_mode & 0777) +
                        "): a secret key must not be; chmod 600 it");
  auto [pub, sec] = read_certificate(file, what);
  if (!is_z85_key(sec)) throw SettingsError(what + ": " + file.string() + " has no secret-key (give NAME.key_secret, not NAME.key)");
  return {pub, sec};
}

std::string read_curve_public(const std::filesystem::path& file, const std::string& what) { return read_certificate(file, what).first; }

std::set<std::string> read_curve_allowed(const std::filesystem::path& at, const std::string& what) {
  std::set<std::string> keys;
  if (std::filesystem::is_directory(at)) {
    for (const auto& e : std::filesystem::directory_iterator(at))
      if (e.path().extension() == ".key") keys.insert(read_curve_public(e.path(), what));
  } else {
    keys.insert(read_curve_public(at, what));
  }
  if (keys.empty()) throw SettingsError(what + ": no client public key (NAME.key) in " + at.string());
  return keys;
}

LinkKeys client_link_keys(const Params& p, const std::string& secret_key, const std::string& server_key, const std::string& insecure_key) {
  LinkKeys k{.insecure = p.get_bool(insecure_key), .what = secret_key + " (or --insecure)"};
  const std::string secret = p.get_string(secret_key), server = p.get_string(server_key);
  if (secret.empty() != server.empty())
    throw SettingsError(secret.empty() ? server_key + ": set, but not " + secret_key + " (this end's own key pair, from hyper keys)"
                                       : server_key + ": needed with " + secret_key + ": the server's public key (its NAME.key)");
  if (!secret.empty()) {
    k.own = read_curve_secret(secret, secret_key);
    k.server_public = read_curve_public(server, server_key);
  }
  return k;
}

std::string secure_server(zmq::socket_t& s, const LinkKeys& keys, const std::string& endpoint) {
  if (keys.configured()) {
    s.set(zmq::sockopt::curve_server, 1);
    s.set(zmq::sockopt::curve_secretkey, keys.own->secret_key);
    s.set(zmq::sockopt::zap_domain, "hyper");
    return "curve";
  }
  if (is_local_endpoint(endpoint)) return "loopback";
  if (!keys.insecure)
    throw SettingsError(keys.what + ": " + endpoint + " is not a loopback address and no keys are set: anyone on that network could " +
                        "read the volumes or send their own. Make keys with `hyper keys` and set them, or pass --insecure");
  spdlog::warn("{}: {} is served WITHOUT encryption or authentication (--insecure): anyone who reaches it can read and inject",
               keys.what, endpoint);
  return "insecure";
}

std::string secure_client(zmq::socket_t& s, const LinkKeys& keys, const std::string& endpoint) {
  if (keys.configured()) {
    if (keys.server_public.empty()) throw SettingsError(keys.what + ": the server's public key is needed with a key pair");
    s.set(zmq::sockopt::curve_serverkey, keys.server_public);
    s.set(zmq::sockopt::curve_publickey, keys.own->public_key);
    s.set(zmq::sockopt::curve_secretkey, keys.own->secret_key);
    return "curve";
  }
  if (is_local_endpoint(endpoint)) return "loopback";
  if (!keys.insecure)
    throw SettingsError(keys.what + ": " + endpoint + " is not a loopback address and no keys are set: the volumes would cross " +
                        "the network in clear, from a publisher nobody checked. Set the keys (hyper keys), or pass --insecure");
  spdlog::warn("{}: connecting to {} WITHOUT encryption or authentication (--insecure)", keys.what, endpoint);
  return "insecure";
}

ZapHandler::ZapHandler(zmq::context_t& ctx, std::set<std::string> allowed)
    : socket_(ctx, zmq::socket_type::rep), allowed_(std::move(allowed)) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");  // the one address ZeroMQ asks, per context
  thread_ = std::jthread([this](std::stop_token st) { loop(st); });
}

ZapHandler::~ZapHandler() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::loop(std::stop_token stop) {
  RateLimitedLog log;
  std::vector<zmq::message_t> req;
  while (!stop.stop_requested()) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    req.clear();
    if (!zmq::recv_multipart(socket_, std::back_inserter(req), zmq::recv_flags::dontwait)) continue;
    // [version, request id, domain, address, identity, mechanism, credentials...]
    std::string key(40, '\0');
    const bool curve = req.size() >= 7 && req[5].to_string_view() == "CURVE" && req[6].size() == 32 &&
                       zmq_z85_encode(key.data(), static_cast<const uint8_t*>(req[6].data()), 32) != nullptr;
    key.resize(curve ? 40 : 0);
    const bool ok = curve && allowed_.count(key) > 0;
    if (!ok) {
      ++refused_;
      log.warn("zap", fmt::format("refused a peer from {}: {}", req.size() > 3 ? req[3].to_string() : "?",
                                  curve ? "its key " + key + " is not among the allowed clients" : "it did not use CURVE"));
    }
    std::vector<zmq::const_buffer> reply{zmq::str_buffer("1.0"), zmq::buffer(req.size() > 1 ? req[1].to_string_view() : ""),
                                         ok ? zmq::str_buffer("200") : zmq::str_buffer("400"),
                                         ok ? zmq::str_buffer("OK") : zmq::str_buffer("not allowed"), zmq::buffer(key),
                                         zmq::str_buffer("")};
    zmq::send_multipart(socket_, reply);
  }
}

}  // namespace hyper

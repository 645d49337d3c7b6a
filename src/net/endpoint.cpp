#include "net/endpoint.hpp"

#include <cerrno>
#include <stdexcept>

#include "core/settings.hpp"

namespace hyper {

void check_endpoint(const std::string& endpoint, const std::string& what) {
  const auto sep = endpoint.find("://");
  const std::string transport = sep == std::string::npos ? "" : endpoint.substr(0, sep);
  if (transport != "tcp" && transport != "ipc" && transport != "inproc")
    throw std::invalid_argument(what + ": '" + endpoint +
                                "' is not a ZeroMQ endpoint (tcp://HOST:PORT, ipc://PATH or inproc://NAME)");
  if (endpoint.size() == sep + 3) throw std::invalid_argument(what + ": '" + endpoint + "' has no address");
  if (transport == "tcp" && endpoint.rfind(':') <= sep + 2)
    throw std::invalid_argument(what + ": '" + endpoint + "' has no port (tcp://HOST:PORT)");
}

void bind_endpoint(zmq::socket_t& socket, const std::string& endpoint, const std::string& what) {
  try {
    socket.bind(endpoint);
  } catch (const zmq::error_t& e) {
    throw SettingsError(what + ": cannot bind " + endpoint + ": " + e.what() +
                        (e.num() == EADDRINUSE ? " (another program holds this port, perhaps an earlier hyper still running: "
                                                 "stop it, or give another port)"
                                               : ""));
  }
}

bool is_local_endpoint(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0) return true;
  if (endpoint.rfind("tcp://", 0) != 0) return false;
  const std::string rest = endpoint.substr(6);
  const std::string host = rest.substr(0, rest.rfind(':'));
  return host == "localhost" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

}  // namespace hyper

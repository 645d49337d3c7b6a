#pragma once
// ZeroMQ endpoint strings: validation and whether binding one exposes us beyond this machine.

#include <string>

#include <zmq.hpp>

namespace hyper {

// "tcp://127.0.0.1:5555", "tcp://[::1]:5555", "tcp://localhost:5555", "ipc://...", "inproc://..."
// are local. Wildcards (tcp://*:5555, 0.0.0.0) and any other host are not.
bool is_local_endpoint(const std::string& endpoint);

// Throws std::invalid_argument naming `what` (the key or flag) when the endpoint is not
// transport://address with a known transport (tcp, ipc, inproc).
void check_endpoint(const std::string& endpoint, const std::string& what);

// socket.bind(endpoint); a failure (the port in use, an address not on this machine) is a
// SettingsError naming the endpoint, `what` (key and flag) and the fix.
void bind_endpoint(zmq::socket_t& socket, const std::string& endpoint, const std::string& what);

}  // namespace hyper

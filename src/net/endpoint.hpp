#pragma once
// ZeroMQ endpoint strings: validation and whether binding one exposes us beyond this machine.

#include <string>

namespace hyper {

// "tcp://127.0.0.1:5555", "tcp://[::1]:5555", "tcp://localhost:5555", "ipc://...", "inproc://..."
// are local. Wildcards (tcp://*:5555, 0.0.0.0) and any other host are not.
bool is_local_endpoint(const std::string& endpoint);

// Throws std::invalid_argument naming `what` (the key or flag) when the endpoint is not
// transport://address with a known transport (tcp, ipc, inproc).
void check_endpoint(const std::string& endpoint, const std::string& what);

}  // namespace hyper

#pragma once
// Ctrl-C (SIGINT) and SIGTERM handling: the handler only sets a flag; long loops poll it
// through their timeouts (every blocking call in HYPER-RT has one) and wind down cleanly.

#include <stdexcept>

namespace hyper {

void install_interrupt_handler();   // idempotent; call from main before starting threads
bool interrupted();                 // true once SIGINT or SIGTERM arrived
void request_interrupt();           // what the handler does; also for tests

// Thrown by work that cannot stop halfway with a usable result (offline passes over a run):
// the command ends with exit code 130.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted (Ctrl-C or SIGTERM)") {}
};

}  // namespace hyper

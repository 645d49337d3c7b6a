#pragma once
// Ctrl-C (SIGINT) and SIGTERM handling: the handler only sets a flag; long loops poll it
// through their timeouts (every blocking call in HYPER-RT has one) and wind down cleanly.

namespace hyper {

void install_interrupt_handler();   // idempotent; call from main before starting threads
bool interrupted();                 // true once SIGINT or SIGTERM arrived
void request_interrupt();           // what the handler does; also for tests

}  // namespace hyper

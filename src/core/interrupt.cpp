#include "core/interrupt.hpp"

#include <atomic>
#include <csignal>

namespace hyper {

namespace {
// Lock-free atomic: the only kind of shared state a signal handler may touch.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_signal(int) { g_interrupted.store(true); }
}  // namespace

void install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

void request_interrupt() { g_interrupted.store(true); }

}  // namespace hyper

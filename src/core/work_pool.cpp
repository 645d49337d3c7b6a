#include "core/work_pool.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

#include <pthread.h>
#include <sched.h>

namespace hyper {

namespace {

// Waits that spin briefly before sleeping: a kernel wake-up costs 50-200 us on a VM, as much
// as a chunk of work, and a volume's kernels call run() several times in a row.
constexpr auto kSpin = std::chrono::microseconds(300);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

template <class Ready>
bool spin_until(Ready ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return false;
  }
}

}  // namespace

WorkPool::WorkPool(int threads) {
  for (int t = 1; t < std::max(threads, 1); ++t) helpers_.emplace_back([this] { helper_loop(); });
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &allowed)) allowed_cpus_.push_back(c);
}

// Linux wakes a sleeping thread on its waker's CPU when it judges that cache-friendly; the
// helper then queues behind the caller while the other core idles (measured on this
// project's 2-core VM: every other loop ran on one CPU). So helpers may run on any CPU the
// process may use except the caller's, re-set only when the caller moved.
void WorkPool::keep_helpers_off(int cpu) {
  if (cpu == caller_cpu_ || cpu < 0 || allowed_cpus_.size() < 2) return;
  caller_cpu_ = cpu;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : allowed_cpus_)
    if (c != cpu) CPU_SET(c, &set);
  for (std::thread& t : helpers_) pthread_setaffinity_np(t.native_handle(), sizeof set, &set);
}

WorkPool& WorkPool::of_this_thread(int threads) {
  thread_local std::map<int, std::unique_ptr<WorkPool>> pools;
  std::unique_ptr<WorkPool>& p = pools[std::max(threads, 1)];
  if (!p) p = std::make_unique<WorkPool>(threads);
  return *p;
}

WorkPool::~WorkPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread& t : helpers_) t.join();
}

void WorkPool::run(int64_t chunks, const std::function<void(int64_t)>& fn) {
  if (chunks <= 0) return;
  if (helpers_.empty() || chunks == 1) {  // nothing to share: no locking, no wake-up
    for (int64_t c = 0; c < chunks; ++c) fn(c);
    return;
  }
  keep_helpers_off(sched_getcpu());
  bool sleepers = false;
  {
    std::lock_guard lock(mutex_);
    fn_ = &fn;
    chunks_ = chunks;
    next_ = 0;
    finished_.store(0);
    error_ = nullptr;
    generation_.fetch_add(1);
    sleepers = sleeping_ > 0;
  }
  if (sleepers) wake_.notify_all();
  work();
  if (!spin_until([&] { return finished_.load() == chunks; })) {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return finished_.load() == chunks_; });
  }
  std::lock_guard lock(mutex_);
  fn_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

void WorkPool::work() {
  std::unique_lock lock(mutex_);
  while (next_ < chunks_) {
    const int64_t c = next_++;
    const auto* fn = fn_;
    lock.unlock();
    std::exception_ptr error;
    try {
      (*fn)(c);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !error_) error_ = error;
    if (finished_.fetch_add(1) + 1 == chunks_) done_.notify_all();
  }
}

void WorkPool::helper_loop() {
  uint64_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return generation_.load() != seen; })) {
      std::unique_lock lock(mutex_);
      ++sleeping_;
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      --sleeping_;
    }
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
      seen = generation_.load();
    }
    work();
  }
}

}  // namespace hyper

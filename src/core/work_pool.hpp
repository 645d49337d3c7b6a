#pragma once
// A few threads that share the chunks of one loop, for per-volume kernels (realignment,
// smoothing, resampling) on the TR's critical path. The caller works too, so `threads` = 2
// starts one helper. A reduction cuts its work into a fixed number of chunks, never one
// derived from the thread count, and sums their partial results in chunk order, so the
// result is the same bit for bit with 1 thread or 8 (online equals offline on any machine);
// a loop that only writes each value may cut by map_chunks(). Helpers spin for 0.3 ms after
// a loop (the next one of the same volume follows at once), then sleep.
// One owner: run() is not reentrant and not called from two threads at once.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hyper {

class WorkPool {
 public:
  explicit WorkPool(int threads = 1);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  int threads() const { return static_cast<int>(helpers_.size()) + 1; }
  // How many chunks a loop without a reduction should be cut into: a few per thread, so that
  // when one thread is slowed (on a VM, its vCPU taken by the host) the others take its
  // share instead of waiting for half the loop.
  int64_t map_chunks() const { return threads() == 1 ? 1 : 4 * threads(); }
  // The calling thread's pool of this size, made at first use and ended with the thread.
  // Stages share it, so between one stage's loops and the next's the helpers are still
  // spinning, not asleep; chains on other threads (training beside a live run) get their own.
  static WorkPool& of_this_thread(int threads);
  // Calls fn(c) once for every c in [0, chunks) and returns when all have returned; the
  // first exception thrown by any of them is rethrown here.
  void run(int64_t chunks, const std::function<void(int64_t)>& fn);

 private:
  void helper_loop();
  void keep_helpers_off(int cpu);
  void work();  // takes chunks until none is left

  std::vector<std::thread> helpers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t chunks_ = 0, next_ = 0;     // under mutex_
  std::atomic<int64_t> finished_{0};  // chunks done (read without the lock while waiting)
  std::atomic<uint64_t> generation_{0};  // one more for every run() and for the end
  int sleeping_ = 0;                     // helpers waiting on wake_ (under mutex_)
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<int> allowed_cpus_;  // the process's CPUs when the pool was made
  int caller_cpu_ = -1;            // the CPU the helpers were last kept off
};

// [begin, end) of chunk c when n items are cut into `chunks` nearly equal parts.
inline std::pair<int64_t, int64_t> chunk_range(int64_t n, int64_t chunks, int64_t c) {
  return {n * c / chunks, n * (c + 1) / chunks};
}

}  // namespace hyper

#pragma once
// A one-item hand-over where the newest item wins (DESIGN.md: the generator takes the
// newest latent; older ones are skipped and counted). Thread-safe, one producer and one
// consumer.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

namespace hyper {

template <typename T>
class LatestSlot {
 public:
  // Returns true when it replaced an item nobody took (a skip, for the caller to count).
  bool put(T item) {
    std::lock_guard lock(mutex_);
    const bool replaced = item_.has_value();
    item_ = std::move(item);
    ready_.notify_one();
    return replaced;
  }

  // The item, or nothing after `timeout` or once closed and empty.
  std::optional<T> take(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return item_.has_value() || closed_; });
    std::optional<T> out = std::move(item_);
    item_.reset();
    return out;
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_all();
  }
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::optional<T> item_;
  bool closed_ = false;
};

}  // namespace hyper

#pragma once
// The run bookkeeping of a source that receives on a thread of its own and whose sender
// does not frame runs (Pyneal Scanner, a watched export folder): opens a run, puts its
// volumes back in order (ReorderWindow), hands them to the Session through a bounded queue,
// counts what it refuses by reason, and ends the run with its accounting (RunEnd,
// summary.json). The receiving thread calls everything but next(), closed() and dropped().

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/bounded_queue.hpp"
#include "core/reorder_window.hpp"
#include "hyper/source.hpp"

namespace hyper {

// No run has more volumes: a larger index is refused (its gap would fill a disk with nothing).
inline constexpr int64_t kMaxRunVolumes = 100000;

struct RunFeedOptions {
  std::string protocol;              // "pyneal", "watch": in summary.json
  size_t queue_capacity = 64;
  size_t reorder = 2;                // volumes held behind a missing one
  double tr_s = 0;                   // also: a missing one is given up after half a TR
  int64_t count = 0;                 // volumes in a run; 0: not known
};

class RunFeed {
 public:
  explicit RunFeed(RunFeedOptions o);

  bool open() const { return !run_.empty(); }
  const std::string& run() const { return run_; }
  void open_run(const std::string& run);
  // A volume of the open run (its index set); what is now in order goes to the Session.
  void add(std::unique_ptr<Tr> tr);
  void flush_due();  // what waited half a TR behind a gap
  // Ends the open run (if any): what is held goes on, then its RunEnd.
  void end_run(const std::string& why, nlohmann::json extra = nlohmann::json::object());
  void drop(const std::string& reason, const std::string& what);  // counted for the open run and in all
  void close() { queue_.close(); }

  // The Session's side.
  std::optional<SourceEvent> next(std::chrono::milliseconds timeout) { return queue_.pop(timeout); }
  bool finished() const { return queue_.closed() && queue_.size() == 0; }
  int64_t dropped() const { return dropped_total_; }

 private:
  void deliver(std::vector<std::unique_ptr<Tr>>& ready);

  RunFeedOptions o_;
  BoundedQueue<SourceEvent> queue_;
  ReorderWindow<std::unique_ptr<Tr>> window_;
  std::atomic<int64_t> dropped_total_{0};
  std::string run_;
  int64_t received_ = 0;
  std::map<std::string, int64_t> dropped_;
};

// A source that receives on a thread of its own (receive(), until stop_) and hands runs to
// the Session through a RunFeed; an open run gets its end when it stops.
class FeedSource : public Source {
 public:
  explicit FeedSource(RunFeedOptions o) : feed_(std::move(o)) {}
  void start() override {
    thread_ = std::thread([this] {
      try {
        receive();
      } catch (const std::exception& e) {  // never std::terminate: the run ends, the Session is told
        spdlog::error("{}: receiving stopped: {}", describe(), e.what());
        feed_.end_run("error");
      }
      feed_.end_run("shutdown");
      feed_.close();
    });
  }
  bool finished() const override { return feed_.finished(); }
  int64_t dropped() const override { return feed_.dropped(); }
  void stop() override {  // a derived source calls it in its destructor, before its members go
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::optional<SourceEvent> next(std::chrono::milliseconds timeout) override { return feed_.next(timeout); }

 protected:
  virtual void receive() = 0;
  RunFeed feed_;
  std::atomic<bool> stop_{false};

 private:
  std::thread thread_;
};

}  // namespace hyper

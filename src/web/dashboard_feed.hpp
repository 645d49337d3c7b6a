#pragma once
// The dashboard's event feed (README, "The experimenter's dashboard"): every message the
// page needs (one JSON object per TR, face, run start and end, warning), handed to any
// number of browsers without ever waiting for one.
//
// A browser that connects late first gets the messages kept for it (the session plan, the
// earlier runs' ends and the current run so far, bounded), then live ones. Live messages
// sit in one ring shared by all browsers; each browser has a cursor in it, and one that
// falls more than `client_queue` messages behind loses the oldest (counted, per browser and
// in total). publish() takes one short lock and copies one pointer: it never blocks on a
// browser.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hyper {

using Message = std::shared_ptr<const std::string>;

struct FeedOptions {
  size_t history = 20000;     // messages of the current run kept for a browser that connects late
  size_t client_queue = 512;  // live messages a browser may fall behind before the oldest are dropped
};

class DashboardFeed {
 public:
  // What a message is kept for, for browsers that connect later.
  enum class Keep : uint8_t {
    Live,     // only sent live (a face, whose image is gone by then)
    Run,      // part of the current run: kept until the next run starts
    Session,  // kept for the whole session (the plan, each run's end)
    RunStart  // starts a new run: the previous run's messages are let go
  };

  struct Client {
    uint64_t next = 0;        // the next live message's sequence number
    int64_t dropped = 0;      // live messages it fell too far behind to get
    bool started = false;     // got its history
  };

  explicit DashboardFeed(FeedOptions o = {}) : o_(o) {}

  void publish(std::string json, Keep keep);

  std::shared_ptr<Client> join();
  void leave(const std::shared_ptr<Client>& c);
  // The client's next messages (its history first), waiting up to `wait` for one; empty when
  // none came or the feed was closed.
  std::vector<Message> next(Client& c, std::chrono::milliseconds wait);
  void close();
  bool closed() const;

  struct Counts {
    int64_t published = 0, clients = 0, dropped = 0, history = 0;
  };
  Counts counts() const;

 private:
  FeedOptions o_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Message> ring_;  // live messages ring_front_seq_ .. seq_-1
  uint64_t seq_ = 0, ring_front_seq_ = 0;
  std::vector<std::pair<Keep, Message>> kept_;  // for late joiners, in the order published
  size_t kept_run_ = 0;                          // of which the current run's
  std::vector<std::shared_ptr<Client>> clients_;
  int64_t dropped_ = 0;
  bool closed_ = false;
};

}  // namespace hyper

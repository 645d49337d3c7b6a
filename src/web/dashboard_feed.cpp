#include "web/dashboard_feed.hpp"

#include <algorithm>

namespace hyper {

void DashboardFeed::publish(std::string json, Keep keep) {
  auto m = std::make_shared<const std::string>(std::move(json));
  {
    std::lock_guard lock(mutex_);
    if (keep == Keep::RunStart) {  // the previous run's messages go; the session's stay, in order
      std::erase_if(kept_, [](const auto& k) { return k.first != Keep::Session; });
      kept_run_ = 0;
    }
    if (keep == Keep::Session || ((keep == Keep::Run || keep == Keep::RunStart) && kept_run_ < o_.history)) {
      kept_.emplace_back(keep, m);
      kept_run_ += keep != Keep::Session;
    }
    ring_.push_back(m);
    ++seq_;
    while (ring_.size() > o_.client_queue) {
      ring_.pop_front();
      ++ring_front_seq_;
    }
    // A browser further behind than the ring loses its oldest message now, so the count is
    // right while it is stuck (in a write to a browser that stopped reading).
    for (const auto& c : clients_)
      if (c->started && c->next < ring_front_seq_) {
        c->dropped += static_cast<int64_t>(ring_front_seq_ - c->next);
        dropped_ += static_cast<int64_t>(ring_front_seq_ - c->next);
        c->next = ring_front_seq_;
      }
  }
  cv_.notify_all();
}

std::shared_ptr<DashboardFeed::Client> DashboardFeed::join() {
  auto c = std::make_shared<Client>();
  std::lock_guard lock(mutex_);
  clients_.push_back(c);
  return c;
}

void DashboardFeed::leave(const std::shared_ptr<Client>& c) {
  std::lock_guard lock(mutex_);
  clients_.erase(std::remove(clients_.begin(), clients_.end(), c), clients_.end());
}

std::vector<Message> DashboardFeed::next(Client& c, std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  std::vector<Message> out;
  if (!c.started) {  // what was kept, then live from here on
    c.started = true;
    c.next = seq_;
    out.reserve(kept_.size());
    for (const auto& k : kept_) out.push_back(k.second);
    if (!out.empty()) return out;
  }
  cv_.wait_for(lock, wait, [&] { return closed_ || c.next < seq_; });
  for (; c.next < seq_; ++c.next) out.push_back(ring_[static_cast<size_t>(c.next - ring_front_seq_)]);
  return out;
}

void DashboardFeed::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool DashboardFeed::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

DashboardFeed::Counts DashboardFeed::counts() const {
  std::lock_guard lock(mutex_);
  return {static_cast<int64_t>(seq_), static_cast<int64_t>(clients_.size()), dropped_,
          static_cast<int64_t>(kept_.size())};
}

}  // namespace hyper

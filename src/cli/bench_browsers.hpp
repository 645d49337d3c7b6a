#pragma once
// Browsers for `hyper bench` (bench.browsers): while a variant with a dashboard runs, this
// many clients read its event stream as a page's EventSource does (reconnecting until the
// stream's dashboard is up) and fetch each new face's image as the page does, so the cost of
// serving them shows in the variant's latency (their drawing is not: a browser runs it).

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace hyper {

class BenchBrowsers {
 public:
  // `listen`: the variant's dashboard.listen (PORT or ADDR:PORT); nothing when empty or n = 0.
  BenchBrowsers(const std::string& listen, int n);
  ~BenchBrowsers();  // disconnects them
  BenchBrowsers(const BenchBrowsers&) = delete;
  BenchBrowsers& operator=(const BenchBrowsers&) = delete;

  int64_t messages() const { return messages_; }  // event-stream messages the browsers got, in all

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> messages_{0};
  std::vector<std::thread> threads_;
};

}  // namespace hyper

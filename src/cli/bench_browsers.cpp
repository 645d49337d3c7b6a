#include "cli/bench_browsers.hpp"

#include <httplib.h>

#include <chrono>

#include "web/dashboard_server.hpp"

namespace hyper {

BenchBrowsers::BenchBrowsers(const std::string& listen, int n) {
  if (listen.empty()) return;
  DashboardAddress a = parse_dashboard_address(listen);
  if (a.host == "0.0.0.0") a.host = "127.0.0.1";
  for (int i = 0; i < n; ++i)
    threads_.emplace_back([this, a] {
      while (!stop_) {
        httplib::Client c(a.host, a.port), images(a.host, a.port);
        c.set_read_timeout(1, 0);  // the loop looks at stop_ at least every second
        c.Get("/events", [&](const char* data, size_t len) {
          for (std::string_view s(data, len); !s.empty();) {  // one message per "data:" line
            const auto at = s.find("data:");
            if (at == std::string_view::npos) break;
            ++messages_;
            s.remove_prefix(at + 5);
            // A new face: the page loads its image, as each of these browsers does.
            if (s.starts_with(R"( {"type":"face")") && s.substr(0, s.find('\n')).find(R"("screen_ms":null)") != std::string_view::npos)
              images.Get("/face.jpg");
          }
          return !stop_;
        });
        if (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // not up yet, or gone: again
      }
    });
}

BenchBrowsers::~BenchBrowsers() {
  stop_ = true;
  for (auto& t : threads_) t.join();
}

}  // namespace hyper

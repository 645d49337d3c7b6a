#pragma once
// The dashboard's HTTP server (cpp-httplib, Debian's libcpp-httplib-dev: a thread per
// connection from a pool, and chunked responses for Server-Sent Events). It serves the page
// (embedded in the binary: no internet at the scanner), the live feed at /events, the newest
// face at /face.jpg and /truth.jpg, /api/state and /api/run/RUN/tr.tsv. Off loopback every
// request must carry the token (?token=, as Jupyter does); run ids are checked, so no path
// outside the output folder is ever read.

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <atomic>
#include <thread>

#include "web/dashboard_feed.hpp"

namespace httplib {
class Server;
struct Request;
}

namespace hyper {

struct DashboardAddress {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: a free port
  bool loopback = true;
};
// "PORT" (loopback) or "ADDR:PORT"; throws std::invalid_argument saying what is wrong.
DashboardAddress parse_dashboard_address(const std::string& text);

// A random token of 32 hex digits (std::random_device).
std::string random_token();

struct DashboardServerOptions {
  DashboardAddress address;
  std::string token;              // "" : none asked for (loopback)
  std::filesystem::path out;      // where /api/run/RUN/tr.tsv is read; "" : nothing recorded
  int max_streams = 16;           // /events connections at once (each holds a thread)
};

struct DashboardHandlers {
  std::function<std::string()> state_json;                       // /api/state
  std::function<std::string(const std::string& which)> image;    // "face" / "truth": JPEG bytes, "" none yet
};

class DashboardServer {
 public:
  DashboardServer(DashboardFeed& feed, DashboardServerOptions o, DashboardHandlers h);
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  int port() const { return port_; }
  std::string url() const;  // with the token when one is needed

 private:
  void routes();
  bool allowed(const httplib::Request& req) const;

  DashboardFeed& feed_;
  DashboardServerOptions o_;
  DashboardHandlers h_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<int> streams_{0};
  std::thread thread_;
};

}  // namespace hyper

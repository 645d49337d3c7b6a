#include "web/dashboard_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "net/protocol.hpp"
#include "web/dashboard_assets.hpp"

namespace hyper {

namespace fs = std::filesystem;

DashboardAddress parse_dashboard_address(const std::string& text) {
  DashboardAddress a;
  const auto colon = text.rfind(':');
  std::string port = text;
  if (colon != std::string::npos) {
    a.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
    if (a.host.empty()) throw std::invalid_argument("'" + text + "' has no address before the ':' (give PORT or ADDR:PORT)");
  }
  size_t used = 0;
  try {
    a.port = std::stoi(port, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != port.size() || port.empty() || a.port < 0 || a.port > 65535)
    throw std::invalid_argument("'" + text + "' is not PORT or ADDR:PORT (a port is 0..65535; 0 takes a free one)");
  if (a.host == "localhost") a.host = "127.0.0.1";
  a.loopback = a.host.rfind("127.", 0) == 0 || a.host == "::1";
  return a;
}

std::string random_token() {
  std::random_device rd;
  std::string t;
  for (int i = 0; i < 4; ++i) t += fmt::format("{:08x}", rd());
  return t;
}

DashboardServer::DashboardServer(DashboardFeed& feed, DashboardServerOptions o, DashboardHandlers h)
    : feed_(feed), o_(std::move(o)), h_(std::move(h)), server_(std::make_unique<httplib::Server>()) {
  // Each /events connection holds a pool thread: room for them and the other requests.
  const int threads = o_.max_streams + 4;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server_->set_write_timeout(5, 0);  // a browser that takes nothing for 5 s is let go (it reconnects)
  // A fixed send buffer (connections inherit it from the listening socket): a browser that
  // stops reading holds 64 KiB in the kernel, not the 4 MiB autotuning may grow to, and the
  // feed's drop-oldest bound is what holds its backlog.
  server_->set_socket_options([](int sock) {
    httplib::default_socket_options(sock);
    const int bytes = 64 * 1024;
    ::setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  });
  routes();
  port_ = o_.address.port == 0 ? server_->bind_to_any_port(o_.address.host) : o_.address.port;
  if (port_ <= 0 || (o_.address.port != 0 && !server_->bind_to_port(o_.address.host, o_.address.port)))
    throw std::runtime_error(fmt::format("dashboard: cannot listen on {}:{} (in use, or not an address of this PC)", o_.address.host,
                                         o_.address.port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

DashboardServer::~DashboardServer() {
  feed_.close();  // every /events connection ends
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string DashboardServer::url() const {
  const std::string host = o_.address.host == "0.0.0.0" || o_.address.host == "::" ? "THIS-PC" : o_.address.host;
  return fmt::format("http://{}:{}/{}", host.find(':') != std::string::npos ? "[" + host + "]" : host, port_,
                     o_.token.empty() ? "" : "?token=" + o_.token);
}

bool DashboardServer::allowed(const httplib::Request& req) const {
  if (o_.token.empty()) return true;
  const std::string given = req.get_param_value("token");
  if (given.size() != o_.token.size()) return false;
  unsigned diff = 0;  // compared in constant time
  for (size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned>(given[i] ^ o_.token[i]);
  return diff == 0;
}

void DashboardServer::routes() {
  using httplib::Request;
  using httplib::Response;
  auto guard = [this](auto handler) {
    return [this, handler](const Request& req, Response& res) {
      res.set_header("Cache-Control", "no-store");
      if (!allowed(req)) {
        res.status = 403;
        res.set_content("this dashboard needs its token: open the address hyper printed at start (it ends in ?token=...)\n",
                        "text/plain");
        return;
      }
      handler(req, res);
    };
  };
  server_->Get("/", guard([](const Request&, Response& res) { res.set_content(dashboard_html(), "text/html; charset=utf-8"); }));
  // The page's code holds nothing of the session: served without the token (a <script> sends none).
  server_->Get("/dashboard.js", [](const Request&, Response& res) { res.set_content(dashboard_js(), "text/javascript; charset=utf-8"); });
  server_->Get("/api/state", guard([this](const Request&, Response& res) { res.set_content(h_.state_json(), "application/json"); }));
  server_->Get(R"(/(face|truth)\.jpg)", guard([this](const Request& req, Response& res) {
                 const std::string png = h_.image(req.matches[1]);
                 if (png.empty()) {
                   res.status = 404;
                   res.set_content("no face yet\n", "text/plain");
                 } else {
                   res.set_content(png, "image/jpeg");
                 }
               }));
  server_->Get(R"(/api/run/(.*)/tr\.tsv)", guard([this](const Request& req, Response& res) {
                 const std::string run = req.matches[1];
                 if (!valid_run_id(run)) {  // no '/', no '..': nothing outside the output folder
                   res.status = 400;
                   res.set_content("'" + run + "' is not a run id (letters, digits, - _ . ; no path)\n", "text/plain");
                   return;
                 }
                 const fs::path file = o_.out / run / "tr.tsv";
                 std::error_code ec;
                 if (o_.out.empty() || !fs::is_regular_file(file, ec)) {
                   res.status = 404;
                   res.set_content(o_.out.empty() ? "this stream records nothing (no --out)\n" : "no run " + run + " recorded\n",
                                   "text/plain");
                   return;
                 }
                 std::ifstream in(file, std::ios::binary);
                 std::ostringstream text;
                 text << in.rdbuf();
                 res.set_content(text.str(), "text/tab-separated-values");
               }));
  server_->Get("/events", guard([this](const Request&, Response& res) {
                 if (streams_.fetch_add(1) >= o_.max_streams) {
                   streams_.fetch_sub(1);
                   res.status = 503;
                   res.set_content(fmt::format("{} dashboards are open already (dashboard.max_browsers)\n", o_.max_streams),
                                   "text/plain");
                   return;
                 }
                 auto client = feed_.join();
                 res.set_chunked_content_provider(
                     "text/event-stream",
                     [this, client, idle = 0](size_t offset, httplib::DataSink& sink) mutable {
                       // First the state (the page starts afresh), then what was kept, then live.
                       std::string text = offset == 0 ? "retry: 1000\ndata: {\"type\":\"hello\",\"state\":" + h_.state_json() + "}\n\n" : "";
                       const std::vector<Message> batch = feed_.next(*client, std::chrono::milliseconds(offset == 0 ? 0 : 1000));
                       if (feed_.closed()) return false;
                       for (const Message& m : batch) text += "data: " + *m + "\n\n";
                       if (text.empty() && ++idle >= 10) text = ": still here\n\n", idle = 0;  // finds a vanished browser
                       return text.empty() || sink.write(text.data(), text.size());
                     },
                     [this, client](bool) {
                       feed_.leave(client);
                       streams_.fetch_sub(1);
                     });
               }));
}

}  // namespace hyper

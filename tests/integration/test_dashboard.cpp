// The experimenter's dashboard (README, "The experimenter's dashboard"): `hyper stream
// --dashboard` during a twin run, read as a browser reads it (Server-Sent Events, the
// JSON API, the face) and by a real headless chromium (tools/browser_check.py, DevTools).
#include <doctest/doctest.h>

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include <nlohmann/json.hpp>

#include "io/nifti.hpp"
#include "io/tsv.hpp"
#include "net/publisher.hpp"
#include "net/replayer.hpp"
#include "stream_support.hpp"
#include "support.hpp"
#include "twin_support.hpp"

using namespace hyper;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct Fixture {
  test::TempDir d;
  RunFile file = test::small_twin(d);
  NiftiRun nifti = read_nifti(file.path);
  std::filesystem::path decoder = d / "dec.safetensors";
  int port = test::free_tcp_port(), dash = test::free_tcp_port();
  zmq::context_t ctx{1};
  Fixture() { test::random_decoder_file(file, R"(["realign", "mask", "detrend", "zscore"])", decoder); }

  std::unique_ptr<test::Process> stream(std::vector<std::string> extra, const std::string& log = "stream.log") {
    auto args = test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--decoder", decoder.string(), "--out",
                                 (d / "out").string(), "--dashboard", "127.0.0.1:" + std::to_string(dash), "--log-level", "info"});
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<test::Process>(args, d / log);
  }

  // Run `run` of `count` volumes (the twin's, over and over), `pause` between them.
  void send_run(Publisher& pub, const std::string& run, int64_t count, std::chrono::milliseconds pause) {
    const int64_t have = nifti.info.dims[3];
    VolumeHeader h = volume_header(nifti.info, run, read_nifti_info(file.path).tr_s);
    h.dtype = DType::Float32, h.scl_slope = 1, h.scl_inter = 0, h.n_volumes = count;
    REQUIRE(pub.send_control({.type = ControlType::RunStart, .run = run, .count = count, .tr_s = h.tr_s}));
    for (int64_t k = 0; k < count; ++k) {
      const std::vector<float> v = nifti.volume(k % have).data;
      h.index = k;
      REQUIRE(pub.send_volume(h, std::as_bytes(std::span(v))));
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
    REQUIRE(pub.send_control({.type = ControlType::RunEnd, .run = run, .volumes_sent = count}));
  }

  httplib::Client http() const {
    httplib::Client c("127.0.0.1", dash);
    c.set_read_timeout(30, 0);
    return c;
  }

  // Waits until the dashboard answers (the stream has started).
  void wait_dashboard() const {
    for (int i = 0; i < 300; ++i) {
      if (auto r = http().Get("/api/state"); r && r->status == 200) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL("the dashboard did not answer on port " << dash);
  }

  json state() const {
    auto r = http().Get("/api/state");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return json::parse(r->body);
  }
};

// A browser's EventSource, in a thread: every `data:` message until one of type `until`.
struct EventReader {
  std::vector<json> messages;
  std::thread thread;
  EventReader(int port, std::string until) {
    thread = std::thread([this, port, until] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(60, 0);
      std::string buffer;
      c.Get("/events", [&](const char* data, size_t n) {
        buffer.append(data, n);
        for (size_t end; (end = buffer.find("\n\n")) != std::string::npos; buffer.erase(0, end + 2)) {
          const std::string event = buffer.substr(0, end);
          for (size_t at = 0; (at = event.find("data: ", at)) != std::string::npos; at += 6) {
            messages.push_back(json::parse(event.substr(at + 6, event.find('\n', at) - at - 6)));
            if (messages.back()["type"] == until) return false;
          }
        }
        return true;
      });
    });
  }
  ~EventReader() {
    if (thread.joinable()) thread.join();
  }
  std::vector<int64_t> tr_indices(const std::string& run) const {
    std::vector<int64_t> out;
    for (const json& m : messages)
      if (m["type"] == "tr" && m["run"] == run) out.push_back(m["i"]);
    return out;
  }
};

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) v[static_cast<size_t>(k)] = k;
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

TEST_CASE("the dashboard's event stream carries every TR of a twin run in order, a late browser gets the run again, and the API serves state, tr.tsv and the face") {
  Fixture f;
  auto s = f.stream({"--faces", "--generator", "procedural", "--resolution", "64"});
  Publisher pub(f.ctx, test::loopback(f.port));
  REQUIRE(pub.wait_for_subscribers(1, 30s) == 1);
  f.wait_dashboard();
  const int64_t n = 40;
  {
    EventReader live(f.dash, "run_end");
    std::this_thread::sleep_for(300ms);  // connected before the run starts
    f.send_run(pub, "r1", n, 20ms);
    live.thread.join();
    INFO(s->output());
    REQUIRE(live.messages.size() > 2);
    CHECK(live.messages[0]["type"] == "hello");
    CHECK(live.tr_indices("r1") == iota(n));
    const json& end = live.messages.back();
    CHECK(end["received"] == n);
    CHECK(end["missing"] == 0);
    const auto faces = std::count_if(live.messages.begin(), live.messages.end(), [](const json& m) { return m["type"] == "face"; });
    CHECK(faces > 0);
    for (const json& m : live.messages)
      if (m["type"] == "tr") {
        CHECK(m["stage_ms"].size() == 5);  // realign mask detrend zscore decode
        CHECK(m["ready_ms"].get<double>() >= 0);
      }
  }
  // A page opened (or reloaded) after the run: the whole run again, then live.
  EventReader late(f.dash, "run_end");
  late.thread.join();
  CHECK(late.tr_indices("r1") == iota(n));

  const json st = f.state();
  CHECK(st["run"] == "r1");
  CHECK(st["index"] == n - 1);
  CHECK(st["state"] == "between runs");
  CHECK(st["runs"][0]["received"] == n);
  CHECK(st["browser_drops"] == 0);

  auto tsv = f.http().Get("/api/run/r1/tr.tsv");
  REQUIRE(tsv);
  CHECK(tsv->status == 200);
  CHECK(tsv->body == test::read_text(f.d / "out" / "r1" / "tr.tsv"));
  CHECK(std::count(tsv->body.begin(), tsv->body.end(), '\n') == n + 1);
  auto face = f.http().Get("/face.jpg");
  REQUIRE(face);
  CHECK(face->status == 200);
  CHECK(face->body.substr(0, 3) == "\xFF\xD8\xFF");  // JPEG
  CHECK(f.http().Get("/")->body.find("<canvas id=\"motion\"") != std::string::npos);

  // No path outside the output folder, however it is spelled.
  for (const char* bad : {"/api/run/..%2F..%2F..%2Fetc%2Fpasswd/tr.tsv", "/api/run/../../../etc/tr.tsv", "/api/run/%2E%2E/tr.tsv",
                          "/api/run/r1%2F..%2F..%2Fsettings.toml%00/tr.tsv"}) {
    auto r = f.http().Get(bad);
    INFO(bad);
    REQUIRE(r);
    CHECK((r->status == 400 || r->status == 404));
    CHECK(r->body.find("root:") == std::string::npos);
  }
  CHECK(f.http().Get("/api/run/..%2F..%2F..%2Fetc%2Fpasswd/tr.tsv")->status == 400);
  CHECK(f.http().Get("/api/run/nothing/tr.tsv")->status == 404);
  s->signal(SIGINT);
  CHECK(s->wait(30s) >= 0);
}

TEST_CASE("a browser that stops reading never holds up the Session: same processing time, its messages dropped and counted") {
  Fixture f;
  auto s = f.stream({"--set", "dashboard.client_queue=8"});
  Publisher pub(f.ctx, test::loopback(f.port));
  REQUIRE(pub.wait_for_subscribers(1, 30s) == 1);
  f.wait_dashboard();
  const int64_t n = 1500;
  auto sent_to_ready = [&](const std::string& run) {
    for (int i = 0; i < 600; ++i) {
      const auto tsv = f.d / "out" / run / "summary.json";
      if (std::filesystem::exists(tsv)) break;
      std::this_thread::sleep_for(50ms);
    }
    const auto ms = read_tsv_column(f.d / "out" / run / "tr.tsv", "sent_to_ready_ms");
    REQUIRE(static_cast<int64_t>(ms.size()) == n);
    return median(ms);
  };
  f.send_run(pub, "alone", n, 4ms);
  const double alone = sent_to_ready("alone");
  // A browser that connects and then reads nothing: a small receive buffer, so it fills at once.
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  const int small = 2048;
  ::setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(f.dash));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string get = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(::send(sock, get.data(), get.size(), 0) == static_cast<ssize_t>(get.size()));
  std::this_thread::sleep_for(300ms);
  CHECK(f.state()["browsers"] == 1);
  f.send_run(pub, "stuck", n, 4ms);
  const double stuck = sent_to_ready("stuck");
  const json st = f.state();
  MESSAGE("sent->ready median: " << alone << " ms alone, " << stuck << " ms with a browser that reads nothing; "
                                 << st["browser_drops"] << " messages dropped for it");
  CHECK(st["browser_drops"].get<int64_t>() > 0);
  CHECK(stuck < 2 * alone + 2.0);  // within noise on a shared machine; blocked would be seconds
  ::close(sock);
  s->signal(SIGINT);
  CHECK(s->wait(30s) >= 0);
}

TEST_CASE("off loopback the dashboard needs --allow-remote, and then every request the token it printed") {
  Fixture f;
  f.dash = test::free_tcp_port();
  const std::string wide = "0.0.0.0:" + std::to_string(f.dash);
  CHECK(test::run(test::hyper_cmd({"stream", "--endpoint", test::loopback(f.port), "--dashboard", wide}), f.d / "refused.log", 60s) == 2);
  CHECK(test::read_text(f.d / "refused.log").find("--allow-remote") != std::string::npos);
  test::Process s(test::hyper_cmd({"stream", "--endpoint", test::loopback(f.port), "--dashboard", wide, "--allow-remote"}),
                  f.d / "remote.log");
  std::string token;
  for (int i = 0; i < 300 && token.empty(); ++i) {
    const std::string out = s.output();
    if (const auto at = out.find("?token="); at != std::string::npos) token = out.substr(at + 7, 32);
    std::this_thread::sleep_for(50ms);
  }
  INFO(s.output());
  REQUIRE(token.size() == 32);
  for (const char* path : {"/", "/api/state", "/events", "/face.jpg", "/api/run/r1/tr.tsv"}) {
    auto r = f.http().Get(path);
    REQUIRE(r);
    CHECK(r->status == 403);
  }
  CHECK(f.http().Get("/api/state?token=" + std::string(32, '0'))->status == 403);
  auto ok = f.http().Get("/api/state?token=" + token);
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(json::parse(ok->body)["state"] == "waiting for the first run");
  CHECK(f.http().Get("/?token=" + token)->status == 200);
  s.signal(SIGINT);
  CHECK(s.wait(30s) >= 0);
}

TEST_CASE("a real browser (headless chromium) shows the run live: the TR number advances and the plots fill") {
  if (test::run({test::python(), "-c", "import websocket, shutil, sys; sys.exit(0 if shutil.which('chromium') else 1)"},
                std::filesystem::temp_directory_path() / "hyper-chromium-check.log", 60s) != 0) {
    MESSAGE("SKIPPED: chromium or python3-websocket is not installed (tools/setup installs both; CI runs this test)");
    return;
  }
  Fixture f;
  auto s = f.stream({"--faces", "--generator", "procedural", "--resolution", "128", "--set",
                     "display.truth=" + (f.d / "twin").string()});
  Publisher pub(f.ctx, test::loopback(f.port));
  REQUIRE(pub.wait_for_subscribers(1, 30s) == 1);
  f.wait_dashboard();
  const std::filesystem::path shot = std::filesystem::path(HYPER_BINARY).parent_path() / "test-artifacts" / "dashboard.png";
  std::filesystem::create_directories(shot.parent_path());
  std::thread sender([&] { f.send_run(pub, f.file.run_id, f.nifti.info.dims[3], 150ms); });  // still live at the screenshot
  std::this_thread::sleep_for(1500ms);
  const auto log = f.d / "browser.json";
  const int rc = test::run({test::python(), std::string(HYPER_SOURCE_DIR) + "/tools/browser_check.py",
                            "http://127.0.0.1:" + std::to_string(f.dash) + "/", "--seconds", "5", "--size", "1400,1300", "--screenshot", shot.string()},
                           log, 90s);
  sender.join();
  INFO(test::read_text(log));
  REQUIRE(rc == 0);
  const std::string text = test::read_text(log);
  const json samples = json::parse(text.substr(text.find("{\"samples\"")))["samples"];
  REQUIRE(samples.size() >= 5);
  const json first = samples[0], last = samples[samples.size() - 1];
  CHECK(last["link"] == "live");
  CHECK(last["tr"].get<int>() > 0);
  CHECK(last["tr"].get<int>() > first["tr"].get<int>());  // live: it advanced while we watched
  for (const char* plot : {"motion", "fd", "stages", "latency"}) CHECK(last["points"][plot].get<int>() >= last["tr"].get<int>() - 1);
  CHECK(last["points"]["decoding"].get<int>() > 0);  // r against the presented face (display.truth)
  CHECK(last["face"].get<int>() == 128);              // the decoded face's image loaded
  CHECK(std::filesystem::file_size(shot) > 10000);
  if (const char* dir = std::getenv("HYPER_SCREENSHOTS")) {
    std::filesystem::copy_file(shot, std::filesystem::path(dir) / "dashboard.png", std::filesystem::copy_options::overwrite_existing);
    MESSAGE("screenshot copied to " << dir);
  }
  s->signal(SIGINT);
  CHECK(s->wait(30s) >= 0);
}

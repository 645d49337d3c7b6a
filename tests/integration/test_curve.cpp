// Keys and encryption (README, "Keys and encryption"): `hyper keys` makes pyzmq-compatible
// certificates; with keys the volumes and resends are CURVE-encrypted (nothing readable on
// the wire) and only listed streams get them; a stream listens only to its publisher; off
// loopback without keys is refused unless --insecure.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/settings.hpp"
#include "net/curve.hpp"
#include "net/publisher.hpp"
#include "net/results.hpp"
#include "stream_support.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

// A volume whose voxels spell a text anyone could find on the wire.
const std::string kMarker = "VOXELS-IN-CLEAR!";

void send_run(Publisher& pub, const std::string& run, int64_t from, int64_t to, int64_t n, bool start, bool end) {
  if (start) REQUIRE(pub.send_control({.type = ControlType::RunStart, .run = run, .count = n, .tr_s = 2.0}));
  for (int64_t k = from; k < to; ++k) {
    std::string voxels;
    while (voxels.size() < 4 * 4 * 4 * sizeof(float)) voxels += kMarker;
    VolumeHeader h;
    h.run = run;
    h.index = k;
    h.tr_s = 2.0;
    h.dims = {4, 4, 4};
    REQUIRE(pub.send_volume(h, std::as_bytes(std::span(voxels.data(), 4 * 4 * 4 * sizeof(float)))));
    std::this_thread::sleep_for(2ms);
  }
  if (end) REQUIRE(pub.send_control({.type = ControlType::RunEnd, .run = run, .volumes_sent = n}));
}

// A TCP relay that keeps a copy of every byte both ways: what an eavesdropper would see.
class Tap {
 public:
  explicit Tap(int upstream_port) : upstream_(upstream_port) {
    listen_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_, 4) == 0);
    socklen_t len = sizeof a;
    getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::jthread([this](std::stop_token st) { relay(st); });
  }
  ~Tap() {
    thread_.request_stop();
    thread_.join();
    close(listen_);
  }
  int port() const { return port_; }
  std::string seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void relay(std::stop_token st) {
    pollfd p{listen_, POLLIN, 0};
    while (!st.stop_requested() && poll(&p, 1, 50) <= 0) {}
    if (st.stop_requested()) return;
    const int down = accept(listen_, nullptr, nullptr);
    const int up = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(upstream_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    char buf[65536];
    while (!st.stop_requested()) {
      pollfd fds[2] = {{down, POLLIN, 0}, {up, POLLIN, 0}};
      if (poll(fds, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        const ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          close(down);
          close(up);
          return;
        }
        {
          std::lock_guard lock(mu_);
          seen_.append(buf, static_cast<size_t>(n));
        }
        (void)!write(i == 0 ? up : down, buf, static_cast<size_t>(n));
      }
    }
    close(down);
    close(up);
  }
  int upstream_, port_ = 0, listen_ = -1;
  std::mutex mu_;
  std::string seen_;
  std::jthread thread_;
};

// This machine's first IPv4 address that is not loopback ("" when it has none).
std::string own_address() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    if (std::string(text).rfind("127.", 0) != 0) found = text;
  }
  freeifaddrs(list);
  return found;
}

struct Keys {
  test::TempDir d;
  CurveKeyPair publisher = write_curve_keys(d / "keys", "publisher");
  CurveKeyPair stream = write_curve_keys(d / "keys", "stream");
  CurveKeyPair stranger = write_curve_keys(d / "keys", "stranger");

  LinkKeys server() const { return {.own = publisher, .allowed = {stream.public_key}, .what = "test"}; }
  LinkKeys client(const CurveKeyPair& own) const { return {.own = own, .server_public = publisher.public_key, .what = "test"}; }
};

}  // namespace

TEST_CASE("hyper keys writes pyzmq certificates, the secret one readable by its owner only, never over an existing one") {
  test::TempDir d;
  REQUIRE(test::run(test::hyper_cmd({"keys", "--out", (d / "k").string(), "--name", "scanner"}), d / "keys.log") == 0);
  struct stat st {};
  REQUIRE(stat((d / "k" / "scanner.key_secret").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const CurveKeyPair ours = read_curve_secret(d / "k" / "scanner.key_secret", "test");
  CHECK(read_curve_public(d / "k" / "scanner.key", "test") == ours.public_key);
  // pyzmq's own reader (Debian's python3-zmq) finds the same keys.
  REQUIRE(test::run({"/usr/bin/python3", "-c",
                     "import sys, zmq.auth; p, s = zmq.auth.load_certificate(sys.argv[1]); print(p.decode(), s.decode())",
                     (d / "k" / "scanner.key_secret").string()},
                    d / "py.log") == 0);
  CHECK(test::read_text(d / "py.log").find(ours.public_key + " " + ours.secret_key) != std::string::npos);
  // A second run refuses to replace them; a secret key others may read is refused.
  CHECK(test::run(test::hyper_cmd({"keys", "--out", (d / "k").string(), "--name", "scanner"}), d / "again.log") == 2);
  CHECK(test::read_text(d / "again.log").find("never overwritten") != std::string::npos);
  chmod((d / "k" / "scanner.key_secret").c_str(), 0644);
  CHECK_THROWS_WITH_AS(read_curve_secret(d / "k" / "scanner.key_secret", "stream.curve_secret"),
                       doctest::Contains("may be read by others"), SettingsError);
}

TEST_CASE("with keys only the listed stream gets the volumes (also those it asks for again), and nothing is in clear on the wire") {
  Keys k;
  zmq::context_t ctx(1);
  Publisher pub(ctx, test::loopback(test::free_tcp_port()), {.keys = k.server()});
  CHECK(pub.link() == "curve");
  const int port = std::stoi(pub.endpoint().substr(pub.endpoint().rfind(':') + 1));
  send_run(pub, "secret", 0, 5, 20, true, false);  // before anyone listens: asked for again later, through CURVE too

  Tap tap(port);
  test::TestReceiver good({.endpoint = test::loopback(tap.port()), .keys = k.client(k.stream)});
  test::TestReceiver wrong({.endpoint = test::loopback(port), .keys = k.client(k.stranger)});
  test::TestReceiver plain({.endpoint = test::loopback(port)});
  REQUIRE(pub.wait_for_subscribers(1, 10s) == 1);
  std::this_thread::sleep_for(500ms);  // the others try their handshakes
  send_run(pub, "secret", 5, 20, 20, false, true);

  const auto got = test::collect(good.rx, 1, 20s);
  REQUIRE(got.summaries.size() == 1);
  INFO(format_summary(got.summaries[0]));
  CHECK(got.volumes.size() == 20);
  CHECK(got.summaries[0].recovered == 5);
  CHECK(got.summaries[0].link == "curve");
  CHECK(test::collect(wrong.rx, 1, 1500ms).volumes.empty());
  CHECK(test::collect(plain.rx, 1, 500ms).volumes.empty());
  CHECK(pub.wait_for_subscribers(2, 0ms) == 1);
  CHECK(pub.refused_peers() >= 1);  // the stranger's key, turned away by the ZAP handler

  const std::string wire = tap.seen();
  CHECK(wire.size() > 15 * 4 * 4 * 4 * sizeof(float));  // the volumes went through the tap...
  CHECK(wire.find(kMarker) == std::string::npos);      // ...but not readable
  CHECK(wire.find("hyper/1.1") == std::string::npos);
  CHECK(wire.find("\"run\"") == std::string::npos);
}

TEST_CASE("without keys the same volumes are readable on the wire (what the keys prevent)") {
  zmq::context_t ctx(1);
  Publisher pub(ctx, test::loopback(test::free_tcp_port()), {.resend_endpoint = "off"});
  const int port = std::stoi(pub.endpoint().substr(pub.endpoint().rfind(':') + 1));
  Tap tap(port);
  test::TestReceiver r({.endpoint = test::loopback(tap.port())});
  REQUIRE(pub.wait_for_subscribers(1, 10s) == 1);
  send_run(pub, "clear", 0, 3, 3, true, true);
  REQUIRE(test::collect(r.rx, 1, 10s).volumes.size() == 3);
  CHECK(tap.seen().find(kMarker) != std::string::npos);
  CHECK(tap.seen().find("hyper/1.1") != std::string::npos);
}

TEST_CASE("a stream with keys listens to its publisher only: another publisher at that address injects nothing") {
  Keys k;
  zmq::context_t ctx(1);
  for (const bool rogue_has_keys : {false, true}) {
    CAPTURE(rogue_has_keys);
    LinkKeys rogue_keys;
    if (rogue_has_keys) rogue_keys = {.own = k.stranger, .allowed = {k.stream.public_key}, .what = "rogue"};
    Publisher rogue(ctx, test::loopback(test::free_tcp_port()), {.resend_endpoint = "off", .keys = rogue_keys});
    test::TestReceiver r({.endpoint = rogue.endpoint(), .keys = k.client(k.stream)});
    CHECK(rogue.wait_for_subscribers(1, 1500ms) == 0);
    send_run(rogue, "injected", 0, 5, 5, true, true);
    CHECK(test::collect(r.rx, 1, 1s).volumes.empty());
    CHECK(r.rx.dropped()[static_cast<size_t>(Reject::Protocol)] == 0);  // nothing reached the decoder at all
  }
}

TEST_CASE("off loopback without keys is refused, naming the way out, and --insecure serves it with a warning and says so in the summary") {
  zmq::context_t ctx(1);
  const std::string wide = "tcp://0.0.0.0:" + std::to_string(test::free_tcp_port());
  CHECK_THROWS_WITH_AS(Publisher(ctx, wide, {.allow_remote = true, .keys = {.what = "replay.curve_secret (or --insecure)"}}),
                       doctest::Contains(("replay.curve_secret (or --insecure): " + wide + " is not a loopback address and no keys").c_str()),
                       SettingsError);
  Publisher open(ctx, wide, {.allow_remote = true, .resend_endpoint = "off", .keys = {.insecure = true, .what = "t"}});
  CHECK(open.link() == "insecure");

  zmq::context_t rctx(1);
  CHECK_THROWS_WITH_AS(Receiver(rctx, {.endpoint = "tcp://192.0.2.1:5555", .keys = {.what = "stream.curve_secret (or --insecure)"}}),
                       doctest::Contains("pass --insecure"), SettingsError);
  // A stream that says --insecure reaches it at this machine's own network address, and its summary says so.
  const std::string host = own_address();
  if (host.empty()) {
    MESSAGE("no non-loopback IPv4 address on this machine: the insecure stream is not tried");
    return;
  }
  const int port = std::stoi(open.endpoint().substr(open.endpoint().rfind(':') + 1));
  test::TestReceiver r({.endpoint = "tcp://" + host + ":" + std::to_string(port), .keys = {.insecure = true, .what = "t"}});
  REQUIRE(open.wait_for_subscribers(1, 10s) == 1);
  send_run(open, "open", 0, 2, 2, true, true);
  const auto c = test::collect(r.rx, 1, 10s);
  REQUIRE(c.summaries.size() == 1);
  CHECK(c.volumes.size() == 2);
  CHECK(c.summaries[0].link == "insecure");
  CHECK(to_json(c.summaries[0])["link"] == "insecure");
}

TEST_CASE("with keys the results reach only the listed stimulus programs") {
  Keys k;
  zmq::context_t ctx(1);
  const std::string at = test::loopback(test::free_tcp_port());
  ResultsPublisher results(ctx, at, false, false, k.server());
  auto subscriber = [&](const CurveKeyPair& own) {
    zmq::socket_t s(ctx, zmq::socket_type::sub);
    s.set(zmq::sockopt::subscribe, "");
    s.set(zmq::sockopt::rcvtimeo, 100);
    secure_client(s, k.client(own), at);
    s.connect(at);
    return s;
  };
  zmq::socket_t listed = subscriber(k.stream), stranger = subscriber(k.stranger);
  Tr tr;
  tr.run = "r";
  int got_listed = 0, got_stranger = 0;
  for (int i = 0; i < 30; ++i) {  // until the handshakes are done: PUB sends to whoever has subscribed
    tr.index = i;
    results.publish(tr);
    zmq::message_t m;
    if (listed.recv(m)) ++got_listed;
    if (stranger.recv(m)) ++got_stranger;
  }
  CHECK(got_listed > 0);
  CHECK(got_stranger == 0);
}

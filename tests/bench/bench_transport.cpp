// Transport latency of hyper/1 over tcp loopback: t_sent -> t_recv (ZeroMQ + kernel) and
// t_recv -> ready (checksum, validation, conversion to float32, hand-over to processing),
// for a 64x64x36 int16 volume and a 2 mm whole-brain 97x115x97 volume as int16 (2.2 MB)
// and float32 (4.3 MB),
// sending with and without a copy, with and without keeping the volumes for resending
// (hyper/1.1), and with CURVE encryption. Prints a Markdown table; --json writes the figures.
//
//   hyper_bench_transport [--volumes 500] [--period-ms 10] [--warmup 20] [--json FILE]
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/stats.hpp"
#include "net/publisher.hpp"
#include "net/receiver.hpp"

using namespace hyper;

namespace {

struct Shape {
  const char* name;
  std::array<int64_t, 3> dims;
  DType dtype;
};

struct Result {
  std::string shape, mode;
  size_t bytes = 0;
  LatencySummary transport, ready;
  int64_t dropped = 0;
};

std::vector<std::byte> random_volume(const Shape& s) {
  const size_t n = static_cast<size_t>(s.dims[0] * s.dims[1] * s.dims[2]);
  std::vector<std::byte> raw(n * dtype_size(s.dtype));
  std::mt19937 rng(7);
  if (s.dtype == DType::Float32) {
    std::normal_distribution<float> d(1000.f, 50.f);
    for (size_t i = 0; i < n; ++i) {
      const float v = d(rng);
      std::memcpy(raw.data() + i * 4, &v, 4);
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      const auto v = static_cast<int16_t>(rng() % 4000);
      std::memcpy(raw.data() + i * 2, &v, 2);
    }
  }
  return raw;
}

struct Variant {
  const char* name;
  bool zero_copy = true, resend = true, curve = false;
};

CurveKeyPair key_pair() {
  char pub[41], sec[41];
  zmq_curve_keypair(pub, sec);
  return {pub, sec};
}

Result measure(const Shape& shape, const Variant& v, int volumes, int warmup, std::chrono::microseconds period) {
  const bool zero_copy = v.zero_copy;
  auto raw = std::make_shared<const std::vector<std::byte>>(random_volume(shape));
  // Two contexts, so each side has its own I/O thread, as two processes would.
  zmq::context_t pub_ctx(1), sub_ctx(1);
  const CurveKeyPair server = key_pair(), client = key_pair();
  LinkKeys server_keys, client_keys;
  if (v.curve) {
    server_keys = {.own = server, .allowed = {client.public_key}, .what = "bench"};
    client_keys = {.own = client, .server_public = server.public_key, .what = "bench"};
  }
  Publisher pub(pub_ctx, "tcp://127.0.0.1:*", {.resend_endpoint = v.resend ? "auto" : "off", .keys = server_keys});
  ReceiverOptions ro;
  ro.endpoint = pub.endpoint();
  ro.keys = client_keys;
  ro.queue_capacity = 1024;
  Receiver rx(sub_ctx, ro);
  rx.start();
  if (pub.wait_for_subscribers(1, std::chrono::seconds(10)) < 1) throw std::runtime_error("no subscriber");

  std::jthread sender([&] {
    VolumeHeader h;
    h.tr_s = 1.5;
    h.dims = shape.dims;
    h.voxel_mm = {2, 2, 2};
    h.dtype = shape.dtype;
    for (const auto& [run, n] : {std::pair<std::string, int>{"warmup", warmup}, {"measured", volumes}}) {
      ControlMessage c;
      c.type = ControlType::RunStart;
      c.run = run;
      c.count = n;
      pub.send_control(c);
      h.run = run;
      const auto t0 = SteadyClock::now();
      for (int i = 0; i < n; ++i) {
        std::this_thread::sleep_until(t0 + i * period);
        h.index = i;
        pub.send_volume(h, *raw, zero_copy ? std::shared_ptr<const void>(raw) : nullptr);
      }
      c.type = ControlType::RunEnd;
      c.volumes_sent = n;
      pub.send_control(c);
    }
  });

  Result r{shape.name, v.name, raw->size(), {}, {}, 0};
  std::vector<double> transport, ready;
  int ended = 0;
  while (ended < 2) {
    auto e = rx.next(std::chrono::seconds(30));
    if (!e) throw std::runtime_error("receiver stalled");
    if (e->kind == StreamEvent::Kind::RunEnd) {
      ++ended;
      if (e->run == "measured") r.dropped = e->summary->dropped_total() + e->summary->missing;
    }
    if (e->kind != StreamEvent::Kind::Volume || e->run != "measured") continue;
    const int64_t now = realtime_ns();
    transport.push_back(ns_to_ms(e->tr->t.t_recv - e->tr->t.t_sent));
    ready.push_back(ns_to_ms(now - e->tr->t.t_recv));
  }
  r.transport = summarize(transport);
  r.ready = summarize(ready);
  return r;
}

// Median time of the receiver's per-volume work on one volume, measured apart.
std::pair<double, double> receiver_work_ms(const Shape& shape) {
  const auto raw = random_volume(shape);
  std::vector<float> out(static_cast<size_t>(shape.dims[0] * shape.dims[1] * shape.dims[2]));
  std::vector<double> crc, conv;
  for (int i = 0; i < 50; ++i) {
    auto t0 = SteadyClock::now();
    volatile uint32_t c = crc32(raw);
    (void)c;
    auto t1 = SteadyClock::now();
    convert_to_float(raw, shape.dtype, native_byte_order(), MemoryOrder::Fortran, shape.dims, 1, 0, out.data());
    auto t2 = SteadyClock::now();
    crc.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    conv.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  return {summarize(crc).p50, summarize(conv).p50};
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

}  // namespace

int main(int argc, char** argv) {
  int volumes = 500, warmup = 20;
  double period_ms = 10;
  std::string json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--volumes") volumes = std::stoi(argv[i + 1]);
    else if (a == "--period-ms") period_ms = std::stod(argv[i + 1]);
    else if (a == "--warmup") warmup = std::stoi(argv[i + 1]);
    else if (a == "--json") json_path = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--volumes N] [--period-ms P] [--warmup N] [--json FILE]\n", argv[0]);
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  // 3 mm EPI as scanners send it; 2 mm whole brain as int16 (scanner) and float32 (2.16 / 4.3 MB).
  const Shape shapes[] = {{"64x64x36 int16", {64, 64, 36}, DType::Int16},
                          {"97x115x97 int16", {97, 115, 97}, DType::Int16},
                          {"97x115x97 float32", {97, 115, 97}, DType::Float32}};
  const auto period = std::chrono::microseconds(static_cast<int64_t>(period_ms * 1000));

  std::printf("hyper/1 transport over tcp loopback: %d volumes per row after %d warm-up, one every %.1f ms\n",
              volumes, warmup, period_ms);
  std::printf("machine: %s, %u hardware threads\n\n", cpu_model().c_str(), std::thread::hardware_concurrency());
  std::printf("| volume | bytes | send | t_sent->t_recv p50 | p90 | p99 | max | t_recv->ready p50 | p99 | lost |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  nlohmann::json out = nlohmann::json::array();
  const Variant variants[] = {{"zero-copy"},
                              {"copy", false},
                              {"zero-copy, not kept for resending", true, false},
                              {"zero-copy, CURVE", true, true, true}};
  std::map<std::string, double> plain_p50;
  for (const auto& s : shapes)
    for (const Variant& v : variants) {
      const Result r = measure(s, v, volumes, warmup, period);
      if (std::string(v.name) == "zero-copy") plain_p50[s.name] = r.transport.p50;
      std::printf("| %s | %zu | %s | %.3f ms | %.3f ms | %.3f ms | %.3f ms | %.3f ms | %.3f ms | %lld |\n",
                  r.shape.c_str(), r.bytes, r.mode.c_str(), r.transport.p50, r.transport.p90, r.transport.p99,
                  r.transport.max, r.ready.p50, r.ready.p99, static_cast<long long>(r.dropped));
      std::fflush(stdout);
      out.push_back({{"volume", r.shape}, {"bytes", r.bytes}, {"send", r.mode},
                     {"sent_to_recv_ms", to_json(r.transport)}, {"recv_to_ready_ms", to_json(r.ready)},
                     {"lost", r.dropped}});
    }
  std::printf("\nCURVE / plain t_sent->t_recv p50, same run:");
  for (const auto& r : out)
    if (r["send"] == "zero-copy, CURVE")
      std::printf(" %s %.2fx;", r["volume"].get<std::string>().c_str(),
                  r["sent_to_recv_ms"]["p50"].get<double>() / plain_p50[r["volume"].get<std::string>()]);
  std::printf("\n");
  std::printf("\nreceiver work per volume (median of 50): \n| volume | crc32 | convert to float32 |\n|---|---|---|\n");
  for (const auto& s : shapes) {
    const auto [crc, conv] = receiver_work_ms(s);
    std::printf("| %s | %.3f ms | %.3f ms |\n", s.name, crc, conv);
  }
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}

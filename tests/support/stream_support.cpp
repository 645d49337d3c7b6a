#include "stream_support.hpp"

namespace hyper::test {

Collected collect(Receiver& rx, size_t runs, std::chrono::milliseconds timeout) {
  Collected c;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (c.summaries.size() < runs && std::chrono::steady_clock::now() < deadline) {
    auto e = rx.next(std::chrono::milliseconds(50));
    if (!e) continue;
    switch (e->kind) {
      case StreamEvent::Kind::RunStart: c.starts.push_back(e->start); break;
      case StreamEvent::Kind::Volume: c.volumes.push_back(std::move(e->tr)); break;
      case StreamEvent::Kind::RunEnd: c.summaries.push_back(*e->summary); break;
    }
  }
  return c;
}

std::string loopback(int port) { return "tcp://127.0.0.1:" + std::to_string(port); }

}  // namespace hyper::test

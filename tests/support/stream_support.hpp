#pragma once
// Collecting what a Receiver delivers, for the stream tests.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "net/receiver.hpp"

namespace hyper::test {

struct Collected {
  std::vector<std::unique_ptr<Tr>> volumes;
  std::vector<ControlMessage> starts;
  std::vector<RunSummary> summaries;
};

// A receiver with a context of its own, connected and started.
struct TestReceiver {
  explicit TestReceiver(ReceiverOptions options) : rx(ctx, std::move(options)) { rx.start(); }
  zmq::context_t ctx{1};
  Receiver rx;
};

// Takes events until `runs` runs have ended or `timeout` passes.
Collected collect(Receiver& rx, size_t runs, std::chrono::milliseconds timeout = std::chrono::seconds(60));

std::string loopback(int port);  // "tcp://127.0.0.1:PORT"

}  // namespace hyper::test

#pragma once
// The results endpoint of `hyper stream`: one JSON message per processed TR on a ZeroMQ PUB
// socket, for PsychoPy or any stimulus program (README, "Results endpoint"). Sending never
// blocks processing: a subscriber that falls behind loses messages (PUB's high-water mark).

#include <memory>
#include <string>

#include <zmq.hpp>

#include "hyper/tr.hpp"
#include "net/curve.hpp"

namespace hyper {

class ResultsPublisher {
 public:
  // Binds `endpoint`; a non-loopback address needs allow_remote, and keys or keys.insecure.
  // Throws naming the endpoint.
  ResultsPublisher(zmq::context_t& ctx, const std::string& endpoint, bool allow_remote, bool with_latent, const LinkKeys& keys = {});
  void publish(const Tr& tr);  // processing thread

 private:
  std::unique_ptr<ZapHandler> zap_;  // with keys: the clients of stream.results_clients only
  zmq::socket_t socket_;
  bool with_latent_;
};

// The message for one TR (also what the tests parse).
std::string result_json(const Tr& tr, bool with_latent);

}  // namespace hyper

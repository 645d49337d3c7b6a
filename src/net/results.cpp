#include "net/results.hpp"

#include <nlohmann/json.hpp>

#include "net/endpoint.hpp"

namespace hyper {

std::string result_json(const Tr& tr, bool with_latent) {
  nlohmann::json j{{"run", tr.run},
                   {"index", tr.index},
                   {"t_acq_ns", tr.t.t_acq},
                   {"t_sent_ns", tr.t.t_sent},
                   {"t_recv_ns", tr.t.t_recv},
                   {"t_ready_ns", tr.t.t_ready},
                   {"motion", tr.motion},
                   {"fd_mm", tr.fd_mm},
                   {"decoded", tr.decoded}};
  if (with_latent && tr.decoded) j["latent"] = tr.latent;
  if (with_latent && tr.has_show) j["show"] = tr.show;  // a protocol's face on screen, in place of the decoded one
  if (tr.has_feedback) j["feedback"] = {{"value", tr.feedback}, {"bar", tr.feedback_bar}};
  return j.dump();
}

ResultsPublisher::ResultsPublisher(zmq::context_t& ctx, const std::string& endpoint, bool allow_remote, bool with_latent,
                                   const LinkKeys& keys)
    : zap_(keys.configured() ? std::make_unique<ZapHandler>(ctx, keys.allowed) : nullptr),
      socket_(ctx, zmq::socket_type::pub), with_latent_(with_latent) {
  check_endpoint(endpoint, "stream.results");
  if (!allow_remote && !is_local_endpoint(endpoint))
    throw std::runtime_error("stream.results: " + endpoint +
                             " is not a loopback address: binding it exposes the results to the network; set "
                             "stream.results_allow_remote = true if that is intended");
  socket_.set(zmq::sockopt::linger, 200);
  secure_server(socket_, keys, endpoint);
  bind_endpoint(socket_, endpoint, "stream.results (--results)");
}

void ResultsPublisher::publish(const Tr& tr) {
  const std::string msg = result_json(tr, with_latent_);
  (void)socket_.send(zmq::buffer(msg), zmq::send_flags::dontwait);  // PUB drops at its high-water mark
}

}  // namespace hyper

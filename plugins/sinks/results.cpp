// The results sink (`hyper stream --results ENDPOINT`): one JSON message per processed TR
// on a ZeroMQ PUB socket (src/net/results.hpp). Sending never blocks the loop.
#include <spdlog/spdlog.h>

#include "hyper/registry.hpp"
#include "core/settings.hpp"
#include "net/results.hpp"

namespace hyper {

namespace {

class ResultsSink : public Sink {
 public:
  ResultsSink(const std::string& endpoint, bool allow_remote, bool with_latent, const LinkKeys& keys)
      : publisher_(ctx_, endpoint, allow_remote, with_latent, keys) {
    spdlog::info("results: one JSON message per TR on {}", endpoint);
  }
  void on_tr(const Tr& tr) override { publisher_.publish(tr); }

 private:
  zmq::context_t ctx_{1};
  ResultsPublisher publisher_;
};

}  // namespace

void register_results(Registry& r) {
  using T = SettingType;
  r.add_sink({"results", "one JSON message per TR on a ZeroMQ PUB endpoint (PsychoPy, any stimulus program)",
              {{.key = "stream.results", .type = T::String, .def = std::string(""),
                .help = "ZeroMQ endpoint to bind for results: one JSON message per processed TR (empty: none)",
                .flag = "--results"},
               {.key = "stream.results_latent", .type = T::Bool, .def = false,
                .help = "include the 512 latent values in each result message"},
               {.key = "stream.results_allow_remote", .type = T::Bool, .def = false,
                .help = "allow the results endpoint on an address other than loopback"},
               {.key = "stream.results_clients", .type = T::String, .def = std::string(""),
                .help = "the stimulus programs let in (a folder of their public NAME.key, or one): results encrypted with "
                        "stream.curve_secret's key pair; empty: no keys (then only loopback, or --insecure)", .existing = true}},
              [](const SinkContext& ctx) -> std::unique_ptr<Sink> {
                const std::string endpoint = ctx.settings.get_string("stream.results");
                if (endpoint.empty()) return nullptr;
                LinkKeys keys{.insecure = ctx.settings.get_bool("stream.insecure"), .what = "stream.results_clients (or --insecure)"};
                if (const std::string clients = ctx.settings.get_string("stream.results_clients"); !clients.empty()) {
                  if (ctx.settings.get_string("stream.curve_secret").empty())
                    throw SettingsError("stream.results_clients: needs stream.curve_secret, the key pair the results are served with");
                  keys.own = read_curve_secret(ctx.settings.get_string("stream.curve_secret"), "stream.curve_secret");
                  keys.allowed = read_curve_allowed(clients, "stream.results_clients");
                }
                return std::make_unique<ResultsSink>(endpoint, ctx.settings.get_bool("stream.results_allow_remote"),
                                                     ctx.settings.get_bool("stream.results_latent"), keys);
              }});
}

}  // namespace hyper

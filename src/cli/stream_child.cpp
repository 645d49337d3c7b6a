#include "cli/stream_child.hpp"

#include <csignal>
#include <stdexcept>

#include <zmq.hpp>

#include "core/subprocess.hpp"

namespace hyper {

void replay_into_stream(const std::vector<std::string>& stream_args, const std::filesystem::path& log, const std::string& endpoint,
                        const RunFile& run, const ReplayOptions& options, std::chrono::milliseconds finish_timeout) {
  std::vector<std::string> args{"hyper", "stream"};
  args.insert(args.end(), stream_args.begin(), stream_args.end());
  const pid_t child = spawn_self(args, log);
  {
    zmq::context_t ctx(1);
    Publisher pub(ctx, endpoint, {.linger = std::chrono::seconds(120)});  // every volume reaches the stream before we close
    if (pub.wait_for_subscribers(1, std::chrono::seconds(30)) < 1) {
      kill(child, SIGTERM);
      throw std::runtime_error("hyper stream did not subscribe within 30 s: see " + log.string());
    }
    replay(pub, {run}, options);
  }
  if (wait_child(child, finish_timeout) != 0) throw std::runtime_error("hyper stream failed: see " + log.string());
}

}  // namespace hyper

#include "cli/stream_child.hpp"

#include <csignal>
#include <fstream>
#include <stdexcept>

#include <sys/wait.h>

#include <zmq.hpp>

#include "core/subprocess.hpp"

namespace hyper {

namespace {
// The child's last error line (or its last line) for the parent's own message.
std::string last_error(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line, last, error;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.find("error") != std::string::npos) error = line;
  }
  return error.empty() ? last : error;
}
}  // namespace

void replay_into_stream(const std::vector<std::string>& stream_args, const std::filesystem::path& log, const std::string& endpoint,
                        const RunFile& run, const ReplayOptions& options, std::chrono::milliseconds finish_timeout) {
  std::vector<std::string> args{"hyper", "stream"};
  args.insert(args.end(), stream_args.begin(), stream_args.end());
  const pid_t child = spawn_self(args, log);
  {
    zmq::context_t ctx(1);
    // linger: every volume reaches the stream before we close.
    Publisher pub(ctx, endpoint, {.linger = std::chrono::seconds(120), .what = "the port between replay and stream (demo.port, bench.port)"});
    // A child that dies at start (a bad setting, no weights) says why at once, not after 30 s.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (pub.wait_for_subscribers(1, std::chrono::milliseconds(200)) < 1) {
      int status = 0;
      if (waitpid(child, &status, WNOHANG) == child)
        throw std::runtime_error("hyper stream exited before it subscribed (exit " +
                                 std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "): " + last_error(log) +
                                 " (its log: " + log.string() + ")");
      if (std::chrono::steady_clock::now() > deadline) {
        kill(child, SIGTERM);
        throw std::runtime_error("hyper stream did not subscribe within 30 s: see " + log.string());
      }
    }
    replay(pub, {run}, options);
  }
  if (wait_child(child, finish_timeout) != 0) throw std::runtime_error("hyper stream failed: see " + log.string());
}

}  // namespace hyper

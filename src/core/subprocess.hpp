#pragma once
// Running this executable again as a child process (hyper demo and hyper bench start
// `hyper stream` beside themselves, as at a scanner), output to a log file.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace hyper {

// Starts /proc/self/exe with `args` (args[0] is the program name), stdout and stderr to `log`.
pid_t spawn_self(const std::vector<std::string>& args, const std::filesystem::path& log);

// Waits up to `timeout`; the exit code, or -1 when it did not exit in time (it is then
// sent SIGTERM, and SIGKILL a second later) or died of a signal.
int wait_child(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace hyper

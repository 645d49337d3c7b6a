#pragma once
// Child processes: this executable again (hyper demo and hyper bench start `hyper stream`
// beside themselves, as at a scanner), or a helper script; output to log files.

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

// Runs argv (argv[0] a full path, e.g. /usr/bin/python3) to its end, stdout to `out` and
// stderr to `log`; its exit code, 128 + N when signal N ended it (as a shell says), -1 when it
// did not start.
int run_to_files(const std::vector<std::string>& argv, const std::filesystem::path& out, const std::filesystem::path& log);

}  // namespace hyper

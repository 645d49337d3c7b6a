#pragma once
// What `hyper demo` and `hyper bench` share: `hyper stream` started as a second process (as
// at a scanner), a recorded run replayed into it over tcp loopback, and its end awaited.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "net/replayer.hpp"

namespace hyper {

// `stream_args` follow "hyper stream" and must include --endpoint ENDPOINT and --runs 1.
// Throws naming `log` when the child does not subscribe within 30 s or fails.
void replay_into_stream(const std::vector<std::string>& stream_args, const std::filesystem::path& log, const std::string& endpoint,
                        const RunFile& run, const ReplayOptions& options, std::chrono::milliseconds finish_timeout);

}  // namespace hyper

#pragma once
// Logging through spdlog: one process-wide logger writing to stderr, plus a file per run
// when the subcommand has an output folder. Thread-safe (spdlog's _mt sinks).

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "core/settings.hpp"

namespace hyper {

// level: trace, debug, info, warn, error, off. Throws std::invalid_argument naming it.
void init_logging(std::string_view level);
// Declares log.level (--log-level), the setting init_logging takes.
void declare_log_settings(Schema& schema);
// Adds `path` (appended to) as a second sink for the rest of the process.
void add_log_file(const std::filesystem::path& path);

// Logs a warning per key at most once per `period`; what it held back is counted and
// reported with the next line it lets through. Thread-safe.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::chrono::milliseconds period = std::chrono::seconds(1))
      : period_(period) {}
  void warn(const std::string& key, const std::string& message);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point last{};
    size_t suppressed = 0;
    bool logged = false;
  };
  std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace hyper

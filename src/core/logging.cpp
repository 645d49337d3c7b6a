#include "core/logging.hpp"

#include <stdexcept>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace hyper {

void declare_log_settings(Schema& s) {
  s.add({.key = "log.level", .type = SettingType::String, .def = std::string("info"), .help = "how much to log",
         .flag = "--log-level", .choices = {"trace", "debug", "info", "warn", "error", "off"}});
}

void init_logging(std::string_view level) {
  const auto lvl = spdlog::level::from_str(std::string(level));
  // from_str answers "off" for anything it does not know: tell that apart from a real "off".
  if (lvl == spdlog::level::off && level != "off")
    throw std::invalid_argument("unknown log level '" + std::string(level) +
                                "' (use trace, debug, info, warn, error or off)");
  auto logger = spdlog::get("hyper");
  if (!logger) {
    logger = spdlog::stderr_color_mt("hyper");
    spdlog::set_default_logger(logger);
  }
  spdlog::set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_level(lvl);
}

void add_log_file(const std::filesystem::path& path) {
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path.string(), false);
  sink->set_pattern("%Y-%m-%d %H:%M:%S.%f %l [%t] %v");
  spdlog::default_logger()->sinks().push_back(sink);
  spdlog::flush_every(std::chrono::seconds(1));
}

void RateLimitedLog::warn(const std::string& key, const std::string& message) {
  const auto now = std::chrono::steady_clock::now();
  size_t suppressed = 0;
  {
    std::lock_guard lock(mutex_);
    Entry& e = entries_[key];
    if (e.logged && now - e.last < period_) {
      ++e.suppressed;
      return;
    }
    suppressed = e.suppressed;
    e = Entry{now, 0, true};
  }
  if (suppressed > 0)
    spdlog::warn("{} (+{} more like it since the last report)", message, suppressed);
  else
    spdlog::warn("{}", message);
}

}  // namespace hyper

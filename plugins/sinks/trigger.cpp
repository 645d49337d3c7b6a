#include "sinks/trigger.hpp"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/settings.hpp"

namespace hyper {

std::vector<SettingSpec> trigger_settings() {
  using T = SettingType;
  return {
      {.key = "trigger.source", .type = T::String, .def = std::string("key"),
       .help = "what starts a presentation run: key (the button box types trigger.key), serial (trigger.device sends "
               "trigger.byte), volume (the first volume received; its acquisition start estimated)",
       .flag = "--trigger", .choices = {"key", "serial", "volume"}},
      {.key = "trigger.key", .type = T::String, .def = std::string("5"), .help = "the trigger key, by SDL's name (5, t, space...)"},
      {.key = "trigger.device", .type = T::String, .def = std::string(""), .help = "serial port for trigger.source = serial",
       .flag = "--trigger-device"},
      {.key = "trigger.baud", .type = T::Int, .def = int64_t{115200}, .unit = "baud", .help = "serial port speed"},
      {.key = "trigger.byte", .type = T::String, .def = std::string("5"),
       .help = "the byte the serial port sends per volume: one character, or a number 0-255"},
      {.key = "trigger.export_delay_s", .type = T::Float, .def = 0.0, .unit = "s",
       .help = "trigger.source = volume: from a volume's end of acquisition to its arrival (the run's time zero is "
               "that much plus one TR before the first volume arrived)",
       .min = 0.0, .max = 60.0},
      {.key = "trigger.max_drift_ms", .type = T::Float, .def = 50.0, .unit = "ms",
       .help = "a trigger period further than this from the TR warns on the console", .min = 0.0},
  };
}

namespace {

speed_t baud_constant(int64_t baud) {
  switch (baud) {
    case 1200: return B1200;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    default: throw SettingsError(fmt::format("trigger.baud: {} is not a serial speed (1200, 2400, ..., 115200, 230400)", baud));
  }
}

}  // namespace

TriggerOptions trigger_options(const Params& p) {
  TriggerOptions o;
  o.source = p.get_string("trigger.source");
  o.key = p.get_string("trigger.key");
  o.device = p.get_string("trigger.device");
  o.baud = static_cast<int>(p.get_int("trigger.baud"));
  baud_constant(o.baud);
  const std::string b = p.get_string("trigger.byte");
  if (b.size() == 1) {
    o.byte = static_cast<uint8_t>(b[0]);
  } else {
    char* end = nullptr;
    const long v = std::strtol(b.c_str(), &end, 0);
    if (b.empty() || *end != '\0' || v < 0 || v > 255)
      throw SettingsError("trigger.byte: '" + b + "' is neither one character nor a number 0-255 (e.g. \"5\" or \"0x35\")");
    o.byte = static_cast<uint8_t>(v);
  }
  o.export_delay_s = p.get_float("trigger.export_delay_s");
  o.max_drift_ms = p.get_float("trigger.max_drift_ms");
  if (o.source == "serial" && o.device.empty())
    throw SettingsError("trigger.device: trigger.source = serial needs the port, e.g. --trigger-device /dev/ttyUSB0");
  std::string key = o.key;
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (o.source == "key" && (key == "q" || key == "f" || key == "h" || key == "escape"))
    throw SettingsError("trigger.key: '" + o.key + "' is one of the window's own keys (Esc and q quit, f full screen, h the "
                        "overlay): the button box's trigger must be another (5, t...)");
  return o;
}

SerialTrigger::SerialTrigger(const TriggerOptions& o) : byte_(o.byte) {
  fd_ = ::open(o.device.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0)
    throw SettingsError(fmt::format("trigger.device: cannot open {}: {}{}", o.device, std::strerror(errno),
                                    errno == EACCES ? " (add yourself to the dialout group)" : ""));
  termios t{};
  if (tcgetattr(fd_, &t) != 0) {
    ::close(fd_);
    throw SettingsError(fmt::format("trigger.device: {} is not a serial port: {}", o.device, std::strerror(errno)));
  }
  cfmakeraw(&t);  // bytes as sent: no line editing, no echo
  cfsetispeed(&t, baud_constant(o.baud));
  cfsetospeed(&t, baud_constant(o.baud));
  t.c_cflag |= CLOCAL | CREAD;
  tcsetattr(fd_, TCSANOW, &t);
  tcflush(fd_, TCIFLUSH);  // what waited in the port's buffer is no trigger of this run
  thread_ = std::jthread([this](std::stop_token stop) {
    pollfd p{fd_, POLLIN, 0};
    uint8_t buf[256];
    while (!stop.stop_requested()) {
      if (::poll(&p, 1, 50) <= 0) continue;
      const int64_t t_ns = realtime_ns();
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      std::lock_guard lock(mutex_);
      for (ssize_t i = 0; i < n; ++i)
        if (buf[i] == byte_) stamps_.push_back(t_ns);
    }
  });
}

SerialTrigger::~SerialTrigger() {
  thread_ = {};  // joined before the port closes
  ::close(fd_);
}

std::vector<int64_t> SerialTrigger::take() {
  std::lock_guard lock(mutex_);
  return std::exchange(stamps_, {});
}

TriggerLog::TriggerLog(std::filesystem::path tsv, double max_drift_ms) : tsv_(std::move(tsv)), max_drift_ms_(max_drift_ms) {
  if (!tsv_.empty()) std::ofstream(tsv_) << "trigger\tt_ns\tsince_first_s\tperiod_ms\tsource\n";
}

void TriggerLog::add(int64_t t_ns, const char* how) {
  const double period_ms = stamps_.empty() ? 0 : ns_to_ms(t_ns - stamps_.back());
  stamps_.push_back(t_ns);
  if (!tsv_.empty())
    std::ofstream(tsv_, std::ios::app) << fmt::format("{}\t{}\t{:.6f}\t{:.3f}\t{}\n", stamps_.size() - 1, t_ns,
                                                      ns_to_ms(t_ns - stamps_.front()) / 1000.0, period_ms, how);
  if (stamps_.size() > 1 && tr_s_ > 0 && std::abs(period_ms - tr_s_ * 1000.0) > max_drift_ms_) {
    ++drifted_;
    log_.warn("drift", fmt::format("trigger {} came {:.1f} ms after the last one, the TR is {:.0f} ms{}", stamps_.size() - 1,
                                   period_ms, tr_s_ * 1000.0,
                                   period_ms > 1.5 * tr_s_ * 1000.0 ? " (a trigger missed?)" : " (trigger.max_drift_ms)"));
  }
}

}  // namespace hyper

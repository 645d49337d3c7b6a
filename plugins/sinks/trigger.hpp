#pragma once
// The scanner's trigger (README, "Running an experiment"): what starts a presentation run
// and keeps it in step with the volumes. From a key (fORP/NNL button boxes type "5"), a
// serial port (a byte per volume, termios), or the first volume of the source (when
// nothing else reaches the stimulus computer; the acquisition start is then estimated).
// Every trigger is logged; a period that drifts from the TR warns.

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/logging.hpp"
#include "hyper/params.hpp"
#include "hyper/setting_spec.hpp"

namespace hyper {

struct TriggerOptions {
  std::string source = "key";  // key | serial | volume
  std::string key = "5";       // SDL key name
  std::string device;          // serial: /dev/ttyUSB0, ...
  int baud = 115200;
  uint8_t byte = '5';
  double export_delay_s = 0;   // volume: from a volume's last slice to its arrival here
  double max_drift_ms = 50;    // a period further than this from the TR warns
};

std::vector<SettingSpec> trigger_settings();       // [trigger]
TriggerOptions trigger_options(const Params& p);    // checked: a bad value names its key

// Reads a serial port on a thread of its own; each trigger byte is stamped on arrival.
class SerialTrigger {
 public:
  explicit SerialTrigger(const TriggerOptions& o);  // throws SettingsError naming trigger.device
  ~SerialTrigger();
  SerialTrigger(const SerialTrigger&) = delete;
  SerialTrigger& operator=(const SerialTrigger&) = delete;
  std::vector<int64_t> take();  // the stamps since the last call (CLOCK_REALTIME ns)

 private:
  int fd_ = -1;
  uint8_t byte_;
  std::mutex mutex_;
  std::vector<int64_t> stamps_;
  std::jthread thread_;
};

// One run's triggers: the first is time zero of the run's events; each later one is
// written to triggers.tsv and its period checked against the TR.
class TriggerLog {
 public:
  TriggerLog(std::filesystem::path tsv, double max_drift_ms);  // tsv "": kept in memory only
  void set_tr(double tr_s) { tr_s_ = tr_s; }
  void add(int64_t t_ns, const char* how);
  bool started() const { return !stamps_.empty(); }
  int64_t first() const { return stamps_.front(); }
  const std::vector<int64_t>& stamps() const { return stamps_; }
  int64_t drifted() const { return drifted_; }  // periods beyond max_drift_ms

 private:
  std::filesystem::path tsv_;
  double max_drift_ms_, tr_s_ = 0;
  std::vector<int64_t> stamps_;
  int64_t drifted_ = 0;
  RateLimitedLog log_{std::chrono::seconds(5)};
};

}  // namespace hyper

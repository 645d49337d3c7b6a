#pragma once
// The presentation sink made in this process, as hyper stream makes it (the registry, the
// settings, a Session's context), for its test and its benchmark.

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/chain.hpp"
#include "core/registry.hpp"
#include "core/session.hpp"
#include "core/settings.hpp"

namespace hyper::test {

class PresentationParts {
 public:
  // Every registered part's settings, then `values` ("present.design", "display.driver"...).
  explicit PresentationParts(const std::vector<std::pair<std::string, SettingValue>>& values);
  // The presentation sink recording into `out` (nullptr when the settings leave it off).
  std::unique_ptr<Sink> make(const std::filesystem::path& out);
  Settings& settings() { return *st_; }

 private:
  PartRegistry parts_;
  Schema schema_;
  std::unique_ptr<Settings> st_;
  std::unique_ptr<Chain> chain_;
  std::unique_ptr<Session> session_;
};

// Pumps the sink as the Session's main thread does until `file` exists (or `limit` passed); false when the sink asked to stop.
bool pump_until(Sink& sink, const std::filesystem::path& file, std::chrono::seconds limit);

// A trigger key (SDL's 5) in SDL's event queue, as a button box types it; its stamp now.
void push_trigger_key();

// One top-level field of a JSON file as JSON text ("\"clock\"", "0").
std::string read_json_field(const std::filesystem::path& p, const std::string& field);

// A TSV file's rows, split at tabs.
std::vector<std::vector<std::string>> tsv_rows(const std::filesystem::path& p);

}  // namespace hyper::test

#include "presentation_support.hpp"

#include <fstream>
#include <sstream>

#include <SDL.h>
#include <nlohmann/json.hpp>

#include "builtin.hpp"
#include "core/clock.hpp"
#include "core/logging.hpp"
#include "generators/generator_settings.hpp"

namespace hyper::test {

PresentationParts::PresentationParts(const std::vector<std::pair<std::string, SettingValue>>& values) {
  register_builtin_parts(parts_);
  declare_log_settings(schema_);
  parts_.declare(schema_);
  declare_generator_settings(schema_, parts_.generator_names());
  st_ = std::make_unique<Settings>(schema_);
  for (const auto& [k, v] : values) st_->apply_value(k, v, "test");
  chain_ = std::make_unique<Chain>(parts_, *st_);
  session_ = std::make_unique<Session>(*chain_, SessionOptions{});
}

std::unique_ptr<Sink> PresentationParts::make(const std::filesystem::path& out) {
  const SinkContext ctx = session_->context(*st_, out.string(), [this](const GeneratorOptions& o) { return parts_.make_generator(o); });
  for (const SinkInfo& info : parts_.sinks())
    if (info.name == "presentation") return info.make(ctx);
  return nullptr;
}

void push_trigger_key() {
  SDL_Event e{};
  e.type = SDL_KEYDOWN;
  e.key.keysym.sym = SDLK_5;
  e.key.timestamp = SDL_GetTicks();
  SDL_PushEvent(&e);
}

bool pump_until(Sink& sink, const std::filesystem::path& file, std::chrono::seconds limit) {
  const auto until = SteadyClock::now() + limit;
  while (!std::filesystem::exists(file) && SteadyClock::now() < until)
    if (!sink.pump(std::chrono::milliseconds(10))) return false;
  return true;
}

std::vector<std::vector<std::string>> tsv_rows(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, '\t');) f.push_back(x);
    rows.push_back(f);
  }
  return rows;
}

std::string read_json_field(const std::filesystem::path& p, const std::string& field) {
  std::ifstream in(p);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  return j.is_object() && j.contains(field) ? j[field].dump() : "";
}

}  // namespace hyper::test

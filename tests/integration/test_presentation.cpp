// The presentation sink in this process, on SDL's dummy driver: a key trigger (an SDL key
// event, as a button box types it) and a serial trigger (a pseudo-terminal: a real termios
// device) start the design; the events, flips and triggers it writes are checked against
// the design and against each other.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <SDL.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "builtin.hpp"
#include "core/chain.hpp"
#include "core/clock.hpp"
#include "core/logging.hpp"
#include "core/session.hpp"
#include "generators/generator_settings.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

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

// The registry, the settings of a headless presentation of `design`, and the sink it makes.
struct Presentation {
  PartRegistry parts;
  Schema schema;
  std::unique_ptr<Settings> st;
  std::unique_ptr<Chain> chain;
  std::unique_ptr<Session> session;

  Presentation(const test::TempDir& d, const std::vector<std::pair<std::string, SettingValue>>& values) {
    register_builtin_parts(parts);
    declare_log_settings(schema);
    parts.declare(schema);
    declare_generator_settings(schema, parts.generator_names());
    st = std::make_unique<Settings>(schema);
    std::ofstream(d / "design.tsv") << "onset\tduration\ttrial_type\tstim_index\n0.1\t0.25\ttrain\t2\n0.6\t0.25\ttrain\t0\n1.1\t0.25\ttest\t1\n";
    std::vector<float> lat(3 * 512);
    for (size_t i = 0; i < lat.size(); ++i) lat[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
    {
      std::ofstream npy(d / "latents.npy", std::ios::binary);
      const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 512), }";
      std::string h = header + std::string(64 - (10 + header.size() + 1) % 64, ' ') + "\n";
      npy.write("\x93NUMPY\x01\x00", 8);
      const uint16_t n = static_cast<uint16_t>(h.size());
      npy.write(reinterpret_cast<const char*>(&n), 2);
      npy << h;
      npy.write(reinterpret_cast<const char*>(lat.data()), static_cast<std::streamsize>(lat.size() * 4));
    }
    const std::vector<std::pair<std::string, SettingValue>> base{
        {"present.design", (d / "design.tsv").string()}, {"present.latents", (d / "latents.npy").string()},
        {"present.flicker_hz", 10.0},  {"display.driver", std::string("dummy")}, {"display.face_px", int64_t{32}},
        {"generator.kind", std::string("procedural")}, {"generator.resolution", int64_t{32}}};
    for (const auto& [k, v] : base) st->apply_value(k, v, "test");
    for (const auto& [k, v] : values) st->apply_value(k, v, "test");
    chain = std::make_unique<Chain>(parts, *st);
    session = std::make_unique<Session>(*chain, SessionOptions{});
  }
  std::unique_ptr<Sink> make(const std::filesystem::path& out) {
    const SinkContext ctx = session->context(*st, out.string(), [this](const GeneratorOptions& o) { return parts.make_generator(o); });
    for (const SinkInfo& info : parts.sinks())
      if (info.name == "presentation") return info.make(ctx);
    return nullptr;
  }
};

// Pumps the sink as the Session's main thread would until the presentation's summary is written.
void pump_until_done(Sink& sink, const std::filesystem::path& summary, std::chrono::seconds limit) {
  const auto until = SteadyClock::now() + limit;
  while (!std::filesystem::exists(summary) && SteadyClock::now() < until) REQUIRE(sink.pump(10ms));
}

const std::string kRun = "sub-01_task-faces_run-01";

}  // namespace

TEST_CASE("the presentation starts at the trigger key and shows the design in whole frames, each face within a frame of the plan") {
  test::TempDir d;
  Presentation p(d, {});
  auto sink = p.make(d / "out");
  REQUIRE(sink != nullptr);
  CHECK(sink->threading() == Sink::Threading::MainThread);
  // Waiting: the fixation cross only, no event written.
  for (int i = 0; i < 10; ++i) REQUIRE(sink->pump(10ms));
  const auto events_file = d / ("out/sub-01/func/" + kRun + "_events.tsv");
  CHECK(tsv_rows(events_file).size() == 1);  // the header
  CHECK(std::filesystem::exists(d / "out/stimuli"));  // the faces were drawn before the run
  SDL_Event e{};
  e.type = SDL_KEYDOWN;
  e.key.keysym.sym = SDLK_5;
  e.key.timestamp = SDL_GetTicks();
  const int64_t t_key = realtime_ns();
  REQUIRE(SDL_PushEvent(&e) == 1);
  const auto record = d / ("out/presentation/" + kRun);
  pump_until_done(*sink, record / "presentation.json", 10s);
  sink->finish();

  const auto triggers = tsv_rows(record / "triggers.tsv");
  REQUIRE(triggers.size() == 2);
  const int64_t t0 = std::stoll(triggers[1][1]);
  CHECK(triggers[1][4] == "key");
  CHECK(std::llabs(t0 - t_key) < 5'000'000);  // the event's own stamp: ms resolution
  const double frame = 1.0 / 60;  // the dummy driver has no vsync: paced by the clock at 60 Hz
  const auto events = tsv_rows(events_file);
  REQUIRE(events.size() == 4);
  CHECK(events[0] == std::vector<std::string>{"onset", "duration", "trial_type", "stim_index", "planned_onset", "planned_duration", "frames"});
  const auto flips = tsv_rows(record / "flips.tsv");
  REQUIRE(flips.size() > 80);
  const double planned_onset[3] = {0.1, 0.6, 1.1};
  const char* stims[3] = {"2", "0", "1"};
  for (int i = 0; i < 3; ++i) {
    const auto& ev = events[static_cast<size_t>(i) + 1];
    const double onset = std::stod(ev[0]), duration = std::stod(ev[1]);
    const int64_t frames = std::stoll(ev[6]);
    INFO("event " << i << ": onset " << onset << " duration " << duration << " frames " << frames);
    CHECK(ev[3] == stims[i]);
    CHECK(std::abs(onset - planned_onset[i]) <= frame + 0.006);  // the trigger's ms stamp, one frame
    CHECK(std::abs(duration - 0.25) <= frame + 0.002);             // within a frame of the plan
    CHECK(std::abs(duration - static_cast<double>(frames) * frame) < frame / 4);  // a whole number of frames
    CHECK(std::abs(frames - 15) <= 1);
    // The onset is the stamp of the first flip that showed the event (flips.tsv), from the trigger.
    bool found = false;
    for (size_t f = 1; f < flips.size() && !found; ++f)
      if (flips[f][4] == std::to_string(i)) {
        found = true;
        CHECK(std::abs(static_cast<double>(std::stoll(flips[f][2]) - t0) * 1e-9 - onset) < 1e-3);
        CHECK(flips[f][3] == stims[i]);  // the face on its first frame
      }
    CHECK(found);
  }
  // The 10 Hz flicker at 60 Hz: 3 frames on, 3 off, within an event.
  int on = 0, off = 0;
  for (size_t f = 1; f < flips.size(); ++f)
    if (flips[f][4] == "0") (flips[f][3] == "2" ? on : off)++;  // event 0 shows stimulus 2
  CHECK(on >= 7);
  CHECK(off >= 6);
  CHECK(std::abs(on - off) <= 3);
  const std::string summary = test::read_text(record / "presentation.json");
  CHECK(summary.find("\"events_shown\": 3") != std::string::npos);
  CHECK(summary.find("\"paced_by\": \"clock\"") != std::string::npos);
}

TEST_CASE("a serial trigger (a pseudo-terminal) starts the presentation; each trigger byte is logged; a port that does not open is named") {
  test::TempDir d;
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(grantpt(master) == 0);
  REQUIRE(unlockpt(master) == 0);
  const std::string port = ptsname(master);
  Presentation p(d, {{"trigger.source", std::string("serial")}, {"trigger.device", port}, {"trigger.baud", int64_t{9600}}});
  auto sink = p.make(d / "out");
  REQUIRE(sink != nullptr);
  for (int i = 0; i < 5; ++i) REQUIRE(sink->pump(10ms));
  REQUIRE(write(master, "x5", 2) == 2);  // 'x' is no trigger
  const auto record = d / ("out/presentation/" + kRun);
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 6; ++k) REQUIRE(sink->pump(10ms));
    REQUIRE(write(master, "5", 1) == 1);
  }
  pump_until_done(*sink, record / "presentation.json", 10s);
  sink->finish();
  close(master);
  const auto triggers = tsv_rows(record / "triggers.tsv");
  REQUIRE(triggers.size() == 5);
  for (size_t i = 1; i < triggers.size(); ++i) CHECK(triggers[i][4] == "serial");
  CHECK(tsv_rows(d / ("out/sub-01/func/" + kRun + "_events.tsv")).size() == 4);

  Presentation bad(d, {{"trigger.source", std::string("serial")}, {"trigger.device", std::string("/dev/no-such-port")}});
  try {
    bad.make(d / "out2");
    FAIL("a port that does not exist was opened");
  } catch (const SettingsError& e) {
    CHECK(std::string(e.what()).find("trigger.device: cannot open /dev/no-such-port") != std::string::npos);
  }
}

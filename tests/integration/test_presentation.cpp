// The presentation sink in this process, on SDL's dummy driver: a key trigger (an SDL key
// event, as a button box types it) and a serial trigger (a pseudo-terminal: a real termios
// device) start the design; the events, flips and triggers it writes are checked against
// the design and against each other.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <SDL.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "io/npy.hpp"
#include "io/png.hpp"
#include "presentation_support.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

// A design of three faces and a latents file of three rows in `d`; the settings of their headless presentation.
std::vector<std::pair<std::string, SettingValue>> three_faces(const test::TempDir& d, std::vector<std::pair<std::string, SettingValue>> more) {
  std::ofstream(d / "design.tsv") << "onset\tduration\ttrial_type\tstim_index\n0.1\t0.25\ttrain\t2\n0.6\t0.25\ttrain\t0\n1.1\t0.25\ttest\t1\n";
  std::vector<float> lat(3 * 512);
  for (size_t i = 0; i < lat.size(); ++i) lat[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
  write_npy(d / "latents.npy", {3, 512}, lat);
  std::vector<std::pair<std::string, SettingValue>> v{
      {"present.design", (d / "design.tsv").string()}, {"present.latents", (d / "latents.npy").string()},
      {"present.flicker_hz", 10.0},  {"display.driver", std::string("dummy")}, {"display.face_px", int64_t{32}},
      {"generator.kind", std::string("procedural")}, {"generator.resolution", int64_t{32}}};
  v.insert(v.end(), more.begin(), more.end());
  return v;
}

void pump_until_done(Sink& sink, const std::filesystem::path& summary, std::chrono::seconds limit) {
  REQUIRE(test::pump_until(sink, summary, limit));
}

using test::tsv_rows;

const std::string kRun = "sub-01_task-faces_run-01";

}  // namespace

TEST_CASE("the presentation starts at the trigger key and shows the design in whole frames, each face within a frame of the plan") {
  test::TempDir d;
  test::PresentationParts p(three_faces(d, {{"display.capture", true}, {"display.width", int64_t{640}}, {"display.height", int64_t{480}},
                                             {"display.face_px", int64_t{256}}, {"display.fixation_px", int64_t{24}},
                                             {"generator.resolution", int64_t{128}}}));
  auto sink = p.make(d / "out");
  REQUIRE(sink != nullptr);
  CHECK(sink->threading() == Sink::Threading::MainThread);
  // Waiting: the fixation cross only, no event written.
  for (int i = 0; i < 10; ++i) REQUIRE(sink->pump(10ms));
  const auto events_file = d / ("out/sub-01/func/" + kRun + "_events.tsv");
  CHECK(tsv_rows(events_file).size() == 1);  // the header
  CHECK(std::filesystem::exists(d / "out/stimuli"));  // the faces were drawn before the run
  const int64_t t_key = realtime_ns();
  test::push_trigger_key();
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
  REQUIRE(flips.size() > 70);  // 1.35 s of frames at 60 Hz from the trigger
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
      if (flips[f][3] == std::to_string(i)) {
        found = true;
        CHECK(std::abs(static_cast<double>(std::stoll(flips[f][1]) - t0) * 1e-9 - onset) < 1e-3);
        CHECK(flips[f][2] == stims[i]);  // the face on its first frame
      }
    CHECK(found);
  }
  // The 10 Hz flicker at 60 Hz: 3 frames on, 3 off, within an event.
  int on = 0, off = 0;
  for (size_t f = 1; f < flips.size(); ++f)
    if (flips[f][3] == "0") (flips[f][2] == "2" ? on : off)++;  // event 0 shows stimulus 2
  CHECK(on >= 7);
  CHECK(off >= 6);
  CHECK(std::abs(on - off) <= 3);
  // What the subject saw at the first face's onset: the face at the centre under the cross.
  const RgbImage shot = read_png(record / "screen/event-000.png");
  REQUIRE(shot.width == 640);
  const auto at = [&](int x, int y) {
    const size_t i = (static_cast<size_t>(y) * 640 + static_cast<size_t>(x)) * 3;
    return std::array<int, 3>{shot.rgb[i], shot.rgb[i + 1], shot.rgb[i + 2]};
  };
  CHECK(at(320, 240) == std::array<int, 3>{255, 0, 0});
  CHECK(at(5, 5) == std::array<int, 3>{128, 128, 128});
  CHECK(at(320 - 60, 240 + 60) != std::array<int, 3>{128, 128, 128});
  CHECK(at(320 - 140, 240) == std::array<int, 3>{128, 128, 128});  // outside the 256-pixel face
  if (const char* dir = std::getenv("HYPER_SCREENSHOTS"))
    std::filesystem::copy_file(record / "screen/event-000.png", std::filesystem::path(dir) / "presentation.png",
                               std::filesystem::copy_options::overwrite_existing);
  const std::string summary = test::read_text(record / "presentation.json");
  CHECK(summary.find("\"events_shown\": 3") != std::string::npos);
  CHECK(summary.find("\"paced_by\": \"clock\"") != std::string::npos);
}

TEST_CASE("a serial trigger (a pseudo-terminal) starts the presentation, each trigger byte is logged, a port that does not open is named") {
  test::TempDir d;
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(grantpt(master) == 0);
  REQUIRE(unlockpt(master) == 0);
  const std::string port = ptsname(master);
  test::PresentationParts p(three_faces(d, {{"trigger.source", std::string("serial")}, {"trigger.device", port}, {"trigger.baud", int64_t{9600}}}));
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

  test::PresentationParts bad(three_faces(d, {{"trigger.source", std::string("serial")}, {"trigger.device", std::string("/dev/no-such-port")}}));
  try {
    bad.make(d / "out2");
    FAIL("a port that does not exist was opened");
  } catch (const SettingsError& e) {
    CHECK(std::string(e.what()).find("trigger.device: cannot open /dev/no-such-port") != std::string::npos);
  }
}

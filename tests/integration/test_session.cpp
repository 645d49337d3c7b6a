// The live pipeline's one loop (src/core/session.hpp): a test-only source and a test-only
// sink, registered through the public registry API with no edit to the Session or the CLI,
// carry a twin run through it; the README's sink example, built as a plugin against
// include/hyper only, records every TR of `hyper stream`.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "builtin.hpp"
#include "core/registry.hpp"
#include "core/session.hpp"
#include "io/bids.hpp"
#include "io/nifti.hpp"
#include "io/tsv.hpp"
#include "support.hpp"
#include "twin_support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

// What the test sink saw, in order.
struct Seen {
  std::vector<std::string> events;  // "start RUN", "tr RUN INDEX", "end RUN received"
  std::vector<std::string> stages;
  std::map<int64_t, std::vector<float>> output;  // per index of the first run: the chain's output
  std::vector<Tr> trs;                           // their records (volume data left out)
};

// Plays the volumes of `twin_file.path` (a 4D NIfTI) as runs A and B, then finishes.
class TwinFileSource : public Source {
 public:
  explicit TwinFileSource(const std::string& path) : run_(read_nifti(path)) {}
  std::string describe() const override { return "the twin run, twice"; }
  bool finished() const override { return done_; }
  void stop() override { done_ = true; }
  std::optional<SourceEvent> next(std::chrono::milliseconds) override {
    if (done_) return std::nullopt;
    const int64_t n = run_.info.dims[3];
    const std::string id = step_ < n + 2 ? "A" : "B";
    const int64_t k = step_ % (n + 2);
    ++step_;
    if (step_ == 2 * (n + 2)) done_ = true;
    SourceEvent ev;
    ev.run = id;
    if (k == 0) {
      ev.kind = SourceEvent::Kind::RunStart;
      ev.count = n;
    } else if (k <= n) {
      ev.kind = SourceEvent::Kind::Volume;
      ev.tr = std::make_unique<Tr>();
      ev.tr->run = id;
      ev.tr->index = k - 1;
      ev.tr->n_volumes = n;
      ev.tr->tr_s = 1.5;
      ev.tr->volume = run_.volume(k - 1);
    } else {
      ev.kind = SourceEvent::Kind::RunEnd;
      ev.end = RunEnd{.run = id, .ended_by = "end of file", .received = n};
    }
    return ev;
  }

 private:
  NiftiRun run_;
  int64_t step_ = 0;
  bool done_ = false;
};

class CollectSink : public Sink {
 public:
  explicit CollectSink(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) {}
  void on_run_start(const RunStart& r) override {
    seen_->events.push_back("start " + r.run);
    seen_->stages = r.stages;
  }
  void on_tr(const Tr& tr) override {
    seen_->events.push_back("tr " + tr.run + " " + std::to_string(tr.index));
    if (tr.run != "A") return;
    seen_->output[tr.index] = tr.volume.data;
    Tr copy = tr;
    copy.volume.data.clear();
    seen_->trs.push_back(std::move(copy));
  }
  void on_run_end(const RunEnd& e) override { seen_->events.push_back("end " + e.run + " " + std::to_string(e.received)); }

 private:
  std::shared_ptr<Seen> seen_;
};

// N volumes of 4x4x2 of one run, each voxel the volume's index.
class CountingSource : public Source {
 public:
  explicit CountingSource(int64_t n) : n_(n) {}
  std::string describe() const override { return "counting"; }
  bool finished() const override { return done_; }
  void stop() override { stopped_ = true; }
  std::optional<SourceEvent> next(std::chrono::milliseconds) override {
    if (done_) return std::nullopt;
    SourceEvent ev;
    ev.run = "r";
    if (k_ < n_ && !stopped_) {
      ev.kind = SourceEvent::Kind::Volume;  // no RunStart: the Session starts the run itself
      ev.tr = std::make_unique<Tr>();
      ev.tr->run = "r";
      ev.tr->index = k_;
      ev.tr->tr_s = 1;
      ev.tr->volume.dims = {4, 4, 2};
      ev.tr->volume.data.assign(32, static_cast<float>(k_));
      ++k_;
      return ev;
    }
    done_ = true;
    ev.kind = SourceEvent::Kind::RunEnd;
    ev.end.run = "r";
    ev.end.received = k_;
    return ev;
  }

 private:
  int64_t n_, k_ = 0;
  bool stopped_ = false, done_ = false;
};

// Counts what it sees on the thread that calls it; throws at volume `fail_at`; as a
// main-thread sink, asks to stop once `stop_after` volumes were seen.
class ProbeSink : public Sink {
 public:
  ProbeSink(Threading threading, int64_t fail_at = -1, int64_t stop_after = -1)
      : threading_(threading), fail_at_(fail_at), stop_after_(stop_after) {}
  Threading threading() const override { return threading_; }
  void on_tr(const Tr& tr) override {
    ++seen;
    thread = std::this_thread::get_id();
    if (tr.index == fail_at_) throw std::runtime_error("probe: a failing output");
  }
  bool pump(std::chrono::milliseconds) override {
    ++pumps;
    return stop_after_ < 0 || seen < stop_after_;
  }
  void on_run_end(const RunEnd& e) override { ended = e.received; }
  void finish() override { finished = true; }
  Threading threading_;
  int64_t fail_at_, stop_after_;
  std::atomic<int64_t> seen{0}, pumps{0};
  int64_t ended = -1;
  bool finished = false;
  std::thread::id thread;
};


}  // namespace

TEST_CASE("a test-only source and sink, registered through the public registry, carry a twin run through the Session") {
  test::TempDir d;
  const auto run_file = test::small_twin(d).path;
  auto seen = std::make_shared<Seen>();

  PartRegistry parts;
  register_builtin_parts(parts);
  Registry& registry = parts;  // what a plugin gets: the public interface only
  registry.add_source({"twin_file", "test: a NIfTI run played twice",
                       {{.key = "twin_file.path", .type = SettingType::String, .def = std::string(""), .help = "the run"}},
                       [](const Params& p) -> std::unique_ptr<Source> { return std::make_unique<TwinFileSource>(p.get_string("twin_file.path")); }});
  registry.add_sink({"collect", "test: records what it is given",
                     {{.key = "collect.enabled", .type = SettingType::Bool, .def = false, .help = "on"}},
                     [seen](const SinkContext& ctx) -> std::unique_ptr<Sink> {
                       if (!ctx.settings.get_bool("collect.enabled")) return nullptr;
                       return std::make_unique<CollectSink>(seen);
                     }});
  CHECK_THROWS_AS(registry.add_sink({"collect", "twice", {}, [](const SinkContext&) { return std::unique_ptr<Sink>(); }}),
                  std::invalid_argument);
  const auto sections = parts.session_sections();
  CHECK(std::find(sections.begin(), sections.end(), "collect") != sections.end());
  CHECK(std::find(sections.begin(), sections.end(), "twin_file") != sections.end());

  Schema schema;
  parts.declare(schema);
  Settings st(schema);
  st.apply_assignment("preprocess.chain=[\"detrend\"]");
  st.apply_assignment("twin_file.path=" + run_file.string());
  st.apply_assignment("collect.enabled=true");

  Chain chain(parts, st);
  Session session(chain, {.max_runs = 1});
  add_registered_sinks(session, parts, st, "");
  CHECK(session.sink_count() == 2);  // collect and the progress line; the others are off
  const auto source = parts.source("twin_file").make(st);
  session.run(*source);

  // Run A whole, in order, then the Session stopped (max_runs 1): run B never reached it.
  const NiftiRun run = read_nifti(run_file);
  const int64_t n = run.info.dims[3];
  REQUIRE(n > 10);
  REQUIRE(seen->events.size() == static_cast<size_t>(n + 2));
  CHECK(seen->events.front() == "start A");
  for (int64_t k = 0; k < n; ++k) CHECK(seen->events[static_cast<size_t>(k + 1)] == "tr A " + std::to_string(k));
  CHECK(seen->events.back() == "end A " + std::to_string(n));
  CHECK(session.runs_ended() == 1);
  CHECK(seen->stages == std::vector<std::string>{"detrend"});

  // Each record after the chain equals the stages called directly, volume by volume, and
  // carries its stage time and t_ready.
  Chain reference(parts, st);
  reference.initialize(spec_of(run.volume(0), 1.5));
  reference.start_run({"A", 1.5, n});
  for (int64_t k = 0; k < n; ++k) {
    Tr tr;
    tr.run = "A";
    tr.index = k;
    tr.tr_s = 1.5;
    tr.volume = run.volume(k);
    reference.process(tr);
    INFO("volume " << k);
    CHECK(seen->output.at(k) == tr.volume.data);
    CHECK(seen->trs[static_cast<size_t>(k)].stage_ms.size() == 1);
    CHECK(seen->trs[static_cast<size_t>(k)].t.t_ready > 0);
  }

  // An unknown source is refused naming the setting and the known ones.
  CHECK_THROWS_WITH_AS(parts.source("gelink"), doctest::Contains("stream.source: unknown source 'gelink' (known: hyper1, nifti_run, pyneal, watch, twin_file)"),
                       SettingsError);
}

TEST_CASE("the built-in sinks' order: the face, the screen and the results before the files, the BOLD volume before its row in tr.tsv") {
  PartRegistry parts;
  register_builtin_parts(parts);
  std::map<std::string, size_t> at;
  for (const SinkInfo& info : parts.sinks()) at.emplace(info.name, at.size());
  for (const char* name : {"faces", "screen", "presentation", "results", "bold", "run_record", "dashboard"}) REQUIRE_MESSAGE(at.count(name), name);
  CHECK(at["faces"] < at["screen"]);
  for (const char* first : {"faces", "screen", "presentation", "results"}) {
    CAPTURE(first);
    CHECK(at[first] < at["bold"]);  // a BOLD volume's write (1-2 ms on a busy disk) waits for them, not they for it
  }
  CHECK(at["bold"] < at["run_record"]);       // resuming after a kill reads back the volumes tr.tsv lists
  CHECK(at["run_record"] < at["dashboard"]);  // the dashboard's API serves tr.tsv
}

TEST_CASE("the README's sink example, a plugin built against include/hyper only, records every TR of hyper stream") {
  // The example in the README is the file the build compiles.
  CHECK(test::readme_example("fd_csv_sink.cpp") == test::read_text(test::source_dir() / "tests/plugin/fd_csv_sink.cpp"));

  test::TempDir d;
  const auto run_file = test::small_twin(d).path;
  const std::string run_id = find_runs(d / "twin").at(0).run_id;
  const int rc = test::run(test::hyper_cmd({"stream", "--plugin", HYPER_FD_CSV_PLUGIN, "--source", "nifti_run", "--set",
                                            "nifti_run.input=" + run_file.string(), "--set", "nifti_run.speed=0", "--set",
                                            "fd_csv.path=" + (d / "fd.csv").string(), "--set", "preprocess.chain=[\"realign\"]",
                                            "--runs", "1", "--out", (d / "out").string()}),
                           d / "stream.log");
  INFO(test::read_text(d / "stream.log"));
  REQUIRE(rc == 0);
  // One line per volume, in order, with the fd the run record has for it.
  const auto index = read_tsv_column(d / "out" / run_id / "tr.tsv", "index");
  const auto fd = read_tsv_column(d / "out" / run_id / "tr.tsv", "fd_mm");
  std::ifstream csv(d / "fd.csv");
  std::string line;
  size_t k = 0;
  double moved = 0;
  while (std::getline(csv, line)) {
    REQUIRE(k < index.size());
    std::istringstream fields(line);
    std::string run, idx, value;
    std::getline(fields, run, ',');
    std::getline(fields, idx, ',');
    std::getline(fields, value);
    CHECK(run == run_id);
    CHECK(std::stod(idx) == index[k]);
    CHECK(std::abs(std::stod(value) - fd[k]) <= 1e-4);  // tr.tsv keeps 4 decimals
    moved = std::max(moved, std::stod(value));
    ++k;
  }
  CHECK(k == index.size());
  CHECK(k == static_cast<size_t>(read_nifti_info(run_file).dims[3]));
  CHECK(moved > 0);  // the twin moves: realignment gives a framewise displacement
  // Its setting is a setting like any other: shown with the stream's, checked like them.
  const int rc2 = test::run(test::hyper_cmd({"stream", "--plugin", HYPER_FD_CSV_PLUGIN, "--print-settings"}), d / "print.log");
  CHECK(rc2 == 0);
  CHECK(test::read_text(d / "print.log").find("[fd_csv]") != std::string::npos);
  CHECK(test::run(test::hyper_cmd({"stream", "--set", "fd_csv.path=x.csv", "--print-settings"}), d / "unknown.log") == 2);
}

TEST_CASE("the Session: a failing output is logged and the others go on, strict mode stops, main-thread sinks are pumped") {
  PartRegistry parts;
  Schema schema;
  parts.declare(schema);
  Settings st(schema);  // an empty chain: the volumes pass as they are
  Chain chain(parts, st);

  SUBCASE("online: one sink throws at volume 3, the run goes on for every sink") {
    Session session(chain, {});
    auto failing = std::make_shared<ProbeSink>(Sink::Threading::Inline, 3);
    auto other = std::make_shared<ProbeSink>(Sink::Threading::Inline);
    session.add(failing);
    session.add(other);
    CountingSource source(10);
    session.run(source);
    CHECK(failing->seen == 10);
    CHECK(other->seen == 10);
    CHECK(other->ended == 10);
    CHECK(other->finished);
    CHECK(other->thread == std::this_thread::get_id());  // no main-thread sink: the loop runs here
  }
  SUBCASE("strict (offline): the failure ends the run with the sink's error") {
    Session session(chain, {.strict = true});
    auto failing = std::make_shared<ProbeSink>(Sink::Threading::Inline, 3);
    session.add(failing);
    CountingSource source(10);
    CHECK_THROWS_WITH_AS(session.run(source), "probe: a failing output", std::runtime_error);
    CHECK(failing->seen == 4);
  }
  SUBCASE("a main-thread sink: the loop moves to a processing thread, the caller pumps; its stop ends the session") {
    Session session(chain, {});
    auto screen = std::make_shared<ProbeSink>(Sink::Threading::MainThread, -1, 5);
    session.add(screen);
    CountingSource source(1000000);
    session.run(source);
    CHECK(screen->pumps > 0);
    CHECK(screen->thread != std::this_thread::get_id());
    CHECK(screen->seen >= 5);
    CHECK(screen->seen < 1000000);   // stopped early: the source was told to stop
    CHECK(screen->ended == screen->seen);  // and the open run still got its end
    CHECK(screen->finished);
    CHECK(session.cut_short());  // Esc mid-run: hyper stream exits 130, not 0
  }
  SUBCASE("serial: the main-thread sink is pumped after every volume, on this thread") {
    Session session(chain, {.serial = true});
    auto screen = std::make_shared<ProbeSink>(Sink::Threading::MainThread);
    session.add(screen);
    CountingSource source(20);
    session.run(source);
    CHECK(screen->seen == 20);
    CHECK(screen->pumps == 21);  // 20 volumes and the run's end
    CHECK(screen->thread == std::this_thread::get_id());
    CHECK(!session.cut_short());  // every run ended on its own
  }
}


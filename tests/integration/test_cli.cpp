// The `hyper` executable as users run it: two processes, their files, their errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "stream_support.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

TEST_CASE("hyper replay --speed max into hyper stream --out: all 50 arrive, log, settings and summary written") {
  test::TempDir d;
  test::make_run(d / "run-a.nii.gz", {"--dims", "10", "10", "6", "50"});
  const int port = test::free_tcp_port();
  const auto out = d / "out";
  test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--runs", "1", "--out", out.string()}),
                       d / "stream.log");
  test::Process replay(test::hyper_cmd({"replay", "--input", (d / "run-a.nii.gz").string(), "--endpoint",
                                  test::loopback(port), "--speed", "max"}),
                       d / "replay.log");
  CHECK(replay.wait(60s) == 0);
  CHECK(stream.wait(30s) == 0);
  INFO(stream.output());
  const auto summary = nlohmann::json::parse(test::read_text(out / "run-a/summary.json"));
  CHECK(summary["received"] == 50);
  CHECK(summary["expected"] == 50);
  CHECK(summary["complete"] == true);
  CHECK(summary["missing"] == 0);
  CHECK(summary["dropped_total"] == 0);
  CHECK(summary["gaps"].empty());
  CHECK(summary["latency_sent_to_recv_ms"]["n"] == 50);
  CHECK(summary["latency_sent_to_recv_ms"]["p99"].get<double>() > 0);
  CHECK(test::read_text(out / "hyper.log").find("50 volumes received of 50") != std::string::npos);
  const std::string settings = test::read_text(out / "settings.toml");
  CHECK(settings.find("runs = 1  # flag --runs") != std::string::npos);
  CHECK(stream.output().find("complete") != std::string::npos);
}

TEST_CASE("bad settings fail before anything starts, naming the key and the file") {
  test::TempDir d;
  std::ofstream(d / "bad.toml") << "[replay]\nspeed = \"fast\"\n";
  CHECK(test::run(test::hyper_cmd({"replay", "--config", (d / "bad.toml").string(), "--input", "x.nii"}), d / "a.log") == 2);
  CHECK(test::read_text(d / "a.log").find("bad.toml: key 'replay.speed' must be a number or \"max\"") !=
        std::string::npos);
  std::ofstream(d / "typo.toml") << "[stream]\nendpont = \"tcp://127.0.0.1:1\"\n";
  CHECK(test::run(test::hyper_cmd({"stream", "--config", (d / "typo.toml").string()}), d / "b.log") == 2);
  CHECK(test::read_text(d / "b.log").find("unknown key 'stream.endpont' (did you mean 'stream.endpoint'?)") !=
        std::string::npos);
  CHECK(test::run(test::hyper_cmd({"replay", "--set", "replay.count=lots", "--input", "x.nii"}), d / "c.log") == 2);
  CHECK(test::read_text(d / "c.log").find("'replay.count' must be an integer") != std::string::npos);
  CHECK(test::run(test::hyper_cmd({"replay", "--input", (d / "missing.nii.gz").string()}), d / "d.log") == 2);
  CHECK(test::read_text(d / "d.log").find("replay.input: no such file: " + (d / "missing.nii.gz").string() + " (from --input)") !=
        std::string::npos);
}

TEST_CASE("replay refuses a network address unless told, and gives up on no subscriber with advice") {
  test::TempDir d;
  test::make_run(d / "r.nii", {"--dims", "4", "4", "4", "3"});
  CHECK(test::run(test::hyper_cmd({"replay", "--input", (d / "r.nii").string(), "--endpoint", "tcp://*:5999"}),
                  d / "a.log") == 1);
  CHECK(test::read_text(d / "a.log").find("not a loopback address") != std::string::npos);
  CHECK(test::run(test::hyper_cmd({"replay", "--input", (d / "r.nii").string(), "--endpoint",
                             test::loopback(test::free_tcp_port()), "--wait-timeout", "0.5"}),
                  d / "b.log") == 1);
  CHECK(test::read_text(d / "b.log").find("only 0 of 1 subscriber(s) joined") != std::string::npos);
  std::ofstream(d / "nothing.txt") << "x";
  CHECK(test::run(test::hyper_cmd({"replay", "--input", (d / "nothing.txt").string()}), d / "c.log") == 1);
  CHECK(test::read_text(d / "c.log").find("not a NIfTI file") != std::string::npos);
}

TEST_CASE("a run without a TR anywhere asks for --tr, --tr makes it play") {
  test::TempDir d;
  test::make_run(d / "r.nii", {"--dims", "4", "4", "4", "3", "--tr", "0"});
  CHECK(test::run(test::hyper_cmd({"replay", "--input", (d / "r.nii").string(), "--wait-subscribers", "0",
                             "--endpoint", test::loopback(test::free_tcp_port())}),
                  d / "a.log") == 1);
  CHECK(test::read_text(d / "a.log").find("no TR in the header") != std::string::npos);
  CHECK(test::run(test::hyper_cmd({"replay", "--input", (d / "r.nii").string(), "--wait-subscribers", "0", "--tr", "0.01",
                             "--endpoint", test::loopback(test::free_tcp_port())}),
                  d / "b.log") == 0);
}

TEST_CASE("Ctrl-C ends both sides cleanly, and stream still reports the open run") {
  test::TempDir d;
  test::make_run(d / "long.nii.gz", {"--dims", "6", "6", "4", "200"});
  const int port = test::free_tcp_port();
  const auto out = d / "out";
  test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--out", out.string()}),
                       d / "stream.log");
  test::Process replay(test::hyper_cmd({"replay", "--input", (d / "long.nii.gz").string(), "--endpoint",
                                  test::loopback(port), "--tr", "0.05"}),
                       d / "replay.log");
  // Interrupt once volumes flow (the run record grows as they come), however loaded the machine.
  for (int i = 0; i < 200; ++i) {
    const std::string tsv = test::read_text(out / "long/tr.tsv");
    if (std::count(tsv.begin(), tsv.end(), '\n') > 8) break;
    std::this_thread::sleep_for(100ms);
  }
  replay.signal(SIGINT);
  CHECK(replay.wait(10s) == 130);
  std::this_thread::sleep_for(300ms);
  stream.signal(SIGINT);
  CHECK(stream.wait(10s) == 130);
  INFO(stream.output());
  const auto summary = nlohmann::json::parse(test::read_text(out / "long/summary.json"));
  // replay sent run_end for what it had sent when interrupted.
  CHECK(summary["ended_by"] == "run_end");
  CHECK(summary["received"].get<int>() > 5);
  CHECK(summary["received"] == summary["volumes_sent"]);
  CHECK(summary["missing"].get<int>() == 200 - summary["received"].get<int>());
}

TEST_CASE("--help lists every setting with its default and unit") {
  test::TempDir d;
  CHECK(test::run(test::hyper_cmd({"replay", "--help"}), d / "h.log") == 0);
  const std::string help = test::read_text(d / "h.log");
  CHECK(help.find("--speed NUMBER") != std::string::npos);
  CHECK(help.find("[default: 1] (x real time)") != std::string::npos);
  CHECK(help.find("--wait-timeout NUMBER") != std::string::npos);
  CHECK(help.find("replay.heartbeat") != std::string::npos);  // config-only keys are listed too
  CHECK(test::run(test::hyper_cmd({"stream", "--help"}), d / "s.log") == 0);
  CHECK(test::read_text(d / "s.log").find("stream.run_timeout") != std::string::npos);
}

TEST_CASE("the example configs load, and --print-settings shows what a command will use") {
  test::TempDir d;
  const auto cfg = (test::source_dir() / "configs/replay.toml").string();
  CHECK(test::run(test::hyper_cmd({"replay", "--config", cfg, "--speed", "4", "--print-settings"}), d / "r.log") == 0);
  const std::string r = test::read_text(d / "r.log");
  CHECK(r.find("speed = 4  # flag --speed") != std::string::npos);
  CHECK(r.find("wait_timeout = 60  # file " + cfg) != std::string::npos);
  CHECK(test::run(test::hyper_cmd({"stream", "--config", cfg, "--print-settings"}), d / "s.log") == 0);
  CHECK(test::read_text(d / "s.log").find("out = 'records'") != std::string::npos);
  // scanner.toml: every key known and well typed, the values as written.
  const auto scanner = (test::source_dir() / "configs/scanner.toml").string();
  CHECK(test::run(test::hyper_cmd({"stream", "--config", scanner, "--print-settings"}), d / "sc.log") == 0);
  const std::string sc = test::read_text(d / "sc.log");
  CHECK(sc.find("fixation_deg = 0.6  # file " + scanner) != std::string::npos);
  CHECK(sc.find("kind = 'pggan'  # file " + scanner) != std::string::npos);
  const auto bench = (test::source_dir() / "configs/bench.toml").string();
  CHECK(test::run(test::hyper_cmd({"bench", "--config", bench, "--print-settings"}), d / "b1.log") == 0);
  CHECK(test::read_text(d / "b1.log").find("no realign: generator.kind=procedural") != std::string::npos);
  // demo.toml is what `hyper demo` embeds.
  const auto demo = (test::source_dir() / "configs/demo.toml").string();
  CHECK(test::run(test::hyper_cmd({"demo", "--config", demo, "--print-settings"}), d / "dm.log") == 0);
  CHECK(test::read_text(d / "dm.log").find("trials_per_run = 120  # file " + demo) != std::string::npos);
}

TEST_CASE("hyper demo runs the whole system and reports latency, quality and a contact sheet") {
  test::TempDir d;
  const int rc = test::run(test::hyper_cmd({"demo", "--out", (d / "demo").string(), "--port",
                                            std::to_string(test::free_tcp_port()), "--set", "demo.count=80", "--set",
                                            "demo.window=off", "--set", "demo.speed=20"}),
                           d / "demo.log", 240s);
  const std::string log = test::read_text(d / "demo.log");
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("| sent -> ready (received, preprocessed, decoded) | 80 |") != std::string::npos);
  CHECK(log.find("| latent Pearson r |") != std::string::npos);
  const auto j = nlohmann::json::parse(test::read_text(d / "demo/eval/eval.json"));
  const auto& r = j.at("metrics").at("latent_r");
  MESSAGE("demo reconstruction: latent r " << r.at("value").get<double>() << ", chance " << r.at("chance").get<double>());
  CHECK(r.at("value").get<double>() > 0.3);
  CHECK(std::abs(r.at("chance").get<double>()) < 0.05);
  CHECK(r.at("p").get<double>() < 0.01);
  CHECK(j.at("metrics").at("image_r").at("value").get<double>() > j.at("metrics").at("image_r").at("chance").get<double>());
  CHECK(std::filesystem::file_size(d / "demo/eval/contact_sheet.png") > 1000);
  CHECK(std::filesystem::exists(d / "demo/stream/sub-01_task-faces_run-01_bold/frames.tsv"));
}

TEST_CASE("hyper stream runs the preprocessing chain on every volume and reports its stages") {
  test::TempDir d;
  test::make_run(d / "r.nii.gz", {"--dims", "16", "16", "8", "20"});
  const int port = test::free_tcp_port();
  test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--runs", "1", "--set",
                                  "preprocess.chain=[\"realign\",\"mask\",\"detrend\",\"zscore\"]"}),
                       d / "stream.log");
  test::Process replay(test::hyper_cmd({"replay", "--input", (d / "r.nii.gz").string(), "--endpoint", test::loopback(port),
                                  "--speed", "max"}),
                       d / "replay.log");
  CHECK(replay.wait(30s) == 0);
  CHECK(stream.wait(30s) == 0);
  const std::string out = stream.output();
  INFO(out);
  CHECK(out.find("preprocessing per volume: realign: p50") != std::string::npos);
  CHECK(out.find("zscore: p50") != std::string::npos);
  // A chain that cannot be built stops the stream before it listens.
  CHECK(test::run(test::hyper_cmd({"stream", "--set", "preprocess.chain=[\"nope\"]"}), d / "bad.log") == 2);
  CHECK(test::read_text(d / "bad.log").find("unknown stage 'nope'") != std::string::npos);
}

TEST_CASE("the README's Python subscriber receives one JSON result per volume from hyper stream --results") {
  test::TempDir d;
  std::ofstream(d / "subscribe.py") << test::readme_example("subscribe.py");
  test::make_run(d / "run-r.nii.gz", {"--dims", "10", "10", "6", "40"});
  const int port = test::free_tcp_port(), results_port = test::free_tcp_port();
  test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--runs", "1", "--results",
                                        test::loopback(results_port)}),
                       d / "stream.log");
  test::Process sub({test::python(), (d / "subscribe.py").string(), test::loopback(results_port), "30"}, d / "sub.log");
  std::this_thread::sleep_for(1500ms);  // a subscriber that connects late misses what came before
  CHECK(test::run(test::hyper_cmd({"replay", "--input", (d / "run-r.nii.gz").string(), "--endpoint", test::loopback(port),
                                   "--tr", "0.02"}),
                  d / "replay.log") == 0);
  CHECK(stream.wait(30s) == 0);
  CHECK(sub.wait(30s) == 0);
  const std::string out = test::read_text(d / "sub.log");
  INFO(out);
  int lines = 0;
  for (char c : out) lines += c == '\n';
  CHECK(lines == 30);
  CHECK(out.find("run-r 0 ready ") != std::string::npos);
  CHECK(out.find("run-r 29 ready ") != std::string::npos);
}

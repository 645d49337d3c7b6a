// A new user's first hour (README, "Reliability and security"): no false success. A screen
// nobody can see, a decoder that refuses every volume, a dataset folder written twice and
// a missing GAN each get their error and their fix, or the stand-in with one warning.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/bids.hpp"
#include "stream_support.hpp"
#include "support.hpp"
#include "twin_support.hpp"

using namespace hyper;
using namespace std::chrono_literals;


TEST_CASE("--display with no display to show on is an error with its fix, not an invisible window") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  test::random_decoder_file(file, "[\"mask\"]", d / "dec.safetensors");
  std::vector<std::string> cmd{"/usr/bin/env", "-u", "DISPLAY", "-u", "WAYLAND_DISPLAY"};
  for (const auto& a : test::hyper_cmd({"stream", "--decoder", (d / "dec.safetensors").string(), "--faces", "--display", "--fullscreen",
                                        "--generator", "procedural"}))
    cmd.push_back(a);
  CHECK(test::run(cmd, d / "stream.log", 30s) == 2);
  const std::string log = test::read_text(d / "stream.log");
  CHECK(log.find("there is no display to show the faces on (DISPLAY and WAYLAND_DISPLAY are unset)") != std::string::npos);
  CHECK(log.find("display.driver = \"offscreen\"") != std::string::npos);
}

TEST_CASE("a run the decoder refuses is not complete, and a stream that decoded nothing does not succeed") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  test::random_decoder_file(file, "[\"mask\"]", d / "dec.safetensors");
  test::make_run(d / "other.nii.gz", {"--dims", "24", "32", "16", "6"});
  const int rc = test::run(test::hyper_cmd({"stream", "--source", "nifti_run", "--set", "nifti_run.input=" + (d / "other.nii.gz").string(),
                                            "--set", "nifti_run.speed=0", "--decoder", (d / "dec.safetensors").string(), "--out",
                                            (d / "out").string(), "--runs", "1"}),
                           d / "stream.log");
  const std::string log = test::read_text(d / "stream.log");
  INFO(log);
  CHECK(rc == 1);
  const auto s = nlohmann::json::parse(std::ifstream(d / "out/other/summary.json"));
  CHECK(s["complete"] == false);
  CHECK(s["processed"] == 0);
  CHECK(s["decoded"] == 0);
  CHECK(s["chain_error"].get<std::string>().find("these volumes are 24x32x16") != std::string::npos);
}

TEST_CASE("hyper simulate refuses a used folder unless --force, and no weights means the stand-in with one warning") {
  test::TempDir d;
  test::small_twin(d);
  CHECK(test::run(test::hyper_cmd({"simulate", "--out", (d / "twin").string(), "--preset", "small", "--set", "twin.snr=1"}),
                  d / "again.log") == 2);
  CHECK(test::read_text(d / "again.log").find("is not empty") != std::string::npos);
  CHECK(test::read_text(d / "again.log").find("--force") != std::string::npos);
  std::ofstream(d / "twin" / "stray.txt") << "left from before";
  CHECK(test::run(test::hyper_cmd({"simulate", "--out", (d / "twin").string(), "--preset", "small", "--force", "--log-level", "warn"}),
                  d / "force.log") == 0);
  CHECK(!std::filesystem::exists(d / "twin" / "stray.txt"));
  CHECK(find_runs(d / "twin").size() == 2);

  // No --generator, no weights: the procedural stand-in, said once.
  const auto z = d / "latents.npy";
  REQUIRE(test::run({test::python(), "-c", "import numpy; numpy.save('" + z.string() + "', numpy.zeros((2, 512), numpy.float32))"},
                    d / "np.log") == 0);
  CHECK(test::run(test::hyper_cmd({"render", "--latents", z.string(), "--out", (d / "faces").string(), "--resolution", "32"}),
                  d / "render.log") == 0);
  const std::string log = test::read_text(d / "render.log");
  CHECK(log.find("no GAN weights given") != std::string::npos);
  CHECK(log.find("no GAN weights given", log.find("no GAN weights given") + 1) == std::string::npos);
  CHECK(std::filesystem::exists(d / "faces" / "000001.png"));
  // Asked for the PGGAN without weights: the error offers the ways out.
  CHECK(test::run(test::hyper_cmd({"render", "--latents", z.string(), "--out", (d / "f2").string(), "--generator", "pggan"}),
                  d / "pggan.log") == 2);
  CHECK(test::read_text(d / "pggan.log").find("tools/convert_pggan.py and pass --weights FILE, or draw the stand-in with --generator procedural") != std::string::npos);
}

TEST_CASE("hyper bench whose stream dies at start says why at once, not after 30 s") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(test::run(test::hyper_cmd({"bench", "--input", file.path.string(), "--out", (d / "bench").string(), "--volumes", "5", "--set",
                                   "bench.warmup=1", "--set", "bench.plots=false", "--generator", "pggan", "--set",
                                   "preprocess.chain=[\"mask\"]"}),
                  d / "bench.log") == 1);
  CHECK(std::chrono::steady_clock::now() - t0 < 20s);
  const std::string log = test::read_text(d / "bench.log");
  CHECK(log.find("hyper stream exited before it subscribed (exit 2)") != std::string::npos);
  CHECK(log.find("the pggan generator needs a weights file") != std::string::npos);
}

TEST_CASE("hyper eval refuses a run record scored against another run's events, and says which trial types it scored") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  const auto runs = find_runs(d / "twin");
  REQUIRE(runs.size() == 2);
  test::random_decoder_file(file, "[\"mask\"]", d / "dec.safetensors");
  REQUIRE(test::run(test::hyper_cmd({"stream", "--source", "nifti_run", "--set", "nifti_run.input=" + file.path.string(), "--set",
                                     "nifti_run.speed=0", "--decoder", (d / "dec.safetensors").string(), "--out", (d / "out").string(),
                                     "--runs", "1"}),
                    d / "stream.log") == 0);
  auto eval = [&](const RunFile& events_of, const std::string& tag, std::vector<std::string> extra) {
    std::vector<std::string> args = test::hyper_cmd({"eval", "--pred", (d / "out" / file.run_id).string(), "--events",
                                                     events_path(events_of.path).string(), "--latents",
                                                     (d / "twin/stimuli/latents.npy").string(), "--set", "eval.images=false",
                                                     "--set", "eval.draws=20", "--out", (d / tag).string()});
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run(args, d / (tag + ".log"));
  };
  CHECK(eval(runs[0], "right", {}) == 0);
  CHECK(test::read_text(d / "right.log").find("trial types scored: ") != std::string::npos);
  CHECK(eval(runs[1], "wrong", {}) == 1);
  CHECK(test::read_text(d / "wrong.log").find("is run " + runs[0].run_id + ", but") != std::string::npos);
  CHECK(test::read_text(d / "wrong.log").find("give each record its own run's events") != std::string::npos);
  CHECK(eval(runs[1], "forced", {"--force"}) == 0);
  CHECK(test::read_text(d / "forced.log").find("warning: ") != std::string::npos);
}

TEST_CASE("hyper train names a folder that is not a dataset, a missing latents file and --train-runs that match nothing, exit 2") {
  test::TempDir d;
  test::small_twin(d);
  auto train = [&](std::vector<std::string> args, const std::string& tag) {
    std::vector<std::string> cmd = test::hyper_cmd({"train", "--out", (d / "dec.safetensors").string()});
    cmd.insert(cmd.end(), args.begin(), args.end());
    const int rc = test::run(cmd, d / (tag + ".log"));
    return std::pair{rc, test::read_text(d / (tag + ".log"))};
  };
  auto [rc1, log1] = train({"--dataset", (d / "twin/sub-01").string()}, "sub");
  CHECK(rc1 == 2);
  CHECK(log1.find("is not a BIDS dataset") != std::string::npos);
  CHECK(log1.find("sub-*/func/*_bold.nii[.gz]") != std::string::npos);
  std::filesystem::remove(d / "twin/stimuli/latents.npy");
  auto [rc2, log2] = train({"--dataset", (d / "twin").string()}, "latents");
  CHECK(rc2 == 2);
  CHECK(log2.find("train.latents: no such file") != std::string::npos);
  CHECK(log2.find("--latents FILE") != std::string::npos);
  auto [rc3, log3] = train({"--dataset", (d / "twin").string(), "--latents", (d / "x.npy").string()}, "given");
  CHECK(rc3 == 2);
  CHECK(log3.find("train.latents: no such file: " + (d / "x.npy").string() + " (from --latents)") != std::string::npos);
  REQUIRE(test::run({test::python(), "-c", "import numpy; numpy.save('" + (d / "x.npy").string() + "', numpy.zeros((40, 512), numpy.float32))"},
                    d / "np.log") == 0);
  auto [rc4, log4] = train({"--dataset", (d / "twin").string(), "--latents", (d / "x.npy").string(), "--train-runs", "nosuch"}, "runs");
  CHECK(rc4 == 2);
  CHECK(log4.find("none of the runs named is in") != std::string::npos);
  CHECK(log4.find("runs found: sub-01_task-faces_run-01_bold, sub-01_task-faces_run-02_bold") != std::string::npos);
}

TEST_CASE("a chain written as a comma list is answered with the list syntax") {
  test::TempDir d;
  std::ofstream(d / "x.nii") << "";  // there, so that the chain is what is wrong
  CHECK(test::run(test::hyper_cmd({"preprocess", "--set", "preprocess.chain=realign,mask", "--input", (d / "x.nii").string(), "--output",
                                   (d / "y.nii").string()}),
                  d / "chain.log") == 2);
  CHECK(test::read_text(d / "chain.log").find("a list is written as TOML: preprocess.chain=[\"realign\", \"mask\"]") != std::string::npos);
}

// Every mistake answered with its fix: command -> exit code -> message (README, "Exit codes").
TEST_CASE("the CLI table: each mistake gets exit 2 (usage, settings) or 1 (a failure), one line naming it, and the fix") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  test::random_decoder_file(file, "[\"mask\"]", d / "dec.safetensors");
  const std::string dec = (d / "dec.safetensors").string(), twin = (d / "twin").string(), run = file.path.string();
  REQUIRE(test::run(test::hyper_cmd({"stream", "--source", "nifti_run", "--set", "nifti_run.input=" + run, "--set", "nifti_run.speed=0",
                                     "--set", "nifti_run.count=5", "--decoder", dec, "--out", (d / "out").string(), "--runs", "1"}),
                    d / "record.log") == 0);
  std::ofstream(d / "slip.toml") << "[stream]\nendpoint = tcp://127.0.0.1:5555\n";
  std::ofstream(d / "switch.toml") << "[display]\nenabled = yes\n";
  // A port held by another program (a listening socket of this test).
  const int holder = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(holder, 1) == 0);
  socklen_t len = sizeof a;
  getsockname(holder, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string held = "tcp://127.0.0.1:" + std::to_string(ntohs(a.sin_port));

  struct Row {
    std::vector<std::string> args;
    int code;
    std::string message;
  };
  const std::vector<Row> table{
      {{}, 2, "give a command: simulate, replay, stream"},
      {{"frobnicate"}, 2, "unknown command 'frobnicate'; the commands: simulate"},
      {{"simulat"}, 2, "unknown command 'simulat' (did you mean 'simulate'?)"},
      {{"replay", "--sped", "10"}, 2, "unknown flag --sped (did you mean --speed?) for hyper replay"},
      {{"replay", "--input"}, 2, "--input"},
      {{"replay", "--config", "missing.toml"}, 2, "missing.toml"},
      {{"replay"}, 2, "replay.input: required: give it with --input"},
      {{"train", "--dataset", twin}, 2, "train.out: required: give it with --out"},
      {{"stream", "--endpoint", "127.0.0.1:5555"}, 2, "stream.endpoint: '127.0.0.1:5555' is not a ZeroMQ endpoint"},
      {{"stream", "--config", (d / "slip.toml").string()}, 2, "(text is written in quotes: endpoint = \"tcp://127.0.0.1:5555\")"},
      {{"stream", "--config", (d / "switch.toml").string()}, 2, "(a switch is written true or false: enabled = true)"},
      {{"stream", "--decoder", dec, "--faces", "--generator", "pggan"}, 2, "tools/convert_pggan.py and pass --weights FILE"},
      {{"render", "--latents", twin + "/stimuli/latents.npy", "--out", (d / "r").string(), "--resolution", "100"}, 2,
       "generator.resolution: 100 is not a power of 2"},
      {{"train", "--dataset", twin, "--out", (d / "t.safetensors").string()}, 2, "give a penalty with --penalty 1000"},
      {{"train", "--dataset", (d / "nosuch").string(), "--out", "x"}, 2,
       "train.dataset: no such file: " + (d / "nosuch").string() + " (from --dataset)"},
      {{"stream", "--decoder", (d / "nosuch.safetensors").string()}, 2, "no such file: " + (d / "nosuch.safetensors").string() + " (from --decoder)"},
      {{"stream", "--decoder", twin + "/stimuli/latents.npy"}, 1, "latents.npy: not a decoder file (safetensors written by hyper train)"},
      {{"stream", "--decoder", dec, "--results", held}, 2, "stream.results (--results): cannot bind " + held + ": Address already in use"},
      {{"eval", "--pred", (d / "out").string(), "--events", events_path(file.path).string(), "--latents", twin + "/stimuli/latents.npy",
        "--out", (d / "e").string(), "--set", "eval.images=false"},
       1, "a stream's out folder, not a run record: give one of its run folders (" + (d / "out" / file.run_id).string() + ")"},
      {{"stream", "--decoder", dec, "--display"}, 2, "display.enabled: the screen shows faces: add --faces"},
      {{"train", "--help"}, 0, "decoder file to write REQUIRED"},
      {{"train", "--help"}, 0, "BIDS dataset folder (or --responses and --targets)"},
      {{"replay", "--help"}, 0, "Example:\n  hyper replay --input twin"},
      {{"replay", "--help"}, 0, "--speed NUMBER|max"},
  };
  for (size_t i = 0; i < table.size(); ++i) {
    const Row& row = table[i];
    std::vector<std::string> cmd = test::hyper_cmd({});
    cmd.insert(cmd.end(), row.args.begin(), row.args.end());
    const auto log = d / ("row" + std::to_string(i) + ".log");
    const int rc = test::run(cmd, log, 60s);
    const std::string text = test::read_text(log);
    CAPTURE(i);
    CAPTURE(text);
    CHECK(rc == row.code);
    CHECK(text.find(row.message) != std::string::npos);
    if (row.code == 2) CHECK(std::count(text.begin(), text.end(), '\n') <= 2);  // one line, not a wall
    if (i < 6) {  // refused by the command line itself, whatever CLI11 would have said: "hyper: ..." and nothing else
      CHECK(text.rfind("hyper: ", 0) == 0);
      CHECK(std::count(text.begin(), text.end(), '\n') == 1);
    }
  }
  close(holder);
}

TEST_CASE("every --help ends with an example that parses, and hyper demo --print-settings shows what the demo runs") {
  test::TempDir d;
  for (const std::string c : {"simulate", "replay", "stream", "preprocess", "train", "decode", "render", "eval", "bench", "demo", "bridge"}) {
    CAPTURE(c);
    REQUIRE(test::run(test::hyper_cmd({c, "--help"}), d / "help.log") == 0);
    const std::string help = test::read_text(d / "help.log");
    const auto at = help.find("Example:\n  hyper ");
    REQUIRE(at != std::string::npos);
    // The example's own flags, with --print-settings: it must parse (exit 0).
    std::string line = help.substr(at + 12, help.find('\n', at + 12) - at - 12);
    line = line.substr(0, line.find("   ("));  // a comment after the command
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string w; in >> w;) words.push_back(w.front() == '\'' ? w.substr(1, w.size() - 2) : w);
    std::vector<std::string> cmd = test::hyper_cmd({});
    cmd.insert(cmd.end(), words.begin() + 1, words.end());
    cmd.push_back("--print-settings");
    CHECK(test::run(cmd, d / "example.log") == 0);
  }
  REQUIRE(test::run(test::hyper_cmd({"demo", "--print-settings"}), d / "demo.log") == 0);
  const std::string demo = test::read_text(d / "demo.log");
  CHECK(demo.find("chain = [ 'realign', 'mask' ]  # file embedded configs/demo.toml") != std::string::npos);
  CHECK(demo.find("kind = 'procedural'  # file embedded configs/demo.toml") != std::string::npos);
  CHECK(demo.find("preset = 'small'") != std::string::npos);
  CHECK(demo.find("mode = 'tr'  # file embedded configs/demo.toml") != std::string::npos);
}

TEST_CASE("a replay whose only subscriber left says so, and goes on at its pace") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  const int port = test::free_tcp_port();
  test::Process replay(test::hyper_cmd({"replay", "--input", file.path.string(), "--endpoint", test::loopback(port), "--speed", "10",
                                        "--count", "20"}),
                       d / "replay.log");
  // A subscriber that reads three messages and leaves.
  REQUIRE(test::run({test::python(), "-c",
                     "import zmq\n"
                     "s = zmq.Context().socket(zmq.SUB)\n"
                     "s.connect('" + test::loopback(port) + "')\n"
                     "s.setsockopt(zmq.SUBSCRIBE, b'')\n"
                     "for _ in range(3): s.recv_multipart()\n"
                     "s.close(0)\n"},
                    d / "sub.log", 60s) == 0);
  CHECK(replay.wait(60s) == 0);
  const std::string log = test::read_text(d / "replay.log");
  INFO(log);
  CHECK(log.find("subscriber joined") != std::string::npos);
  CHECK(log.find("the last subscriber left " + test::loopback(port) + ": what is sent until one subscribes again is lost") !=
        std::string::npos);
}

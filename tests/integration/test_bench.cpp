// hyper bench end to end on a small twin: in-process and two-process, variants side by side,
// the stage breakdown adding up, and the files it writes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <nlohmann/json.hpp>

#include "io/tsv.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

TEST_CASE("hyper bench in-process: every volume timed through codec, chain and generator, detrend variants side by side") {
  test::TempDir d;
  const int rc = test::run(test::hyper_cmd({"bench", "--out", (d / "b").string(), "--process", "in", "--mode", "flood", "--volumes", "30",
                                            "--generator", "procedural", "--resolution", "32", "--set", "twin.preset=small", "--set",
                                            "preprocess.chain=[\"mask\",\"detrend\"]", "--set", "bench.plots=true", "--variants",
                                            "preprocess.detrend.mode=glm", "preprocess.detrend.mode=refit"}),
                           d / "bench.log", 240s);
  const std::string log = test::read_text(d / "bench.log");
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("## Side by side") != std::string::npos);
  const auto j = nlohmann::json::parse(test::read_text(d / "b/bench.json"));
  REQUIRE(j.at("variants").size() == 2);
  for (const auto& v : j.at("variants")) {
    CHECK(v.at("measured") == 30);
    CHECK(v.at("faces") == 30);  // in-process: a face every volume, none skipped
    CHECK(v.at("skipped") == 0);
    for (const char* stage : {"transport", "mask", "detrend", "decode", "generate"}) CHECK(v.at("stages").contains(stage));
    CHECK(v.at("end_to_end").at("sent -> image").at("n") == 30);
  }
  CHECK(j.at("variants")[1].at("variant") == "preprocess.detrend.mode=refit");
  // Each volume's stages add up to its sent -> ready time (in-process: nothing waits).
  const auto dir = d / "b/01-preprocess.detrend.mode_glm";
  const auto ready = read_tsv_column(dir / "timings.tsv", "sent_to_ready_ms");
  const auto transport = read_tsv_column(dir / "timings.tsv", "transport_ms");
  std::vector<double> sum(ready.size(), 0.0);
  for (const char* s : {"mask_ms", "detrend_ms", "decode_ms"}) {
    const auto c = read_tsv_column(dir / "timings.tsv", s);
    for (size_t i = 0; i < c.size(); ++i) sum[i] += c[i];
  }
  REQUIRE(ready.size() == 35);  // 5 warm-up + 30
  std::vector<double> share;      // of sent -> ready that the stages account for
  for (size_t i = 0; i < ready.size(); ++i) {
    CAPTURE(i);
    CHECK(transport[i] + sum[i] <= ready[i] + 0.01);
    share.push_back((transport[i] + sum[i]) / ready[i]);
  }
  std::sort(share.begin(), share.end());
  CHECK(share[share.size() / 2] > 0.7);  // the median: a preempted volume may wait between stages
  CHECK(std::filesystem::exists(dir / "timeline.png"));
  CHECK(std::filesystem::exists(d / "b/latency.png"));
  const std::string md = test::read_text(d / "b/bench.md");
  CHECK(md.find("| **sent -> image** | 30 |") != std::string::npos);
  // bench.md says when, where and what, and links its plots.
  CHECK(md.find("Measured 20") != std::string::npos);
  CHECK(md.find(" cores, ") != std::string::npos);
  CHECK(md.find("; commit ") != std::string::npos);
  CHECK(md.find("](01-preprocess.detrend.mode_glm/timeline.png)") != std::string::npos);
  CHECK(md.find("](latency.png)") != std::string::npos);
  // The plots: the TR (1.5 s) and the budget (200 ms) lines inside the axis, one colour per stage in every variant.
  const auto t1 = nlohmann::json::parse(test::read_text(dir / "timeline.json"));
  const auto t2 = nlohmann::json::parse(test::read_text(d / "b/02-preprocess.detrend.mode_refit/timeline.json"));
  for (const auto& t : {t1, t2}) {
    CHECK(t.at("lines").at("TR").get<double>() == doctest::Approx(1500));
    CHECK(t.at("lines").at("budget").get<double>() == doctest::Approx(200));
    for (const auto& [name, y] : t.at("lines").items()) {
      CAPTURE(name);
      CHECK(y.get<double>() < t.at("ylim")[1].get<double>());
      CHECK(y.get<double>() > t.at("ylim")[0].get<double>());
    }
    CHECK(t.at("title").get<std::string>().find("(sent -> image), n = 30 volumes") != std::string::npos);
  }
  CHECK(t1.at("colours") == t2.at("colours"));
  std::set<std::string> distinct;
  for (const auto& [stage, colour] : t1.at("colours").items()) distinct.insert(colour.get<std::string>());
  CHECK(distinct.size() == t1.at("colours").size());
  CHECK(t1.at("colours").contains("detrend"));
}

TEST_CASE("hyper bench with hyper stream as a second process: its run record gives every stage") {
  test::TempDir d;
  const int rc = test::run(test::hyper_cmd({"bench", "--out", (d / "b").string(), "--mode", "paced", "--set", "bench.speed=10",
                                            "--volumes", "20", "--generator", "procedural", "--resolution", "32", "--set",
                                            "twin.preset=small", "--set", "preprocess.chain=[\"mask\"]", "--set", "bench.plots=false",
                                            "--set", "bench.port=" + std::to_string(test::free_tcp_port())}),
                           d / "bench.log", 240s);
  const std::string log = test::read_text(d / "bench.log");
  INFO(log);
  REQUIRE(rc == 0);
  const auto j = nlohmann::json::parse(test::read_text(d / "b/bench.json"));
  const auto& v = j.at("variants").at(0);
  CHECK(v.at("measured") == 20);
  CHECK(v.at("dropped") == 0);
  CHECK(v.at("faces").get<int>() + v.at("skipped").get<int>() == 20);
  CHECK(v.at("faces").get<int>() >= 15);  // paced at 10x (150 ms a volume), a 32-pixel face keeps up
  CHECK(v.at("stages").at("transport").at("p50").get<double>() < 50);
  CHECK(v.at("end_to_end").at("sent -> image").at("p50").get<double>() >= v.at("end_to_end").at("sent -> ready").at("p50").get<double>());
  CHECK(std::filesystem::exists(d / "b/01-baseline/stream/sub-01_task-faces_run-01_bold/tr.tsv"));
}

TEST_CASE("hyper bench --baseline python: the same run through the Python pipeline, the same numbers, timed beside it with the ratio") {
  test::TempDir d;
  const std::string chain = R"(preprocess.chain=["realign","smooth","mask","detrend","zscore"])";
  const int rc = test::run(test::hyper_cmd({"bench", "--out", (d / "b").string(), "--process", "in", "--mode", "flood", "--volumes", "20",
                                            "--set", "bench.faces=false", "--set", "twin.preset=small", "--set", chain, "--set",
                                            "bench.plots=false", "--baseline", "python"}),
                           d / "bench.log", 240s);
  const std::string log = test::read_text(d / "bench.log");
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("## The Python baseline") != std::string::npos);
  const auto j = nlohmann::json::parse(test::read_text(d / "b/bench.json"));
  const auto& py = j.at("python_baseline");
  CHECK(py.at("volumes") == 20);
  for (const char* stage : {"realign", "smooth", "mask", "detrend", "zscore", "decode"}) {
    INFO(stage);
    CHECK(py.at("stages").at(stage).at("n") == 20);
    CHECK(py.at("ratio").at(stage).at("p50").get<double>() > 0);
  }
  CHECK(py.at("ratio").at("sent -> ready").at("p50").get<double>() > 0);
  // The same math: its z-scored features equal hyper preprocess's on the same run, volume by volume.
  const auto run = d / "b/twin/sub-01/func/sub-01_task-faces_run-01_bold.nii.gz";
  REQUIRE(test::run(test::hyper_cmd({"preprocess", "--input", run.string(), "--output", (d / "pre.nii").string(), "--set", chain}),
                    d / "pre.log", 120s) == 0);
  REQUIRE(test::run({test::python(), std::string(HYPER_SOURCE_DIR) + "/tools/python_baseline.py", "--input", run.string(), "--chain",
                     "realign,smooth,mask,detrend,zscore", "--volumes", "30", "--warmup", "0", "--features", (d / "py.npy").string()},
                    d / "py.log", 120s) == 0);
  const int same = test::run({test::python(), "-c",
                              "import sys, numpy as np, nibabel as nib\n"
                              "a = np.asanyarray(nib.load(sys.argv[1]).dataobj).astype(np.float64)\n"
                              "a = a.reshape(-1, a.shape[3], order='F').T[:30]\n"
                              "b = np.load(sys.argv[2]).astype(np.float64)\n"
                              "d = np.abs(a - b).max(); print('largest difference', d, 'of', np.abs(a).max())\n"
                              "assert a.shape == b.shape and (a != 0).sum() == (b != 0).sum() and d < 1e-3",
                              (d / "pre.nii").string(), (d / "py.npy").string()},
                             d / "same.log", 60s);
  INFO(test::read_text(d / "same.log"));
  CHECK(same == 0);
}

TEST_CASE("coarse-first faces: the early level reaches the screen before the full face, both stamped and in the bench's rows") {
  test::TempDir d;
  const auto weights = d / "w64.safetensors";
  REQUIRE(test::run({test::python(), std::string(HYPER_SOURCE_DIR) + "/tools/pggan_reference.py", "random", "--channels",
                     "32,32,32,16,16", "--out", weights.string()},
                    d / "w.log", 60s) == 0);
  const int rc = test::run(test::hyper_cmd({"bench", "--out", (d / "b").string(), "--volumes", "12", "--set", "bench.speed=10",
                                            "--generator", "pggan", "--set", "generator.weights=" + weights.string(), "--resolution",
                                            "64", "--set", "stream.coarse_first=16", "--display", "--set", "display.driver=offscreen",
                                            "--set", "twin.preset=small", "--set", "bench.plots=false"}),
                           d / "bench.log", 240s);
  const std::string log = test::read_text(d / "bench.log");
  INFO(log);
  REQUIRE(rc == 0);
  const auto v = nlohmann::json::parse(test::read_text(d / "b/bench.json")).at("variants").at(0);
  const auto& e2e = v.at("end_to_end");
  REQUIRE(e2e.contains("sent -> first image"));
  REQUIRE(e2e.contains("sent -> first on screen"));
  CHECK(e2e.at("sent -> first image").at("p50").get<double>() < e2e.at("sent -> image").at("p50").get<double>());
  CHECK(e2e.at("sent -> first on screen").at("n").get<int>() > 0);
  // The record: each face's early time before its full one; the screen shows both, marked.
  std::filesystem::path rec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(d / "b"))
    if (e.path().filename() == "frames.tsv") rec = e.path().parent_path();
  REQUIRE(!rec.empty());
  const auto first = read_tsv_column(rec / "frames.tsv", "sent_to_first_image_ms"), full = read_tsv_column(rec / "frames.tsv", "sent_to_image_ms");
  REQUIRE(!first.empty());
  for (size_t i = 0; i < first.size(); ++i) {
    CHECK(first[i] >= 0);
    CHECK(first[i] <= full[i]);
  }
  const auto coarse = read_tsv_column(rec / "presented.tsv", "coarse");
  CHECK(std::count(coarse.begin(), coarse.end(), 1.0) > 0);
  CHECK(std::count(coarse.begin(), coarse.end(), 0.0) > 0);
}

// The closed loop on one machine: `hyper stream --feedback adaptive` and the twin as a live
// subject (`hyper simulate --live`) holding a hidden target, through tools/closed_loop.py
// (the README's figure). What is checked here is recomputed from the files the runs left:
// the faces the twin answered are the trials the protocol showed, 4.5 s apart, and over 10
// seeds the adaptive search finds a face closer to the target than random faces do
// (a paired sign-flip permutation test, computed here).
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "io/npy.hpp"
#include "support.hpp"
#include "presentation_support.hpp"

using namespace hyper;
namespace fs = std::filesystem;

TEST_CASE("closed loop, the twin as a live subject: the adaptive search beats random faces over 10 seeds (p < 0.05)") {
  test::TempDir d;
  const int rc = test::run({test::python(), std::string(HYPER_SOURCE_DIR) + "/tools/closed_loop.py", "--seeds", "10", "--trials", "60",
                            "--out", d.path().string(), "--hyper", HYPER_BINARY, "--port", std::to_string(test::free_tcp_port())},
                           d / "closed_loop.log", std::chrono::seconds(280));
  INFO(test::read_text(d / "closed_loop.log"));
  REQUIRE(rc == 0);

  // The loop is closed: the twin answered a new face every trial (3 TRs of 1.5 s), each put on
  // screen a little after the volume that decided it; the stream logged a feedback value every TR.
  const auto shown = test::tsv_rows(d / "seed-01-exploit-0.5/live/shown.tsv");
  REQUIRE(shown.size() >= 62);  // the header, 60 trials, the face found
  for (size_t k = 2; k <= 60; ++k) {
    const double gap = std::stod(shown[k][0]) - std::stod(shown[k - 1][0]);
    CHECK(std::abs(gap - 4.5) < 0.1);
  }
  const double first = std::stod(shown[1][0]);
  CHECK(first >= 1.5);  // after the first volume (1.5 s) and the loop's latency
  CHECK(first < 1.6);
  fs::path record;
  for (const auto& e : fs::recursive_directory_iterator(d / "seed-01-exploit-0.5/stream"))
    if (e.path().filename() == "feedback.tsv") record = e.path().parent_path();
  REQUIRE(!record.empty());
  CHECK(test::tsv_rows(record / "feedback.tsv").size() == 201);
  // The faces the stream logged as chosen (events.tsv, shown_latents.npy) are the faces the twin answered.
  const auto events = test::tsv_rows(record / "events.tsv");
  REQUIRE(events.size() == shown.size());
  CHECK(events[1][2] == "adaptive");
  for (size_t k = 1; k < events.size(); ++k) CHECK(std::abs(std::stod(events[k][0]) - std::stod(shown[k][0])) < 0.05);
  const NpyArray mine = read_npy(record / "shown_latents.npy"), theirs = read_npy(d / "seed-01-exploit-0.5/live/shown_latents.npy");
  CHECK(mine.shape == theirs.shape);
  CHECK(mine.data == theirs.data);

  // The face found, per seed and condition; adaptive against random, paired.
  std::map<std::string, std::map<int, double>> found;
  for (const auto& row : test::tsv_rows(d / "convergence.tsv"))
    if (row.size() == 4 && row[2] == "found") found[row[0]][std::stoi(row[1])] = std::stod(row[3]);
  REQUIRE(found["adaptive"].size() == 10);
  REQUIRE(found["random"].size() == 10);
  std::vector<double> diff;
  for (int s = 1; s <= 10; ++s) diff.push_back(found["adaptive"][s] - found["random"][s]);
  double observed = 0;
  for (double x : diff) observed += x;
  int as_large = 0;
  for (int signs = 0; signs < 1024; ++signs) {
    double sum = 0;
    for (int i = 0; i < 10; ++i) sum += (signs >> i & 1 ? -1 : 1) * diff[static_cast<size_t>(i)];
    as_large += sum >= observed - 1e-9;
  }
  const double p = as_large / 1024.0;
  double random = 0;
  for (const auto& [s, v] : found["random"]) random += v / 10;
  MESSAGE("face found: adaptive beats random by " << observed / 10 << " sd of likeness on average; p = " << p);
  CHECK(p < 0.05);
  CHECK(random > 1);  // random faces with the same update find the target too, less closely
}

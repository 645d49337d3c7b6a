#include <doctest/doctest.h>

#include <fstream>

#include "io/bids.hpp"
#include "support.hpp"

using namespace hyper;
namespace fs = std::filesystem;

TEST_CASE("runs are found in a BIDS dataset, in order, with the sidecar TR") {
  test::TempDir d;
  const fs::path func = d / "sub-01/func";
  fs::create_directories(func);
  for (const char* r : {"02", "01"})
    test::make_run(func / (std::string("sub-01_task-faces_run-") + r + "_bold.nii.gz"), {"--dims", "4", "4", "4", "2"});
  std::ofstream(func / "sub-01_task-faces_run-01_bold.json") << R"({"RepetitionTime": 2.0})";
  std::ofstream(d / "task-faces_bold.json") << R"({"RepetitionTime": 1.5, "TaskName": "faces"})";
  test::make_run(func / "sub-01_task-faces_run-01_sbref.nii.gz", {"--dims", "4", "4", "4", "2"});

  const auto runs = find_runs(d.path());
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].run_id == "sub-01_task-faces_run-01_bold");
  CHECK(runs[0].sidecar_tr_s == 2.0);  // its own sidecar wins
  CHECK(runs[1].run_id == "sub-01_task-faces_run-02_bold");
  CHECK(runs[1].sidecar_tr_s == 1.5);  // inherited from the dataset level

  const auto one = find_runs(func / "sub-01_task-faces_run-01_bold.nii.gz");
  REQUIRE(one.size() == 1);
  CHECK(one[0].sidecar_tr_s == 2.0);
}

TEST_CASE("inputs that are not runs are named in the error") {
  test::TempDir d;
  CHECK_THROWS_WITH_AS(find_runs(d / "nothing"), doctest::Contains("nothing: no such file or folder"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(find_runs(d.path()), doctest::Contains("no runs found"), std::runtime_error);
  std::ofstream(d / "notes.txt") << "x";
  CHECK_THROWS_WITH_AS(find_runs(d / "notes.txt"), doctest::Contains("notes.txt: not a NIfTI file"),
                       std::runtime_error);
  fs::create_directories(d / "sub-01/func");
  test::make_run(d / "sub-01/func/sub-01_task-x_bold.nii", {"--dims", "4", "4", "4", "2"});
  std::ofstream(d / "sub-01/func/sub-01_task-x_bold.json") << R"({"RepetitionTime": -1})";
  CHECK_THROWS_WITH_AS(find_runs(d.path()), doctest::Contains("RepetitionTime must be a positive number"),
                       std::runtime_error);
}

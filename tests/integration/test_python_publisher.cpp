// The README's Python publisher, run as written (extracted from README.md, so the two
// cannot drift apart), into the library's Receiver.
#include <doctest/doctest.h>

#include <fstream>

#include "io/npy.hpp"
#include "stream_support.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;


TEST_CASE("the README's 20-line Python publisher streams a run the receiver accepts whole") {
  test::TempDir d;
  const std::string code = test::readme_example("publish.py");
  int lines = 0;
  for (char ch : code) lines += ch == '\n';
  CHECK(lines <= 24);
  std::ofstream(d / "publish.py") << code;
  test::make_run(d / "run.nii.gz", {"--dims", "12", "10", "8", "15", "--dtype", "int16", "--expected",
                                    (d / "run.npy").string()});
  const int port = test::free_tcp_port();
  test::TestReceiver receiver({.endpoint = test::loopback(port)});
  Receiver& rx = receiver.rx;
  test::Process py({test::python(), (d / "publish.py").string(), (d / "run.nii.gz").string(), test::loopback(port),
                    "0.01"},
                   d / "py.log");
  const auto c = test::collect(rx, 1, 60s);
  CHECK(py.wait(30s) == 0);
  INFO(py.output());
  REQUIRE(c.summaries.size() == 1);
  CHECK(c.summaries[0].run == "example");
  CHECK(c.summaries[0].complete());
  CHECK(rx.dropped() == std::array<int64_t, kRejectCount>{});
  REQUIRE(c.volumes.size() == 15);
  const NpyArray ref = read_npy(d / "run.npy");
  for (const auto& tr : c.volumes)
    CHECK(std::equal(tr->volume.data.begin(), tr->volume.data.end(), ref.data.data() + tr->index * ref.shape[1]));
  CHECK(c.volumes[3]->volume.affine[3] == doctest::Approx(90));
}

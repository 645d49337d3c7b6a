// The live twin (sim/twin_subject) against the written twin: shown a written run's design
// face by face, as a closed loop would show it, it answers with that run's volumes.
#include <doctest/doctest.h>

#include <cstring>

#include <spdlog/fmt/fmt.h>

#include "io/bids.hpp"
#include "io/nifti.hpp"
#include "sim/twin_model.hpp"
#include "sim/twin_subject.hpp"
#include "support.hpp"

using namespace hyper;

TEST_CASE("the live twin shown a written run's faces as they come answers with that run's volumes, to one int16 step") {
  test::TempDir d;
  TwinConfig c;
  c.dims = {24, 24, 12};
  c.voxel_mm = 8;
  c.runs = 2, c.test_runs = 1, c.trials_per_run = 12, c.threads = 1;
  simulate_twin(c, d.path());
  const Anatomy a = make_anatomy(c);
  const int T = c.volumes_per_run();
  for (int run = 0; run < 2; ++run) {
    const auto name = d / fmt::format("sub-01/func/sub-01_task-faces_run-{:02d}", run + 1);
    const NiftiRun written = read_nifti(name.string() + "_bold.nii.gz");
    REQUIRE(written.info.dims[3] == T);
    TwinSubject live(c, a, run, T, std::nullopt, 0, 1);
    const std::vector<Event> events = read_events(name.string() + "_events.tsv");
    size_t next = 0;
    bool on = false;
    std::vector<std::byte> raw(live.scan().volume_bytes());
    int64_t differing = 0, largest = 0;
    for (int t = 0; t < T; ++t) {
      // What went on screen before this volume's scan time, in order: a face, then the fixation screen.
      while (next < events.size() && (on ? events[next].onset + c.face_s : events[next].onset) < t * c.tr_s) {
        const Eigen::VectorXf z = a.latents.row(events[next].stim_index).transpose();  // contiguous (the matrix is column-major)
        if (!on) live.show(z.data(), events[next].onset);
        else live.show(nullptr, events[next++].onset + c.face_s);
        on = !on;
      }
      live.volume(t, raw.data());
      const std::span<const std::byte> want = written.volume_raw(t);
      REQUIRE(want.size() == raw.size());
      for (size_t v = 0; v < raw.size() / 2; ++v) {
        int16_t x = 0, y = 0;
        std::memcpy(&x, raw.data() + 2 * v, 2);
        std::memcpy(&y, want.data() + 2 * v, 2);
        differing += x != y;
        largest = std::max<int64_t>(largest, std::abs(x - y));
      }
    }
    MESSAGE("run " << run + 1 << ": " << differing << " of " << T * a.n << " voxel values differ (float sums in another order)");
    CHECK(largest <= 1);
    CHECK(differing < T * a.n / 1000);
    CHECK(live.shown().size() == 2 * events.size());
  }
}

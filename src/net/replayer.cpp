#include "net/replayer.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/interrupt.hpp"
#include "io/nifti.hpp"

namespace hyper {

VolumeHeader volume_header(const NiftiInfo& info, const std::string& run_id, double tr_s) {
  VolumeHeader h;
  h.run = run_id;
  h.n_volumes = info.dims[3];
  h.tr_s = tr_s;
  h.dims = {info.dims[0], info.dims[1], info.dims[2]};
  h.voxel_mm = info.voxel_mm;
  h.dtype = info.dtype;
  h.byte_order = native_byte_order();
  h.memory_order = MemoryOrder::Fortran;
  h.scl_slope = info.slope;
  h.scl_inter = info.inter;
  h.affine = info.affine;
  return h;
}

namespace {

// Sleeps until `deadline`, sending a heartbeat whenever `heartbeat` passes without traffic.
// False when interrupted.
bool wait_until(Publisher& pub, SteadyClock::time_point deadline, std::chrono::milliseconds heartbeat,
                SteadyClock::time_point& last_sent, int64_t& seq) {
  while (SteadyClock::now() < deadline) {
    if (interrupted()) return false;
    if (SteadyClock::now() - last_sent >= heartbeat) {
      ControlMessage hb;
      hb.type = ControlType::Heartbeat;
      hb.seq = seq++;
      pub.send_control(hb);
      last_sent = SteadyClock::now();
    }
    // Short naps keep Ctrl-C responsive; the last one lands on the deadline itself.
    std::this_thread::sleep_until(std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(50)));
  }
  return !interrupted();
}

ReplayReport replay_run(Publisher& pub, const RunFile& file, const std::string& run_id, const ReplayOptions& o,
                        int64_t& heartbeat_seq) {
  spdlog::info("loading {}", file.path.string());
  auto run = std::make_shared<const NiftiRun>(read_nifti(file.path));
  const NiftiInfo& info = run->info;
  const double tr = run_tr(file, info.tr_s, info.time_unit, o.tr_s);
  const int64_t n = info.dims[3];
  if (o.start >= n)
    throw std::runtime_error(file.path.string() + ": --start " + std::to_string(o.start) + " but the run has " +
                             std::to_string(n) + " volumes");
  int64_t count = o.count < 0 ? n - o.start : o.count;
  if (o.start + count > n) {
    spdlog::warn("{}: --count {} from --start {} passes the run's end; sending {}", file.path.string(), count,
                 o.start, n - o.start);
    count = n - o.start;
  }

  VolumeHeader h = volume_header(info, run_id, tr);

  ControlMessage start;
  start.type = ControlType::RunStart;
  start.run = run_id;
  start.first_index = o.start;
  start.count = count;
  start.tr_s = tr;
  pub.send_control(start);
  spdlog::info("run {}: {} volumes {}x{}x{} {} from index {}, TR {} s, speed {}", run_id, count, h.dims[0], h.dims[1],
               h.dims[2], dtype_name(h.dtype), o.start, tr, std::isinf(o.speed) ? "max" : fmt::format("{}", o.speed));

  ReplayReport report{run_id, 0, tr, {}, 0};
  std::vector<double> lateness;
  const bool paced = std::isfinite(o.speed);
  const auto period = std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(tr / o.speed));
  const auto t0 = SteadyClock::now();
  auto last_sent = t0;
  for (int64_t k = 0; k < count; ++k) {
    const auto deadline = t0 + k * period;
    if (paced && !wait_until(pub, deadline, o.heartbeat, last_sent, heartbeat_seq)) break;
    const auto t_send = SteadyClock::now();
    h.index = o.start + k;
    if (!pub.send_volume(h, run->volume_raw(h.index), run)) break;
    last_sent = SteadyClock::now();
    const double late_ms = paced ? std::chrono::duration<double, std::milli>(t_send - deadline).count() : 0.0;
    lateness.push_back(late_ms);
    ++report.sent;
    spdlog::debug("run {} volume {} sent, {:.3f} ms after its deadline", run_id, h.index, late_ms);
    if (o.on_volume) o.on_volume(run_id, report.sent, count, late_ms);
  }
  ControlMessage end;
  end.type = ControlType::RunEnd;
  end.run = run_id;
  end.volumes_sent = report.sent;
  pub.send_control(end);
  report.duration_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  report.lateness_ms = summarize(std::move(lateness));
  return report;
}

}  // namespace

std::vector<ReplayReport> replay(Publisher& pub, const std::vector<RunFile>& runs, const ReplayOptions& o) {
  if (!(o.speed > 0)) throw std::runtime_error("speed must be positive or \"max\"");
  if (o.start < 0) throw std::runtime_error("--start must be >= 0");
  std::vector<ReplayReport> reports;
  int64_t heartbeat_seq = 0;
  for (int pass = 1; !interrupted(); ++pass) {
    for (const RunFile& f : runs) {
      if (interrupted()) break;
      const std::string base = to_run_id(f.run_id.substr(0, kMaxRunIdLength - 8));
      const std::string id = pass == 1 ? base : base + ".rep" + std::to_string(pass);
      reports.push_back(replay_run(pub, f, id, o, heartbeat_seq));
    }
    if (!o.loop) break;
  }
  return reports;
}

}  // namespace hyper

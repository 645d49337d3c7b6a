#include "sources/nifti_run.hpp"

#include <cmath>
#include <limits>
#include <thread>

#include <spdlog/fmt/fmt.h>

#include "core/clock.hpp"
#include "core/crc32.hpp"
#include "core/session.hpp"
#include "io/bids.hpp"
#include "net/protocol.hpp"
#include "net/replayer.hpp"

namespace hyper {

NiftiRunSource::NiftiRunSource(const NiftiRun& run, std::string run_id, double tr_s, NiftiRunOptions options)
    : run_(&run), run_id_(std::move(run_id)), tr_s_(tr_s), o_(options) {
  const int64_t n = run_->info.dims[3];
  count_ = o_.count < 0 ? n : std::min(o_.count, n);
}

namespace {
struct Opened {
  std::unique_ptr<NiftiRun> run;
  RunFile file;
};
Opened open_first_run(const std::string& input) {
  if (input.empty()) throw std::runtime_error("nifti_run.input: give the run to play (a 4D NIfTI or a BIDS folder)");
  RunFile file = find_runs(input).at(0);
  return {std::make_unique<NiftiRun>(read_nifti(file.path)), file};
}
}  // namespace

NiftiRunSource::NiftiRunSource(const std::string& input, NiftiRunOptions options) : o_(options) {
  Opened o = open_first_run(input);
  owned_ = std::move(o.run);
  run_ = owned_.get();
  run_id_ = o.file.run_id;
  tr_s_ = run_tr(o.file, run_->info.tr_s, run_->info.time_unit);
  const int64_t n = run_->info.dims[3];
  count_ = o_.count < 0 ? n : std::min(o_.count, n);
}

std::string NiftiRunSource::describe() const {
  return fmt::format("{} ({} volumes, TR {} s{})", run_id_, count_, tr_s_,
                     o_.speed > 0 && std::isfinite(o_.speed) ? fmt::format(", paced at {}x", o_.speed) : ", as fast as taken");
}

std::unique_ptr<Tr> NiftiRunSource::volume(int64_t k) const {
  auto tr = std::make_unique<Tr>();
  if (!o_.codec) {
    tr->run = run_id_;
    tr->index = k;
    tr->n_volumes = run_->info.dims[3];
    tr->tr_s = tr_s_;
    tr->t.t_sent = realtime_ns();  // "sent": when this source handed it on (its latency starts here)
    tr->volume = run_->volume(k);
    tr->t.t_recv = realtime_ns();
    return tr;
  }
  // The message as the publisher makes it and the receiver checks and converts it.
  VolumeHeader h = volume_header(run_->info, run_id_, tr_s_);
  const auto payload = run_->volume_raw(k);
  h.index = k;
  h.payload_bytes = payload.size();
  h.crc32 = crc32(payload);
  h.t_sent = realtime_ns();
  const std::string header = encode_volume_header(h);
  const std::span<const std::byte> frames[3] = {std::as_bytes(std::span(kTopicVolume)), std::as_bytes(std::span(header)), payload};
  const Decoded d = decode_message(frames);
  if (!std::holds_alternative<VolumeMessage>(d))
    throw std::runtime_error("nifti_run: our own hyper/1 message was refused: " + std::get<Rejection>(d).detail);
  const VolumeMessage& m = std::get<VolumeMessage>(d);
  tr->run = m.header.run;
  tr->index = m.header.index;
  tr->n_volumes = m.header.n_volumes;
  tr->tr_s = m.header.tr_s;
  tr->volume = to_volume(m.header, m.payload);
  tr->t = TrStamps{m.header.t_acq, m.header.t_sent, realtime_ns()};
  return tr;
}

std::optional<SourceEvent> NiftiRunSource::next(std::chrono::milliseconds) {
  SourceEvent ev;
  ev.run = run_id_;
  switch (state_) {
    case State::Start:
      state_ = State::Volumes;
      ev.kind = SourceEvent::Kind::RunStart;
      ev.count = count_;
      ev.tr_s = tr_s_;
      return ev;
    case State::Volumes:
      if (next_ < count_ && !stopped_) {
        if (next_ == 0) t0_ = SteadyClock::now();
        if (o_.speed > 0 && std::isfinite(o_.speed))
          std::this_thread::sleep_until(t0_ + next_ * std::chrono::duration_cast<SteadyClock::duration>(
                                                          std::chrono::duration<double>(tr_s_ / o_.speed)));
        ev.kind = SourceEvent::Kind::Volume;
        ev.tr = volume(next_++);
        return ev;
      }
      state_ = State::Finished;
      ev.kind = SourceEvent::Kind::RunEnd;
      ev.end.run = run_id_;
      ev.end.ended_by = next_ < count_ ? "shutdown" : "end of file";
      ev.end.received = next_;
      ev.end.missing = count_ - next_;
      return ev;
    case State::Finished:
      break;
  }
  return std::nullopt;
}

void run_chain_offline(Chain& chain, const NiftiRun& run, const std::string& run_id, double tr_s,
                       const std::function<void(const Tr&)>& on_tr, const NiftiRunOptions& options) {
  NiftiRunSource source(run, run_id, tr_s, options);
  // Offline a non-finite voxel is an error; no range is imposed (a recorded dataset's units are its own).
  Session session(chain, {.serial = true, .strict = true, .log_runs = false, .max_abs_value = std::numeric_limits<double>::infinity()});
  session.add(std::make_unique<FunctionSink>(on_tr));
  session.run(source);
}

void register_nifti_run(Registry& r) {
  using T = SettingType;
  r.add_source({"nifti_run", "a recorded 4D NIfTI run played in this process, paced at its TR",
                {{.key = "nifti_run.input", .type = T::String, .def = std::string(""),
                  .help = "the run to play: a 4D NIfTI, or a BIDS folder (its first run)", .existing = true},
                 {.key = "nifti_run.speed", .type = T::Float, .def = 1.0, .unit = "x",
                  .help = "x real time (one volume per TR / speed); 0: as fast as the pipeline takes them", .min = 0.0},
                 {.key = "nifti_run.count", .type = T::Int, .def = int64_t{-1}, .unit = "volumes",
                  .help = "volumes from the first; -1: all", .min = -1.0}},
                [](const Params& p) -> std::unique_ptr<Source> {
                  return std::make_unique<NiftiRunSource>(
                      p.get_string("nifti_run.input"),
                      NiftiRunOptions{.speed = p.get_float("nifti_run.speed"), .count = p.get_int("nifti_run.count")});
                }});
}

}  // namespace hyper

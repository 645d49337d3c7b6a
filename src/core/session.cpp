#include "core/session.hpp"

#include <algorithm>

#include <cmath>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/dtype.hpp"
#include "core/interrupt.hpp"

namespace hyper {

Session::Session(Chain& chain, SessionOptions options) : chain_(chain), options_(options) {}

SinkContext Session::context(const Params& settings, std::string out,
                             std::function<std::unique_ptr<Generator>(const GeneratorOptions&)> make_generator) {
  const auto& names = chain_.names();
  return SinkContext{.settings = settings,
                     .out = std::move(out),
                     .decoding = std::find(names.begin(), names.end(), "decode") != names.end(),  // a feedback protocol may follow it
                     .serial = options_.serial,
                     .publish_face = [this](std::shared_ptr<const Face> f) { publish_face(std::move(f)); },
                     .dropped = [this] {
                       Source* s = source_.load();
                       return s ? s->dropped() : int64_t{0};
                     },
                     .make_generator = std::move(make_generator)};
}

void Session::add(std::shared_ptr<Sink> sink) {
  if (sink) sinks_.push_back(std::move(sink));
}

void Session::publish_face(std::shared_ptr<const Face> face) {
  each_sink("face", [&](Sink& s) { s.on_face(face); });
}

template <typename F>
void Session::each_sink(const char* what, F&& f) {
  for (auto& s : sinks_) {
    try {
      f(*s);
    } catch (const std::exception& e) {  // one failing output must not stop the others, nor the scan
      if (options_.strict) throw;
      failures_.warn(what, fmt::format("{}: {}", what, e.what()));  // at most once a second, the rest counted
    }
  }
}

void Session::run(Source& source) {
  source_.store(&source);
  source.start();
  bool main_thread_sinks = false;
  for (const auto& s : sinks_) main_thread_sinks |= s->threading() == Sink::Threading::MainThread;
  if (options_.serial || !main_thread_sinks) {
    loop(source);
  } else {
    std::atomic<bool> done{false};
    std::exception_ptr failure;
    std::jthread processing([&] {
      try {
        loop(source);
      } catch (...) {
        failure = std::current_exception();
        stop_ = true;
      }
      done = true;
    });
    try {
      while (!done && !stop_)
        if (!pump_main(std::chrono::milliseconds(10))) stop_ = true;
    } catch (...) {  // the loop must end before the exception leaves (the join would wait for a source that never ends)
      stop_ = true;
      processing.join();
      throw;
    }
    processing.join();
    if (failure) std::rethrow_exception(failure);
  }
  each_sink("finishing", [](Sink& s) { s.finish(); });
  source_.store(nullptr);
}

bool Session::pump_main(std::chrono::milliseconds wait) {
  bool go_on = true;
  for (auto& s : sinks_)
    if (s->threading() == Sink::Threading::MainThread && !s->pump(wait)) go_on = false;
  return go_on;
}

void Session::loop(Source& source) {
  bool stopping = false;
  // Waiting is said, never silent: an unreachable publisher looks exactly like a quiet one.
  constexpr auto kWaitReport = std::chrono::seconds(5);
  auto last_event = SteadyClock::now(), last_report = last_event;
  while (true) {
    if (!stopping && (stop_ || interrupted())) {
      if (options_.strict && interrupted()) throw Interrupted();  // half a run is no result
      // Esc on the subject's window mid-run; not the run opened after the last of --runs N.
      cut_short_ = !source_run_.empty() && !(options_.max_runs > 0 && runs_ended_ >= options_.max_runs);
      source.stop();  // an open run gets its end; what is queued is still taken
      stopping = true;
    }
    auto ev = source.next(std::chrono::milliseconds(100));
    if (!ev) {
      if (source.finished()) break;
      const auto now = SteadyClock::now();
      if (options_.log_runs && !stopping && source_run_.empty() && now - last_report >= kWaitReport) {
        last_report = now;
        spdlog::info("waiting for volumes from {} ({:.0f} s without any)", source.describe(),
                     std::chrono::duration<double>(now - last_event).count());
      }
      continue;
    }
    last_event = last_report = SteadyClock::now();
    handle(*ev);
    if (options_.serial && !pump_main(std::chrono::milliseconds(0))) stop_ = true;
  }
}

void Session::handle(SourceEvent& ev) {
  switch (ev.kind) {
    case SourceEvent::Kind::RunStart:
      start_run(ev.run, ev.first_index, ev.count, ev.announced);
      break;
    case SourceEvent::Kind::Volume:
      if (ev.tr->run != source_run_) start_run(ev.tr->run, 0, ev.tr->n_volumes, true);  // a source that does not announce runs
      ev.tr->run = run_;
      if (const char* why = refuse(*ev.tr)) {
        ++counts_.rejected[why];
        return;
      }
      process(*ev.tr);
      break;
    case SourceEvent::Kind::RunEnd:
      if (ev.end.run == source_run_) end_run(ev.end);
      break;
  }
}

void Session::start_run(const std::string& run, int64_t first_index, int64_t count, bool announced) {
  if (!source_run_.empty()) end_run(RunEnd{.run = source_run_, .ended_by = "new_run"});  // a source that does not end runs
  // A record on disk is never overwritten: a run id seen before (in this session, or with
  // a record in the output folder) is recorded as RUN.2, RUN.3, ...
  std::string id = run;
  resume_.reset();
  rebuilt_next_ = first_index;
  rebuilt_ = 0;
  if (options_.resume && !announced && !used_runs_.count(run)) resume_ = options_.resume(run);
  if (resume_) {
    spdlog::warn("run {}: resuming its unfinished record in {} (volumes to {} recorded before the stream stopped); the stages' "
                 "state is rebuilt from {}",
                 run, options_.out, resume_->recorded_through, resume_->from);
    for (const auto& stage : chain_.not_rebuildable())
      spdlog::warn("run {}: stage {} says its state cannot be rebuilt from the volumes: it is fed them again, but may not be "
                   "where it was", run, stage);
  }
  for (int k = 2; !resume_ && (used_runs_.count(id) || (!options_.out.empty() && std::filesystem::exists(std::filesystem::path(options_.out) / id)));
       ++k)
    id = run + "." + std::to_string(k);
  if (id != run) spdlog::warn("run {}: {} already has a record of that name: this run is recorded as {}", run, options_.out.empty() ? "this session" : options_.out, id);
  used_runs_.insert(id);
  source_run_ = run;
  run_ = id;
  counts_ = {};
  chain_started_ = chain_ok_ = false;
  if (options_.log_runs)
    spdlog::info("run {}: receiving{}", id, count > 0 ? fmt::format(" {} volumes from index {}", count, first_index) : "");
  const RunStart rs{id, first_index, count, chain_.names(), run, resume_ ? resume_->recorded_through : -1};
  each_sink("run start", [&](Sink& s) { s.on_run_start(rs); });
}

const char* Session::refuse(const Tr& tr) {
  // The entry check (DESIGN.md): no stage sees a volume that would poison its per-run state.
  const Volume& v = tr.volume;
  const char* why = nullptr;
  if (v.voxel_count() <= 0 || static_cast<int64_t>(v.data.size()) != v.voxel_count()) why = "shape";
  else {
    const ValueCheck check = check_values(v.data, static_cast<float>(options_.max_abs_value));
    if (check == ValueCheck::NonFinite) why = "non_finite";
    else if (check == ValueCheck::OutOfRange) why = "out_of_range";
  }
  if (!why) return nullptr;
  const std::string what = fmt::format("run {}: volume {} refused ({}): {}", tr.run, tr.index, why,
                                       std::string_view(why) == "shape"        ? "its voxels do not fill its grid"
                                       : std::string_view(why) == "non_finite" ? "NaN or infinite voxels (a failed export, an overflowing scl_slope)"
                                                                                : fmt::format("voxels beyond +-{} (stream.max_abs_value)", options_.max_abs_value));
  if (options_.strict) throw std::runtime_error(what);  // offline: a hole in the data is an error, not a gap
  failures_.warn(why, what);
  return why;
}

void Session::process(Tr& tr) {
  if (!chain_started_) {  // the run's first volume: now the grid is known
    chain_started_ = true;
    try {
      chain_.initialize(spec_of(tr.volume, tr.tr_s));
      chain_.start_run({tr.run, tr.tr_s, tr.n_volumes});
      chain_ok_ = true;
    } catch (const std::exception& e) {
      if (options_.strict) throw;
      counts_.chain_error = e.what();
      spdlog::error("run {}: the preprocessing chain cannot process it: {}", tr.run, e.what());
    }
  }
  if (resume_ && rebuild_before(tr)) return;
  each_sink("recording", [&](Sink& s) { s.on_received(tr); });
  if (chain_ok_ && !chain_.empty()) chain_.process(tr);
  tr.t.t_ready = realtime_ns();
  if (chain_ok_) ++counts_.processed;
  if (tr.decoded) ++counts_.decoded;
  if (tr.t.t_sent > 0 && tr.tr_s > 0 && static_cast<double>(tr.t.t_ready - tr.t.t_sent) * 1e-9 > options_.max_lag_trs * tr.tr_s &&
      counts_.late++ == 0)
    spdlog::warn("run {}: volume {} was ready {:.1f} s after it was sent, more than {} TRs: processing is behind the scanner. "
                 "Every volume is still processed and recorded (the chain needs them all, in order); the screen shows the "
                 "newest face. Said once a run; the summary counts the late volumes",
                 tr.run, tr.index, ns_to_ms(tr.t.t_ready - tr.t.t_sent) * 1e-3, options_.max_lag_trs);
  each_sink("output", [&](Sink& s) { s.on_tr(tr); });
}

bool Session::rebuild_before(Tr& tr) {
  const int64_t last = resume_->recorded_through;
  const bool chain = chain_ok_ && !chain_.empty();
  int64_t lost_from = -1;
  for (; rebuilt_next_ < std::min(tr.index, last + 1); ++rebuilt_next_) {
    auto v = resume_->recorded(rebuilt_next_);
    if (!v) {  // neither recorded nor delivered: the original run did not have it either, or it is lost
      if (lost_from < 0) lost_from = rebuilt_next_;
      continue;
    }
    Tr old;
    old.run = tr.run;
    old.index = rebuilt_next_;
    old.n_volumes = tr.n_volumes;
    old.tr_s = tr.tr_s;
    old.volume = std::move(*v);
    old.volume.voxel_mm = tr.volume.voxel_mm;  // the geometry as received, not as the recording's float32 header rounds it
    old.volume.affine = tr.volume.affine;
    if (chain) chain_.rebuild(old);
    ++rebuilt_;
  }
  if (lost_from >= 0)
    spdlog::info("run {}: volumes {}-{} are not in {} (missing in the run, or lost): the state is rebuilt without them", tr.run,
                 lost_from, std::min(tr.index, last + 1) - 1, resume_->from);
  if (tr.index > last) return false;
  if (tr.index >= rebuilt_next_) {  // recorded before the stop, delivered again (resent): it rebuilds state
    if (chain) chain_.rebuild(tr);
    ++rebuilt_;
    rebuilt_next_ = tr.index + 1;
  }
  return true;
}

void Session::end_run(const RunEnd& source_end) {
  const bool timed = chain_started_ && chain_ok_ && !chain_.empty();
  if (timed) chain_.stop_run();
  RunEnd end = source_end;
  end.source_run = end.run;
  end.run = run_;
  end.processed = counts_.processed;
  end.decoded = counts_.decoded;
  end.late = counts_.late;
  end.chain_error = counts_.chain_error;
  if (!end.chain_error.empty()) ++runs_failed_;
  end.rejected = counts_.rejected;
  if (resume_) {
    end.resumed_after = resume_->recorded_through;
    end.rebuilt = rebuilt_;
  }
  each_sink("run end", [&](Sink& s) { s.on_run_end(end); });
  if (options_.log_runs) {
    if (!end.report.empty()) spdlog::info("{}", end.report);
    if (!end.rejected.empty()) {
      std::string by;
      for (const auto& [why, n] : end.rejected) by += fmt::format(" {} {}", why, n);
      spdlog::warn("run {}: volumes refused at the entry (treated as missing):{}", end.run, by);
    }
    if (timed) spdlog::info("run {}: preprocessing per volume: {}", end.run, chain_.format_timings());
  }
  source_run_.clear();
  run_.clear();
  resume_.reset();
  chain_started_ = chain_ok_ = false;
  if (++runs_ended_ == options_.max_runs) stop_ = true;
}

void add_registered_sinks(Session& session, const PartRegistry& parts, const Settings& settings, const std::string& out) {
  const SinkContext ctx = session.context(settings, out, [&parts](const GeneratorOptions& o) { return parts.make_generator(o); });
  for (const SinkInfo& info : parts.sinks()) session.add(info.make(ctx));
}

}  // namespace hyper

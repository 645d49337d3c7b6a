#include "core/session.hpp"

#include <thread>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/interrupt.hpp"

namespace hyper {

Session::Session(Chain& chain, SessionOptions options) : chain_(chain), options_(options) {}

SinkContext Session::context(const Params& settings, std::string out,
                             std::function<std::unique_ptr<Generator>(const GeneratorOptions&)> make_generator) {
  const auto& names = chain_.names();
  return SinkContext{.settings = settings,
                     .out = std::move(out),
                     .decoding = !names.empty() && names.back() == "decode",
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
  for (auto& s : sinks_) s->on_face(face);
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
    while (!done && !stop_) {
      if (!pump_main(std::chrono::milliseconds(10))) stop_ = true;
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
  while (true) {
    if (!stopping && (stop_ || interrupted())) {
      if (options_.strict && interrupted()) throw Interrupted();  // half a run is no result
      source.stop();  // an open run gets its end; what is queued is still taken
      stopping = true;
    }
    auto ev = source.next(std::chrono::milliseconds(100));
    if (!ev) {
      if (source.finished()) break;
      continue;
    }
    handle(*ev);
    if (options_.serial && !pump_main(std::chrono::milliseconds(0))) stop_ = true;
  }
}

void Session::handle(SourceEvent& ev) {
  switch (ev.kind) {
    case SourceEvent::Kind::RunStart:
      start_run(ev.run, ev.first_index, ev.count);
      break;
    case SourceEvent::Kind::Volume:
      if (ev.tr->run != run_) start_run(ev.tr->run, 0, ev.tr->n_volumes);  // a source that does not announce runs
      process(*ev.tr);
      break;
    case SourceEvent::Kind::RunEnd:
      end_run(ev.end);
      break;
  }
}

void Session::start_run(const std::string& run, int64_t first_index, int64_t count) {
  run_ = run;
  chain_started_ = chain_ok_ = false;
  if (options_.log_runs)
    spdlog::info("run {}: receiving{}", run, count > 0 ? fmt::format(" {} volumes from index {}", count, first_index) : "");
  const RunStart rs{run, first_index, count, chain_.names()};
  each_sink("run start", [&](Sink& s) { s.on_run_start(rs); });
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
      spdlog::error("run {}: the preprocessing chain cannot process it: {}", tr.run, e.what());
    }
  }
  if (chain_ok_ && !chain_.empty()) chain_.process(tr);
  tr.t.t_ready = realtime_ns();
  each_sink("output", [&](Sink& s) { s.on_tr(tr); });
}

void Session::end_run(const RunEnd& end) {
  const bool timed = chain_started_ && chain_ok_ && !chain_.empty();
  if (timed) chain_.stop_run();
  each_sink("run end", [&](Sink& s) { s.on_run_end(end); });
  if (options_.log_runs) {
    if (!end.report.empty()) spdlog::info("{}", end.report);
    if (timed) spdlog::info("run {}: preprocessing per volume: {}", end.run, chain_.format_timings());
  }
  run_.clear();
  chain_started_ = chain_ok_ = false;
  if (++runs_ended_ == options_.max_runs) stop_ = true;
}

void add_registered_sinks(Session& session, const PartRegistry& parts, const Settings& settings, const std::string& out) {
  const SinkContext ctx = session.context(settings, out, [&parts](const GeneratorOptions& o) { return parts.make_generator(o); });
  for (const SinkInfo& info : parts.sinks()) session.add(info.make(ctx));
}

}  // namespace hyper

#include "net/receiver.hpp"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "net/endpoint.hpp"
#include "net/resend.hpp"

namespace hyper {

namespace {
double steady_s() {
  return std::chrono::duration<double>(SteadyClock::now().time_since_epoch()).count();
}

bool same_geometry(const VolumeHeader& a, const VolumeHeader& b, std::string& what) {
  if (a.dims != b.dims) what = "dims";
  else if (a.voxel_mm != b.voxel_mm) what = "voxel_size";
  else if (a.dtype != b.dtype) what = "dtype";
  else if (a.tr_s != b.tr_s) what = "tr";
  else return true;
  return false;
}
}  // namespace

Receiver::Receiver(zmq::context_t& ctx, ReceiverOptions options)
    : options_(std::move(options)), ctx_(ctx), socket_(ctx, zmq::socket_type::sub), monitor_(ctx, zmq::socket_type::pair),
      queue_(options_.queue_capacity), window_(options_.resend_hold, options_.resend_wait) {
  check_endpoint(options_.endpoint, "endpoint");
  // One subscription to everything: the publisher counts one per subscriber, and unknown
  // topics are counted here rather than silently filtered.
  socket_.set(zmq::sockopt::subscribe, "");
  socket_.set(zmq::sockopt::linger, 0);
  // ZeroMQ disconnects a peer that sends a larger message, before allocating it; up to
  // there a message is read and refused with its reason (payload_size). The margin lets a
  // volume up to twice the limit (for limits up to 64 MiB) be refused without a disconnect.
  const uint64_t margin = std::clamp<uint64_t>(options_.max_payload_bytes, uint64_t{1} << 20, uint64_t{64} << 20);
  socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options_.max_payload_bytes + margin));
  const std::string monitor = fmt::format("inproc://hyper-receiver-monitor-{}", static_cast<const void*>(this));
  if (zmq_socket_monitor(socket_.handle(), monitor.c_str(), ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED) != 0)
    throw std::runtime_error(std::string("cannot monitor the receiving socket: ") + zmq_strerror(zmq_errno()));
  monitor_.connect(monitor);
  // Receive-side memory is bounded: ZeroMQ holds at most as many messages as the queue
  // after it (a flood then waits at the publisher, or a paced publisher drops for us).
  socket_.set(zmq::sockopt::rcvhwm, static_cast<int>(options_.queue_capacity));
  link_ = secure_client(socket_, options_.keys, options_.endpoint);
  try {
    socket_.connect(options_.endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot connect to " + options_.endpoint + ": " + e.what());
  }
}

Receiver::~Receiver() {
  stop();
  zmq_socket_monitor(socket_.handle(), nullptr, 0);
}

void Receiver::start() {
  thread_ = std::jthread([this](std::stop_token st) { loop(st); });
}

void Receiver::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  queue_.close();
}

std::optional<StreamEvent> Receiver::next(std::chrono::milliseconds timeout) { return queue_.pop(timeout); }

std::array<int64_t, kRejectCount> Receiver::dropped() const {
  std::array<int64_t, kRejectCount> out{};
  for (size_t i = 0; i < kRejectCount; ++i) out[i] = dropped_[i].load();
  return out;
}

void Receiver::loop(std::stop_token stop) {
  std::vector<zmq::message_t> frames;
  std::vector<std::span<const std::byte>> views;
  while (!stop.stop_requested()) {
    zmq::pollitem_t items[3] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}, {monitor_.handle(), 0, ZMQ_POLLIN, 0},
                                {resend_ ? resend_->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    // A short wait while volumes are held: their gap's deadline is checked at that pace.
    zmq::poll(items, resend_ ? 3 : 2, std::chrono::milliseconds(window_.empty() && end_at_ < 0 ? 100 : 10));
    if (items[1].revents & ZMQ_POLLIN) watch_connection();
    if (lost_since_ && SteadyClock::now() - *lost_since_ > std::chrono::milliseconds(300)) reconnect();
    // Drain everything that is ready before looking at the clock again.
    for (zmq::socket_t* from : {&socket_, resend_ ? &*resend_ : nullptr}) {
      while (from && !stop.stop_requested()) {
        frames.clear();
        if (!zmq::recv_multipart(*from, std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
        const int64_t t_recv = realtime_ns();
        views.clear();
        for (const auto& f : frames) views.emplace_back(static_cast<const std::byte*>(f.data()), f.size());
        handle(views, t_recv, from != &socket_);
      }
    }
    if (run_) tend_window();
    if (run_ && steady_s() - run_->last_seen_s() > std::chrono::duration<double>(options_.run_timeout).count()) {
      spdlog::warn("run {}: no message for {} s, ending it", run_->run(),
                   std::chrono::duration<double>(options_.run_timeout).count());
      end_run(RunEndCause::Timeout);
    }
  }
  if (run_) end_run(RunEndCause::Shutdown);
  queue_.close();
}

void Receiver::watch_connection() {
  std::vector<zmq::message_t> event;  // [event id (uint16) + value (uint32), endpoint]
  while (zmq::recv_multipart(monitor_, std::back_inserter(event), zmq::recv_flags::dontwait)) {
    uint16_t id = 0;
    if (!event.empty() && event[0].size() >= sizeof id) std::memcpy(&id, event[0].data(), sizeof id);
    // A publisher that stopped: ZeroMQ retries by itself. After a protocol error (a message
    // over its size limit) it does not: no retry follows the disconnect.
    if (id == ZMQ_EVENT_DISCONNECTED) lost_since_ = SteadyClock::now();
    if (id == ZMQ_EVENT_CONNECT_RETRIED) lost_since_.reset();
    event.clear();
  }
}

void Receiver::reconnect() {
  lost_since_.reset();
  spdlog::warn("ZeroMQ closed the connection to {} and will not retry (a message over stream.max_volume_mb?): "
               "connecting again; what is sent meanwhile is missing from the run",
               options_.endpoint);
  try {
    socket_.disconnect(options_.endpoint);  // the dead endpoint, so that connect makes a new one
  } catch (const zmq::error_t&) {
  }
  socket_.connect(options_.endpoint);
}

void Receiver::drop(Reject reason, const std::string& detail, const std::string& run) {
  dropped_[static_cast<size_t>(reason)].fetch_add(1);
  const bool charged = run_ && run == run_->run();
  // Duplicates and late volumes have their own counts in the run summary.
  if (charged && reason != Reject::Duplicate && reason != Reject::OutOfOrder) run_->record_drop(reason);
  log_.warn(std::string(reject_name(reason)),
            "dropped message (" + std::string(reject_name(reason)) + (run.empty() ? "" : ", run " + run) +
                "): " + detail);
}

void Receiver::handle(std::span<const std::span<const std::byte>> frames, int64_t t_recv, bool resent) {
  DecodeLimits limits;
  limits.max_payload_bytes = options_.max_payload_bytes;
  const Decoded d = decode_message(frames, limits);
  if (const auto* r = std::get_if<Rejection>(&d)) {
    if (run_ && r->run == run_->run()) run_->touch(steady_s());
    drop(r->reason, r->detail, r->run);
  } else if (const auto* c = std::get_if<ControlMessage>(&d)) {
    on_control(*c, resent);
  } else {
    on_volume(std::get<VolumeMessage>(d), t_recv, resent);
  }
}

void Receiver::learn_resend(const std::string& announced) {
  if (!options_.resend || announced.empty()) return;
  const std::string at = resend_endpoint_for(options_.endpoint, announced);
  if (at == resend_at_) return;
  if (at.empty()) {
    return log_.warn("resend-endpoint", "the publisher announces resend endpoint '" + announced +
                                            "', which cannot be reached from " + options_.endpoint + ": gaps are not recovered");
  }
  try {
    zmq::socket_t s(ctx_, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::maxmsgsize, socket_.get(zmq::sockopt::maxmsgsize));
    s.set(zmq::sockopt::rcvhwm, static_cast<int>(std::max<size_t>(options_.resend_hold, 64)));
    secure_client(s, options_.keys, at);
    s.connect(at);
    resend_ = std::move(s);
    resend_at_ = at;
    spdlog::info("missing volumes will be asked for at {}", at);
  } catch (const std::exception& e) {
    log_.warn("resend-endpoint", "cannot connect to the resend endpoint " + at + ": " + e.what());
  }
}

void Receiver::request_missing(int64_t from, int64_t to) {
  if (!resend_ || !run_) return;
  int64_t a = -1;
  auto ask = [&](int64_t b) {
    for (int64_t lo = a; lo <= b; lo += kMaxResendSpan) {
      const ResendRequest r{run_->run(), lo, std::min(b, lo + kMaxResendSpan - 1)};
      const std::string text = encode_resend_request(r);
      std::array<zmq::const_buffer, 2> parts{zmq::buffer(kTopicResend), zmq::buffer(text)};
      zmq::send_multipart(*resend_, parts, zmq::send_flags::dontwait);  // full: the gap is given up in time
      spdlog::debug("run {}: asked for volumes {}-{} again", r.run, r.from, r.to);
    }
    a = -1;
  };
  for (int64_t i = std::max(from, window_.next()); i <= to; ++i) {
    if (window_.holds(i)) {
      if (a >= 0) ask(i - 1);
    } else if (a < 0) {
      a = i;
    }
  }
  if (a >= 0) ask(to);
  requested_to_ = std::max(requested_to_, to);
}

void Receiver::tend_window() {
  std::vector<Held> ready;
  const auto now = SteadyClock::now();
  if (!resend_) {
    window_.flush_all(ready);  // nobody to ask: a gap is given up at once
  } else if (!window_.empty()) {
    if (gap_at_ != window_.next()) {
      gap_at_ = window_.next();
      gap_since_ = now;
      gap_retried_ = false;
    } else if (!gap_retried_ && now - gap_since_ > options_.resend_wait / 2) {
      gap_retried_ = true;  // the request or its answer may have been lost: once more
      request_missing(window_.next(), window_.first_held() - 1);
    }
    window_.flush_due(ready, now);
  }
  deliver(ready);
  if (end_at_ >= 0 && ((window_.empty() && window_.next() >= end_at_) || now >= end_deadline_)) end_run(RunEndCause::RunEnd);
}

void Receiver::deliver(std::vector<Held>& ready) {
  for (Held& h : ready) {
    const std::string run = h.tr->run;
    const int64_t index = h.tr->index;
    const double latency_ms = ns_to_ms(h.tr->t.t_recv - h.tr->t.t_sent);
    run_->admit(index);
    if (h.recovered) run_->count_recovered();
    StreamEvent e;
    e.kind = StreamEvent::Kind::Volume;
    e.run = run;
    e.tr = std::move(h.tr);
    if (!queue_.push(std::move(e), options_.queue_timeout)) {
      run_->mark_lost(index);
      drop(Reject::QueueFull, "processing did not take volume " + std::to_string(index) + " in time", run);
    } else if (!h.recovered) {  // a resent volume's delay is the gap's, not the link's
      run_->record_latency_ms(latency_ms);
    }
  }
  ready.clear();
}

std::optional<Reject> Receiver::open_run(const std::string& run, int64_t first_index, int64_t count, double tr_s, bool restart) {
  if (ended_runs_.count(run)) {
    if (!restart) return Reject::RunEnded;
    ended_runs_.erase(run);
    spdlog::warn("run {}: a new run_start after it ended (a restarted publisher?): a new run", run);
  }
  if (runs_opened_ >= options_.max_runs) return Reject::TooManyRuns;
  ++runs_opened_;
  if (run_) end_run(RunEndCause::NewRun);
  run_.emplace(run, first_index, count);
  run_->touch(steady_s());
  geometry_.reset();
  window_.reset(first_index);
  requested_to_ = first_index - 1;
  gap_at_ = end_at_ = -1;
  announced_tr_ = tr_s;
  StreamEvent e;
  e.kind = StreamEvent::Kind::RunStart;
  e.run = run;
  e.start.type = ControlType::RunStart;
  e.start.run = run;
  e.start.first_index = first_index;
  e.start.count = count;
  e.start.tr_s = tr_s;
  e.announced = restart;  // a run_start opens with restart, a volume without
  queue_.push_always(std::move(e));
  spdlog::info("run {} started", run);
  return std::nullopt;
}

void Receiver::end_run(RunEndCause cause) {
  std::vector<Held> rest;
  window_.flush_all(rest);  // what still waited behind a gap goes on; the gap is missing
  deliver(rest);
  end_at_ = -1;
  RunSummary s = run_->finish(cause);
  s.link = link_;
  ended_runs_.insert(s.run);
  run_.reset();
  geometry_.reset();
  StreamEvent e;
  e.kind = StreamEvent::Kind::RunEnd;
  e.run = s.run;
  e.summary = std::move(s);
  queue_.push_always(std::move(e));
}

void Receiver::on_control(const ControlMessage& c, bool resent) {
  if (resent) {  // on the resend socket only resend_none means something
    if (c.type == ControlType::ResendNone && run_ && c.run == run_->run() && window_.next() >= c.from && window_.next() <= c.to) {
      log_.warn("resend_none", fmt::format("run {}: the publisher no longer has volumes {}-{}: given up", c.run, c.from, c.to));
      std::vector<Held> ready;
      window_.skip_to(std::min(c.to, requested_to_) + 1, ready);  // never beyond what was asked for
      deliver(ready);
    }
    return;
  }
  learn_resend(c.resend);
  if (run_) run_->touch(steady_s());
  switch (c.type) {
    case ControlType::ResendNone:  // belongs on the resend socket
      return;
    case ControlType::Heartbeat:  // it kept the open run from timing out (touch above)
      return;
    case ControlType::RunStart:
      if (run_ && run_->run() == c.run) {  // announced after its first volume: accept late
        run_->set_announced(c.first_index, c.count);
        if (run_->next_index() == c.first_index && window_.empty()) window_.reset(c.first_index);
        announced_tr_ = c.tr_s;
      } else if (const auto why = open_run(c.run, c.first_index, c.count, c.tr_s, /*restart=*/true)) {
        drop(*why, fmt::format("run_start refused: this stream opens at most {} runs (stream.max_runs)", options_.max_runs), c.run);
      }
      return;
    case ControlType::RunEnd:
      if (run_ && run_->run() == c.run) {
        run_->set_volumes_sent(c.volumes_sent);
        // What is still missing is asked for, and the run ends when it is whole or the wait is over.
        const int64_t end = run_->expected_end();
        if (resend_ && (end > window_.next() || !window_.empty())) {
          request_missing(window_.next(), std::max(end, window_.first_held()) - 1);
          end_at_ = end;
          end_deadline_ = SteadyClock::now() + options_.resend_wait;
        } else {
          end_run(RunEndCause::RunEnd);
        }
      } else {
        log_.warn("run_end", "run_end for run " + c.run + ", which is not open: ignored");
      }
      return;
  }
}

void Receiver::on_volume(const VolumeMessage& m, int64_t t_recv, bool resent) {
  const VolumeHeader& h = m.header;
  if (resent && (!run_ || run_->run() != h.run || h.index > requested_to_)) return;  // not an answer to a request of ours
  if (!resent) learn_resend(h.resend);
  if (!run_ || run_->run() != h.run) {
    if (const auto why = open_run(h.run, 0, -1, 0, /*restart=*/false))
      return drop(*why, *why == Reject::RunEnded ? "volume of a run that has already ended"
                                                 : fmt::format("a new run beyond the {} this stream opens (stream.max_runs)", options_.max_runs),
                  h.run);
    spdlog::warn("run {}: volumes arrived without a run_start; assuming it starts at index 0", h.run);
  }
  run_->touch(steady_s());
  std::string what;
  if (geometry_ && !same_geometry(*geometry_, h, what))
    return drop(Reject::RunMismatch, what + " differs from the run's first volume", h.run);
  if (announced_tr_ > 0 && h.tr_s != announced_tr_)
    return drop(Reject::RunMismatch, "tr differs from the run_start's", h.run);

  const bool taken = h.index < window_.next() || window_.holds(h.index);
  if (taken && resent) return;  // asked for twice and answered twice: the first copy counts
  if (h.index < window_.next()) {
    if (run_->late(h.index) == RunTracker::Verdict::Duplicate)
      return drop(Reject::Duplicate, "index " + std::to_string(h.index) + " was already delivered", h.run);
    return drop(Reject::OutOfOrder,
                "index " + std::to_string(h.index) + " arrived after its gap was given up (processing is at " +
                    std::to_string(window_.next()) + ")",
                h.run);
  }
  if (taken) {
    run_->count_duplicate();
    return drop(Reject::Duplicate, "index " + std::to_string(h.index) + " is already waiting", h.run);
  }
  if (!geometry_) geometry_ = h;
  run_->set_total(h.n_volumes);

  auto tr = std::make_unique<Tr>();
  tr->run = h.run;
  tr->index = h.index;
  tr->n_volumes = h.n_volumes;
  tr->tr_s = h.tr_s;
  tr->volume = to_volume(h, m.payload);
  tr->t = TrStamps{h.t_acq, h.t_sent, t_recv};
  spdlog::debug("run {} volume {} received{}, t_sent->t_recv {:.3f} ms", h.run, h.index, resent ? " (resent)" : "",
                ns_to_ms(t_recv - h.t_sent));

  // Ask for what is missing before it (the first time this gap is seen), then hand on what is in order.
  if (resend_ && h.index > window_.next() && h.index - 1 > requested_to_) request_missing(requested_to_ + 1, h.index - 1);
  std::vector<Held> ready;
  window_.add(h.index, Held{std::move(tr), resent}, ready);
  deliver(ready);
  if (!resend_) tend_window();
}

}  // namespace hyper

#include "net/receiver.hpp"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "net/endpoint.hpp"

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
    : options_(std::move(options)), socket_(ctx, zmq::socket_type::sub), monitor_(ctx, zmq::socket_type::pair),
      queue_(options_.queue_capacity) {
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
    zmq::pollitem_t items[2] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}, {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds(100));
    if (items[1].revents & ZMQ_POLLIN) watch_connection();
    if (lost_since_ && SteadyClock::now() - *lost_since_ > std::chrono::milliseconds(300)) reconnect();
    // Drain everything that is ready before looking at the clock again.
    while (!stop.stop_requested()) {
      frames.clear();
      if (!zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
      const int64_t t_recv = realtime_ns();
      views.clear();
      for (const auto& f : frames) views.emplace_back(static_cast<const std::byte*>(f.data()), f.size());
      handle(views, t_recv);
    }
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

void Receiver::handle(std::span<const std::span<const std::byte>> frames, int64_t t_recv) {
  DecodeLimits limits;
  limits.max_payload_bytes = options_.max_payload_bytes;
  const Decoded d = decode_message(frames, limits);
  if (const auto* r = std::get_if<Rejection>(&d)) {
    if (run_ && r->run == run_->run()) run_->touch(steady_s());
    drop(r->reason, r->detail, r->run);
  } else if (const auto* c = std::get_if<ControlMessage>(&d)) {
    on_control(*c);
  } else {
    on_volume(std::get<VolumeMessage>(d), t_recv);
  }
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
  announced_tr_ = tr_s;
  StreamEvent e;
  e.kind = StreamEvent::Kind::RunStart;
  e.run = run;
  e.start.type = ControlType::RunStart;
  e.start.run = run;
  e.start.first_index = first_index;
  e.start.count = count;
  e.start.tr_s = tr_s;
  queue_.push_always(std::move(e));
  spdlog::info("run {} started", run);
  return std::nullopt;
}

void Receiver::end_run(RunEndCause cause) {
  RunSummary s = run_->finish(cause);
  ended_runs_.insert(s.run);
  run_.reset();
  geometry_.reset();
  StreamEvent e;
  e.kind = StreamEvent::Kind::RunEnd;
  e.run = s.run;
  e.summary = std::move(s);
  queue_.push_always(std::move(e));
}

void Receiver::on_control(const ControlMessage& c) {
  if (run_) run_->touch(steady_s());
  switch (c.type) {
    case ControlType::Heartbeat:  // it kept the open run from timing out (touch above)
      return;
    case ControlType::RunStart:
      if (run_ && run_->run() == c.run) {  // announced after its first volume: accept late
        run_->set_announced(c.first_index, c.count);
        announced_tr_ = c.tr_s;
      } else if (const auto why = open_run(c.run, c.first_index, c.count, c.tr_s, /*restart=*/true)) {
        drop(*why, fmt::format("run_start refused: this stream opens at most {} runs (stream.max_runs)", options_.max_runs), c.run);
      }
      return;
    case ControlType::RunEnd:
      if (run_ && run_->run() == c.run) {
        run_->set_volumes_sent(c.volumes_sent);
        end_run(RunEndCause::RunEnd);
      } else {
        log_.warn("run_end", "run_end for run " + c.run + ", which is not open: ignored");
      }
      return;
  }
}

void Receiver::on_volume(const VolumeMessage& m, int64_t t_recv) {
  const VolumeHeader& h = m.header;
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

  switch (run_->admit(h.index)) {
    case RunTracker::Verdict::Duplicate:
      return drop(Reject::Duplicate, "index " + std::to_string(h.index) + " was already delivered", h.run);
    case RunTracker::Verdict::OutOfOrder:
      return drop(Reject::OutOfOrder,
                  "index " + std::to_string(h.index) + " arrived after index " + std::to_string(run_->next_index() - 1),
                  h.run);
    case RunTracker::Verdict::Accept: break;
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
  const double latency_ms = ns_to_ms(t_recv - h.t_sent);
  spdlog::debug("run {} volume {} received, t_sent->t_recv {:.3f} ms", h.run, h.index, latency_ms);

  StreamEvent e;
  e.kind = StreamEvent::Kind::Volume;
  e.run = h.run;
  e.tr = std::move(tr);
  if (!queue_.push(std::move(e), options_.queue_timeout)) {
    run_->mark_lost(h.index);
    return drop(Reject::QueueFull, "processing did not take volume " + std::to_string(h.index) + " in time", h.run);
  }
  run_->record_latency_ms(latency_ms);
}

}  // namespace hyper

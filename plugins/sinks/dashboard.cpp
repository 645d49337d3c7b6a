// The dashboard sink: turns the Session's events into the page's messages (one per TR, face,
// run start and end, warning) for the DashboardFeed, and keeps the state /api/state shows.
// on_tr runs on the Session's loop: a few formatted numbers and one short lock.
#include "sinks/dashboard.hpp"

#include <cmath>
#include <ctime>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "hyper/registry.hpp"
#include "io/png.hpp"
#include "sinks/twin_truth.hpp"
#include "web/dashboard_server.hpp"

namespace hyper {

namespace {

using nlohmann::json;

std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "null"; }
std::string ms_since(int64_t from, int64_t to) { return from > 0 && to > 0 ? number(ns_to_ms(to - from)) : "null"; }

// Pearson r of two latents.
double correlation(const float* a, const float* b) {
  double ma = 0, mb = 0;
  for (int k = 0; k < kLatentDim; ++k) ma += a[k], mb += b[k];
  ma /= kLatentDim, mb /= kLatentDim;
  double sab = 0, saa = 0, sbb = 0;
  for (int k = 0; k < kLatentDim; ++k) sab += (a[k] - ma) * (b[k] - mb), saa += (a[k] - ma) * (a[k] - ma), sbb += (b[k] - mb) * (b[k] - mb);
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : NAN;
}

// What the page and /api/state show; everything behind one lock.
struct Dashboard {
  DashboardFeed feed;
  std::unique_ptr<DashboardServer> server;
  std::mutex mutex;
  json state = {{"state", "waiting for the first run"}, {"run", nullptr}, {"index", nullptr}, {"runs", json::array()}};
  std::shared_ptr<const Face> face;
  std::string face_jpeg, truth_jpeg;  // encoded when first asked for (JPEG: 8x faster to make than PNG)
  const Face* encoded_for = nullptr;

  explicit Dashboard(FeedOptions o) : feed(o) {}

  std::string state_json() {
    std::lock_guard lock(mutex);
    json s = state;
    const auto c = feed.counts();
    s["browsers"] = c.clients;
    s["messages"] = c.published;
    s["browser_drops"] = c.dropped;  // live messages slow browsers did not get
    return s.dump();
  }

  std::string image(const std::string& which) {
    std::lock_guard lock(mutex);
    if (!face) return "";
    if (encoded_for != face.get()) {  // made on the server's thread, only when a browser asks
      face_jpeg = face->rgb.empty() ? "" : encode_jpeg(face->width, face->height, face->rgb);
      truth_jpeg = face->truth_rgb.empty() ? "" : encode_jpeg(face->width, face->height, face->truth_rgb);
      encoded_for = face.get();
    }
    return which == "truth" ? truth_jpeg : face_jpeg;
  }
};

std::mutex g_mutex;
std::map<std::string, std::shared_ptr<Dashboard>> g_open;  // by --dashboard value, for the whole process
std::string g_plan;                                        // the last plan message

// Warnings and errors, on the page as they are logged (the reason of every drop is logged).
class LogToFeed : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit LogToFeed(std::weak_ptr<Dashboard> d) : d_(std::move(d)) { set_level(spdlog::level::warn); }

 protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    auto d = d_.lock();
    if (!d) return;
    const std::time_t t = std::chrono::system_clock::to_time_t(m.time);
    std::tm local{};
    localtime_r(&t, &local);
    const json line = {{"type", "log"},
                       {"time", fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec)},
                       {"level", std::string(spdlog::level::to_string_view(m.level).begin(), spdlog::level::to_string_view(m.level).end())},
                       {"text", std::string(m.payload.begin(), m.payload.end())}};
    d->feed.publish(line.dump(-1, ' ', false, json::error_handler_t::replace), DashboardFeed::Keep::Run);
  }
  void flush_() override {}

 private:
  std::weak_ptr<Dashboard> d_;
};

std::shared_ptr<Dashboard> open_dashboard(const SinkContext& ctx) {
  const Params& st = ctx.settings;
  const std::string listen = st.get_string("dashboard.listen");
  std::lock_guard lock(g_mutex);
  if (auto it = g_open.find(listen); it != g_open.end()) return it->second;
  DashboardServerOptions o;
  try {
    o.address = parse_dashboard_address(listen);
  } catch (const std::invalid_argument& e) {
    throw SettingsError(std::string("dashboard.listen (--dashboard): ") + e.what());
  }
  if (!o.address.loopback && !st.get_bool("stream.allow_remote"))
    throw SettingsError("dashboard.listen (--dashboard): " + listen + " is not a loopback address: anyone on the network could "
                        "watch the session; pass --allow-remote (a token is then required, printed here)");
  o.token = st.get_string("dashboard.token");
  if (o.token.empty() && !o.address.loopback) o.token = random_token();
  o.out = ctx.out;
  o.max_streams = static_cast<int>(st.get_int("dashboard.max_browsers"));
  auto d = std::make_shared<Dashboard>(FeedOptions{static_cast<size_t>(st.get_int("dashboard.history")),
                                                   static_cast<size_t>(st.get_int("dashboard.client_queue"))});
  d->state["fd_threshold_mm"] = st.get_float("dashboard.fd_threshold_mm");
  Dashboard* raw = d.get();
  d->server = std::make_unique<DashboardServer>(d->feed, o, DashboardHandlers{[raw] { return raw->state_json(); },
                                                                               [raw](const std::string& w) { return raw->image(w); }});
  spdlog::default_logger()->sinks().push_back(std::make_shared<LogToFeed>(d));
  spdlog::info("dashboard: open {} in a browser{}", d->server->url(),
               o.token.empty() ? "" : " (the token is needed: keep the address to yourself)");
  if (!g_plan.empty()) d->feed.publish(g_plan, DashboardFeed::Keep::Session);
  g_open[listen] = d;
  return d;
}

class DashboardSink : public Sink {
 public:
  DashboardSink(const SinkContext& ctx, std::shared_ptr<Dashboard> d)
      : d_(std::move(d)), dropped_(ctx.dropped), max_lag_trs_(ctx.settings.get_float("stream.max_lag_trs")) {
    if (const std::string truth = ctx.settings.get_string("display.truth"); !truth.empty() && ctx.decoding) truth_ = twin_truth(truth);
  }

  void on_run_start(const RunStart& r) override {
    stages_ = json(r.stages).dump();
    gaps_ = late_ = 0, last_ = -1, r_sum_ = 0, r_count_ = 0;
    {
      std::lock_guard lock(d_->mutex);
      d_->state["state"] = "receiving";
      d_->state["run"] = r.run;
      d_->state["index"] = nullptr;
      d_->state["count"] = r.count;
    }
    d_->feed.publish(fmt::format(R"({{"type":"run_start","run":"{}","count":{},"stages":{},"resumed":{}}})", r.run, r.count, stages_,
                                 r.resume_after >= 0),
                     DashboardFeed::Keep::RunStart);
  }

  void on_tr(const Tr& tr) override {
    if (last_ >= 0 && tr.index > last_ + 1) gaps_ += tr.index - last_ - 1;
    last_ = tr.index;
    const bool late = tr.t.t_sent > 0 && ns_to_ms(tr.t.t_ready - tr.t.t_sent) > max_lag_trs_ * tr.tr_s * 1000;
    late_ += late;
    std::string r = "null", r_mean = "null";
    if (truth_ && tr.decoded)
      if (const auto z = truth_(tr.run, tr.index); z)
        if (const double v = correlation(tr.latent.data(), z->data()); std::isfinite(v)) {
          r_sum_ += v, ++r_count_;
          r = number(v), r_mean = number(r_sum_ / static_cast<double>(r_count_));
        }
    const int64_t dropped = dropped_ ? dropped_() : 0;
    d_->feed.publish(
        fmt::format(R"({{"type":"tr","run":"{}","i":{},"n":{},"tr_s":{},"ready_ms":{},"recv_ms":{},"stage_ms":[{}],"motion":[{}],)"
                    R"("fd":{},"r":{},"r_mean":{},"feedback":{},"dropped":{},"gaps":{},"late":{}}})",
                    tr.run, tr.index, tr.n_volumes, tr.tr_s, ms_since(tr.t.t_sent, tr.t.t_ready), ms_since(tr.t.t_sent, tr.t.t_recv),
                    fmt::join(tr.stage_ms, ","), fmt::join(tr.motion, ","), number(tr.fd_mm), r, r_mean,
                    tr.has_feedback ? number(tr.feedback) : "null", dropped, gaps_, late_),
        DashboardFeed::Keep::Run);
    std::lock_guard lock(d_->mutex);
    json& s = d_->state;
    s["index"] = tr.index, s["count"] = tr.n_volumes, s["tr_s"] = tr.tr_s, s["fd_mm"] = tr.fd_mm, s["dropped"] = dropped;
    s["gaps"] = gaps_, s["late"] = late_;
    s["sent_to_ready_ms"] = tr.t.t_sent > 0 ? json(ns_to_ms(tr.t.t_ready - tr.t.t_sent)) : json(nullptr);
    s["r_mean"] = r_count_ > 0 ? json(r_sum_ / static_cast<double>(r_count_)) : json(nullptr);
  }

  void on_face(const std::shared_ptr<const Face>& f) override {
    {
      std::lock_guard lock(d_->mutex);
      if (f->t_present < 0 && !f->rgb.empty()) d_->face = f;
    }
    d_->feed.publish(fmt::format(R"({{"type":"face","run":"{}","i":{},"image_ms":{},"screen_ms":{},"truth":{},"coarse":{}}})", f->run,
                                 f->index, ms_since(f->t_sent, f->t_generate),
                                 f->t_present >= 0 ? ms_since(f->t_sent, f->t_present) : "null", !f->truth_rgb.empty(), f->coarse),
                     DashboardFeed::Keep::Live);
  }

  void on_run_end(const RunEnd& e) override {
    const json end = {{"type", "run_end"}, {"run", e.run},         {"received", e.received}, {"missing", e.missing},
                      {"dropped", e.dropped}, {"late", e.late},   {"processed", e.processed}, {"ended_by", e.ended_by}};
    std::lock_guard lock(d_->mutex);
    d_->state["state"] = "between runs";
    d_->state["runs"].push_back(end);
    d_->feed.publish(end.dump(), DashboardFeed::Keep::Session);
  }

 private:
  std::shared_ptr<Dashboard> d_;
  std::function<int64_t()> dropped_;
  double max_lag_trs_;
  Truth truth_;
  std::string stages_;
  int64_t gaps_ = 0, late_ = 0, last_ = -1, r_count_ = 0;
  double r_sum_ = 0;
};

}  // namespace

void dashboard_session_plan(std::vector<std::string> runs, int current) {
  const std::string m = json{{"type", "plan"}, {"runs", runs}, {"current", current}}.dump();
  std::lock_guard lock(g_mutex);
  g_plan = m;
  for (auto& [listen, d] : g_open) {
    d->feed.publish(m, DashboardFeed::Keep::Session);
    std::lock_guard state_lock(d->mutex);
    d->state["plan"] = runs;
    d->state["plan_current"] = current;
  }
}

void dashboard_state(const std::string& state) {
  const std::string m = json{{"type", "state"}, {"state", state}}.dump();
  std::lock_guard lock(g_mutex);
  for (auto& [listen, d] : g_open) {
    {
      std::lock_guard state_lock(d->mutex);
      d->state["state"] = state;
    }
    d->feed.publish(m, DashboardFeed::Keep::Live);
  }
}

void register_dashboard(Registry& r) {
  using T = SettingType;
  r.add_sink({"dashboard", "the experimenter's live view in a browser (--dashboard [ADDR:]PORT)",
              {{.key = "dashboard.listen", .type = T::String, .def = std::string(""),
                .help = "serve the experimenter's dashboard at PORT (loopback) or ADDR:PORT (another address needs --allow-remote "
                        "and then a token); empty: none",
                .flag = "--dashboard"},
               {.key = "dashboard.token", .type = T::String, .def = std::string(""),
                .help = "the token browsers must give (?token=); empty: a random one off loopback, none on loopback"},
               {.key = "dashboard.fd_threshold_mm", .type = T::Float, .def = 0.5, .unit = "mm",
                .help = "framewise displacement marked as too much (the page can change it)", .min = 0.0},
               {.key = "dashboard.history", .type = T::Int, .def = int64_t{20000}, .unit = "messages",
                .help = "messages of the current run kept for a browser that connects late", .min = 1.0},
               {.key = "dashboard.client_queue", .type = T::Int, .def = int64_t{512}, .unit = "messages",
                .help = "live messages a browser may fall behind before its oldest are dropped (counted)", .min = 1.0},
               {.key = "dashboard.max_browsers", .type = T::Int, .def = int64_t{16},
                .help = "browsers connected at once (each holds a thread)", .min = 1.0, .max = 256.0}},
              [](const SinkContext& ctx) -> std::unique_ptr<Sink> {
                if (ctx.settings.get_string("dashboard.listen").empty()) return nullptr;
                return std::make_unique<DashboardSink>(ctx, open_dashboard(ctx));
              }});
}

}  // namespace hyper

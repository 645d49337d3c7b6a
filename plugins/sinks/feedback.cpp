// The feedback sink (`hyper stream --feedback NAME`, a feedback run of hyper session;
// README, "Closed-loop experiments"): declares the [feedback] settings (the protocol itself
// runs as the chain's last stage, plugins/feedback) and records, as the run goes, in
// <out>/<run>/:
//   feedback.tsv       every TR: index, t_ready_ns, value, bar, shown (what the screen was
//                      given: decoded, or protocol for a face the protocol chose)
//   events.tsv         every face the protocol chose, as a BIDS event: onset (run time: the
//                      end of the deciding volume's acquisition plus its processing), duration,
//                      trial_type (the protocol), stim_index (its row in shown_latents.npy), tr_index
//   shown_latents.npy  those faces' latents (rewritten with each new face)
#include <algorithm>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "core/settings.hpp"
#include "feedback/protocol.hpp"
#include "hyper/registry.hpp"
#include "io/files.hpp"
#include "io/npy.hpp"

namespace hyper {

namespace {

class FeedbackSink : public Sink {
 public:
  FeedbackSink(std::filesystem::path out, std::string protocol) : out_(std::move(out)), protocol_(std::move(protocol)) {}
  ~FeedbackSink() override { close(); }
  void on_run_start(const RunStart& run) override {
    close();
    if (out_.empty()) return;
    dir_ = out_ / run.run;
    ensure_dir(dir_);
    file_ = std::fopen((dir_ / "feedback.tsv").c_str(), "w");
    events_ = std::fopen((dir_ / "events.tsv").c_str(), "w");
    if (!file_ || !events_) {
      spdlog::error("run {}: cannot write feedback.tsv or events.tsv in {}", run.run, dir_.string());
      close();
      return;
    }
    std::fputs("index\tt_ready_ns\tfeedback\tbar\tshown\n", file_);
    std::fputs("onset\tduration\ttrial_type\tstim_index\ttr_index\n", events_);
    shown_.clear();
  }
  void on_tr(const Tr& tr) override {
    if (!file_ || !tr.decoded) return;
    std::fprintf(file_, "%lld\t%lld\t%s\t%s\t%s\n", static_cast<long long>(tr.index), static_cast<long long>(tr.t.t_ready),
                 tr.has_feedback ? fmt::format("{:.6f}", tr.feedback).c_str() : "n/a",
                 tr.has_feedback ? fmt::format("{:.4f}", tr.feedback_bar).c_str() : "n/a", tr.has_show ? "protocol" : "decoded");
    std::fflush(file_);  // a line per TR as it comes: readable during the run and after a crash
    const double t = (static_cast<double>(tr.index) + 1) * tr.tr_s + static_cast<double>(tr.t.t_ready - tr.t.t_recv) * 1e-9;
    const bool changed = tr.has_show && (shown_.empty() || !std::equal(tr.show.begin(), tr.show.end(), shown_.end() - kLatentDim));
    if (changed || (!tr.has_show && on_screen_)) end_event(t);
    if (changed) {
      shown_.insert(shown_.end(), tr.show.begin(), tr.show.end());
      write_npy(dir_ / "shown_latents.npy", {static_cast<int64_t>(shown_.size() / kLatentDim), kLatentDim}, shown_);
      onset_ = t, on_tr_ = tr.index, on_screen_ = true;
    }
    last_t_ = t + tr.tr_s;
  }
  void on_run_end(const RunEnd&) override { close(); }

 private:
  // The face on screen until t: its line (a face ends when the next comes, or at the run's end).
  void end_event(double t) {
    if (!on_screen_ || !events_) return;
    std::fprintf(events_, "%.4f\t%.4f\t%s\t%lld\t%lld\n", onset_, t - onset_, protocol_.c_str(),
                 static_cast<long long>(shown_.size() / kLatentDim - 1), static_cast<long long>(on_tr_));
    std::fflush(events_);
    on_screen_ = false;
  }
  void close() {
    end_event(last_t_);
    for (std::FILE** f : {&file_, &events_})
      if (*f) std::fclose(*f), *f = nullptr;
  }
  std::filesystem::path out_, dir_;
  std::string protocol_;
  std::FILE *file_ = nullptr, *events_ = nullptr;
  std::vector<float> shown_;  // faces x 512
  double onset_ = 0, last_t_ = 0;
  int64_t on_tr_ = 0;
  bool on_screen_ = false;
};

std::vector<SettingSpec> feedback_settings() {
  using T = SettingType;
  std::string names;
  for (const ProtocolInfo& p : protocols()) names += (names.empty() ? "" : ", ") + p.name;
  std::vector<SettingSpec> s{
      {.key = "feedback.protocol", .type = T::String, .def = std::string(""),
       .help = "a closed-loop protocol run every TR on the decoded latent (" + names + "); needs a --decoder and feedback.latents; empty: none", .flag = "--feedback"},
      {.key = "feedback.latents", .type = T::String, .def = std::string(""),
       .help = "the stimulus latents (.npy): targets and bases by row, and the chance levels", .existing = true},
      {.key = "feedback.seed", .type = T::Int, .def = int64_t{1}, .help = "the random target or base when its row is -1"},
      {.key = "feedback.smooth_trs", .type = T::Int, .def = int64_t{3}, .unit = "TRs",
       .help = "the feedback is the mean over this many TRs", .min = 1.0, .max = 1000.0}};
  for (const ProtocolInfo& p : protocols())
    for (const SettingSpec& spec : p.settings) s.push_back(spec);
  return s;
}

}  // namespace

void register_feedback(Registry& r) {
  r.add_sink({"feedback", "closed-loop protocols' settings; feedback.tsv per run", feedback_settings(),
              [](const SinkContext& ctx) -> std::unique_ptr<Sink> {
                const std::string name = ctx.settings.get_string("feedback.protocol");
                if (name.empty()) return nullptr;
                bool known = false;
                std::string names;
                for (const ProtocolInfo& p : protocols()) known |= p.name == name, names += (names.empty() ? "" : ", ") + p.name;
                if (!known) throw SettingsError("feedback.protocol: '" + name + "' is not a protocol (" + names + ")");
                if (!ctx.decoding)
                  throw SettingsError("feedback.protocol: feedback is computed from the decoded latent: add --decoder FILE "
                                      "(hyper train --mode tr)");
                return std::make_unique<FeedbackSink>(ctx.out, name);
              }});
}

}  // namespace hyper

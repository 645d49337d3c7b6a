// The feedback sink (`hyper stream --feedback NAME`, a feedback run of hyper session;
// README, "Closed-loop experiments"): declares the [feedback] settings (the protocol itself
// runs as the chain's last stage, plugins/feedback) and records every TR's feedback in
// <out>/<run>/feedback.tsv as the run goes: index, t_ready_ns, value, bar, shown (what the
// screen was given: decoded, or protocol for a face the protocol chose).
#include <cstdio>

#include <spdlog/spdlog.h>

#include "core/settings.hpp"
#include "feedback/protocol.hpp"
#include "hyper/registry.hpp"
#include "io/files.hpp"

namespace hyper {

namespace {

class FeedbackSink : public Sink {
 public:
  explicit FeedbackSink(std::filesystem::path out) : out_(std::move(out)) {}
  ~FeedbackSink() override { close(); }
  void on_run_start(const RunStart& run) override {
    close();
    if (out_.empty()) return;
    ensure_dir(out_ / run.run);
    file_ = std::fopen((out_ / run.run / "feedback.tsv").c_str(), "w");
    if (!file_) spdlog::error("run {}: cannot write feedback.tsv", run.run);
    else std::fputs("index\tt_ready_ns\tfeedback\tbar\tshown\n", file_);
  }
  void on_tr(const Tr& tr) override {
    if (!file_ || !tr.decoded) return;
    std::fprintf(file_, "%lld\t%lld\t%s\t%s\t%s\n", static_cast<long long>(tr.index), static_cast<long long>(tr.t.t_ready),
                 tr.has_feedback ? fmt::format("{:.6f}", tr.feedback).c_str() : "n/a",
                 tr.has_feedback ? fmt::format("{:.4f}", tr.feedback_bar).c_str() : "n/a", tr.has_show ? "protocol" : "decoded");
    std::fflush(file_);  // a line per TR as it comes: readable during the run and after a crash
  }
  void on_run_end(const RunEnd&) override { close(); }

 private:
  void close() {
    if (file_) std::fclose(file_);
    file_ = nullptr;
  }
  std::filesystem::path out_;
  std::FILE* file_ = nullptr;
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
                return std::make_unique<FeedbackSink>(ctx.out);
              }});
}

}  // namespace hyper

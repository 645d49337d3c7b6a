// The BOLD recording (on with --out; README, "Run records and faces"): every volume as it
// arrived, before the chain, appended to a BIDS run file
//   OUT/sub-S/[ses-X/]func/sub-S_[ses-X_]task-T_run-N_bold.nii
// whose header is rewritten after each volume (readable at any moment, also after a kill),
// with its sidecar _bold.json (RepetitionTime, TaskName, each volume's receive time); gzipped
// at the run's end. `hyper train --dataset OUT` then trains on what the stream acquired.
//
// The volume is copied as received (the chain changes it in place) and written in on_tr,
// after the faces, screen and results sinks got the TR (plugins/sinks/list.cpp); only a
// run's first volume, which creates the file, is written at once. The write
// took 1-2 ms when written before the chain (590 KB into the page cache of this VM's disk),
// all of it on sent -> ready; the copy costs ~0.05 ms. It comes before the run record's
// on_tr: a row in tr.tsv means its volume is in the recording, which resuming after a kill
// reads back.
#include <pthread.h>
#include <sched.h>

#include <regex>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "hyper/registry.hpp"
#include "core/settings.hpp"
#include "io/bids.hpp"
#include "io/files.hpp"
#include "io/nifti.hpp"
#include "io/nifti_appender.hpp"

namespace hyper {

namespace {

struct BoldOptions {
  std::filesystem::path out;
  std::string subject, session, task;
  int run = 0;  // 0: the next free number
};

class BoldSink : public Sink {
 public:
  explicit BoldSink(BoldOptions o) : o_(std::move(o)) {}

  void on_run_start(const RunStart& run) override {
    close();
    run_ = run.run;
    failed_ = false;
    if (run.resume_after >= 0) reopen();
  }

  void on_received(const Tr& tr) override {
    write_pending();  // the previous volume's, had it no on_tr
    if (failed_) return;
    try {
      if (!file_) open(tr);
      if (tr.volume.dims != dims_) {
        spdlog::warn("run {}: volume {} is {}x{}x{}, the recording's {}x{}x{}: not recorded", run_, tr.index, tr.volume.dims[0],
                     tr.volume.dims[1], tr.volume.dims[2], dims_[0], dims_[1], dims_[2]);
        return;
      }
      // A volume that never came (or was refused) keeps its place: zeros, listed in the sidecar.
      // NIfTI-1 counts volumes in an int16; a jump of more than a few hundred is no gap but a bad index.
      if (tr.index >= first_ + 32767 || tr.index - (first_ + file_->volumes()) > 1000) {
        spdlog::warn("run {}: volume {} not recorded: {} volumes after the last one recorded", run_, tr.index,
                     tr.index - (first_ + file_->volumes()));
        return;
      }
      if (first_ + file_->volumes() < tr.index) {  // a gap: made only then (a volume of zeros made every TR cost 0.025 ms)
        const std::vector<float> zeros(tr.volume.data.size(), 0.0f);
        while (first_ + file_->volumes() < tr.index) {
          missing_.push_back(first_ + file_->volumes());
          t_recv_.push_back(-1);
          file_->append(zeros);
        }
      }
      if (tr.index < first_ + file_->volumes()) return;  // out of order: its place is taken
      received_.assign(tr.volume.data.begin(), tr.volume.data.end());  // the buffer is reused: no allocation per TR
      pending_ = true;
      t_recv_.push_back(tr.t.t_recv);
    } catch (const std::exception& e) {  // the stream goes on; what is written stays
      stop(e.what());
    }
  }
  void on_tr(const Tr&) override { write_pending(); }
  void on_run_end(const RunEnd&) override { close(); }
  // The compressions are joined when the sink is destroyed (after every sink's finish), not
  // here: when the screen's finish came after this one's, it waited 0.5-0.7 s for a
  // compression (measured in hyper bench, the last volume's present), and the sinks after
  // this one need not wait either.
  void finish() override { close(); }

 private:
  void open(const Tr& tr) {
    base_ = bids_run_stem(o_.out, o_.subject, o_.session, o_.task, o_.run);
    ensure_dir(base_.parent_path());
    base_ += "_bold";
    o_.run = 0;  // bold.run names the first recording; later runs of this stream take the next free numbers
    tr_s_ = tr.tr_s;
    dims_ = tr.volume.dims;
    first_ = tr.index;
    missing_.clear();
    t_recv_ = {tr.t.t_recv};
    sidecar(false);
    file_ = std::make_unique<NiftiAppender>(base_.string() + ".nii", tr.volume, tr.tr_s);
    spdlog::info("run {}: recording the volumes as received into {}.nii", run_, base_.string());
  }

  // A resumed run: its recording is continued where the stream stopped.
  void reopen() {
    const auto found = find_unfinished_bold(o_.out, run_);
    if (!found) return;
    try {
      const NiftiInfo info = read_nifti_info(found->nii);
      file_ = std::make_unique<NiftiAppender>(found->nii);
      base_ = found->nii;
      base_.replace_extension();
      tr_s_ = info.tr_s;
      dims_ = {info.dims[0], info.dims[1], info.dims[2]};
      first_ = found->first_index;
      missing_.clear();
      t_recv_.assign(static_cast<size_t>(file_->volumes()), -1);  // their receive times are in the run record's tr.tsv
      o_.run = 0;
      spdlog::info("run {}: continuing the BOLD recording {}.nii after its {} volumes", run_, base_.string(), file_->volumes());
    } catch (const std::exception& e) {
      spdlog::error("run {}: cannot continue the BOLD recording {}: {}; this run is not recorded further", run_, found->nii.string(), e.what());
      file_.reset();
      failed_ = true;
    }
  }

  void sidecar(bool complete) {
    nlohmann::json j{{"RepetitionTime", tr_s_},
                     {"TaskName", o_.task},
                     {"HyperRT",
                      {{"run", run_},
                       {"first_index", first_},
                       {"recording_complete", complete},
                       {"missing_volumes", missing_},
                       {"t_recv_ns", t_recv_}}}};
    write_file_atomic(base_.string() + ".json", j.dump(2) + "\n");
  }

  void write_pending() {
    if (!pending_) return;
    pending_ = false;
    if (failed_ || !file_) return;
    try {
      file_->append(received_);
    } catch (const std::exception& e) {
      stop(e.what());
    }
  }

  void stop(const std::string& error) {
    spdlog::error("run {}: BOLD recording stopped: {}", run_, error);
    failed_ = true;
  }

  void close() {
    write_pending();
    if (!file_) return;
    const auto nii = file_->path();
    const int64_t n = file_->volumes();
    file_.reset();
    try {
      sidecar(true);
    } catch (const std::exception& e) {
      spdlog::error("run {}: {}", run_, e.what());
    }
    // Compressing a long run takes seconds: not on the loop's thread, where the next run's volumes arrive,
    // and only on CPU time nothing else wants (SCHED_IDLE): the run's last face is still being drawn and
    // shown when run_end comes (measured: shown 497 ms late by a 256-px PGGAN at normal priority).
    compressing_.emplace_back([nii, n, run = run_, base = base_, missing = missing_.size()] {
      const sched_param idle{};
      pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);  // best effort: a refusal leaves it as it was
      try {
        gzip_file(nii);
        spdlog::info("run {}: {} volumes recorded in {}.nii.gz{}", run, n, base.string(),
                     missing ? fmt::format(" ({} missing, zeros in their place)", missing) : "");
      } catch (const std::exception& e) {
        spdlog::error("run {}: {} (the uncompressed recording stays)", run, e.what());
      }
    });
  }

  BoldOptions o_;
  std::unique_ptr<NiftiAppender> file_;
  std::filesystem::path base_;
  std::string run_;
  std::array<int64_t, 3> dims_{};
  double tr_s_ = 0;
  int64_t first_ = 0;
  std::vector<int64_t> missing_, t_recv_;
  bool failed_ = false;
  std::vector<float> received_;  // the volume as received, written in on_tr
  bool pending_ = false;
  std::vector<std::jthread> compressing_;  // declared last: joined first, before the stream exits
};

}  // namespace

void register_bold(Registry& r) {
  using T = SettingType;
  r.add_sink({"bold", "the volumes as received, as a BIDS run (sub-S/func/..._bold.nii[.gz] and .json), with --out",
              {{.key = "bold.enabled", .type = T::Bool, .def = true, .help = "record the BOLD volumes when there is an --out folder"},
               {.key = "bold.subject", .type = T::String, .def = std::string("01"), .help = "BIDS subject label (sub-...)",
                .flag = "--subject"},
               {.key = "bold.session", .type = T::String, .def = std::string(""), .help = "BIDS session label (ses-...); empty: none"},
               {.key = "bold.task", .type = T::String, .def = std::string("faces"), .help = "BIDS task label (task-...)"},
               {.key = "bold.run", .type = T::Int, .def = int64_t{0},
                .help = "BIDS run number of the next recording (hyper session sets it from the plan); 0: after the highest "
                        "one there", .min = 0.0, .max = 999.0}},
              [](const SinkContext& ctx) -> std::unique_ptr<Sink> {
                if (ctx.out.empty() || !ctx.settings.get_bool("bold.enabled")) return nullptr;
                for (const char* key : {"bold.subject", "bold.task"})
                  if (!std::regex_match(ctx.settings.get_string(key), std::regex("[A-Za-z0-9]+")))
                    throw SettingsError(std::string(key) + ": '" + ctx.settings.get_string(key) + "' is not a BIDS label (letters and digits)");
                const BoldOptions o{ctx.out, ctx.settings.get_string("bold.subject"), ctx.settings.get_string("bold.session"),
                                    ctx.settings.get_string("bold.task"), static_cast<int>(ctx.settings.get_int("bold.run"))};
                if (o.run > 0)  // a recording is never written over
                  for (const auto& f : run_files(bids_run_stem(o.out, o.subject, o.session, o.task, o.run)))
                    if (f.filename().string().find("_bold.") != std::string::npos)
                      throw SettingsError(fmt::format("bold.run: run {} is already recorded ({}): choose another number, or 0 for "
                                                      "the next free one", o.run, f.string()));
                return std::make_unique<BoldSink>(o);
              }});
}

}  // namespace hyper

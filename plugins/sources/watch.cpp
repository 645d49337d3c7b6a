// The watched export folder (`hyper stream --watch DIR`, `hyper bridge`; README, "At the
// scanner"): Siemens' real-time export writes one mosaic DICOM per volume,
// 001_<series:06d>_<volume:06d>.dcm, into a folder the analysis PC mounts; some tools write
// one 3D NIfTI per volume. Files arrive over a network share, where inotify sees nothing
// of another host's writes: the folder is polled (watch.poll_ms) and inotify only wakes the
// poll early. A file is taken when it reads whole (its pixels all there); until then it is
// tried again as it grows, and given up after watch.complete_ms ("incomplete").
#include <sys/inotify.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "hyper/registry.hpp"
#include "net/protocol.hpp"
#include "io/nifti.hpp"
#include "sources/run_feed.hpp"
#include "sources/siemens_dicom.hpp"

namespace hyper {

namespace {

struct WatchOptions {
  std::filesystem::path dir;
  double tr_s = 0;           // 0: the DICOM RepetitionTime
  std::string run_id;        // "": series-N (nifti for a NIfTI folder)
  int64_t count = 0;
  int64_t series = -1;       // -1: the newest series
  std::chrono::milliseconds poll{10}, complete{5000}, run_timeout{30000};
  size_t reorder = 2, queue_capacity = 64;
  bool inotify = true;       // off: polling alone, as over a share (for measuring it)
};

// What a file's name says: the Siemens export's series and volume (1-based), or a NIfTI's trailing number.
struct Name {
  enum class Kind : uint8_t { Dicom, Nifti, Other } kind = Kind::Other;
  int64_t series = -1, number = -1;
};

Name parse_name(const std::string& name) {
  // At most 9 digits a number: a name cannot overflow them.
  static const std::regex siemens(R"(^\d+_(\d{1,9})_(\d{1,9})\.dcm$)"), number(R"((\d{1,9})\.nii(\.gz)?$)");
  std::smatch m;
  if (std::regex_match(name, m, siemens)) return {Name::Kind::Dicom, std::stoll(m[1]), std::stoll(m[2])};
  if (name.ends_with(".dcm") || name.ends_with(".IMA")) return {Name::Kind::Dicom, -1, -1};
  if (name.ends_with(".nii") || name.ends_with(".nii.gz"))
    return {Name::Kind::Nifti, 0, std::regex_search(name, m, number) ? std::stoll(m[1]) : -1};
  return {};
}

class WatchSource : public FeedSource {
 public:
  explicit WatchSource(WatchOptions o)
      : FeedSource({.protocol = "watch", .queue_capacity = o.queue_capacity, .reorder = o.reorder, .tr_s = o.tr_s > 0 ? o.tr_s : 1.0,
                    .count = o.count}),
        o_(std::move(o)) {
    if (!std::filesystem::is_directory(o_.dir)) throw SettingsError("watch.dir: no such folder: " + o_.dir.string() + " (from --watch)");
    // What is there already is an earlier series: ignored, unless --series picks it.
    for (const auto& e : std::filesystem::directory_iterator(o_.dir)) {
      const Name n = parse_name(e.path().filename().string());
      if (o_.series < 0 || n.series != o_.series) done_.insert(e.path().filename().string());
    }
    inotify_ = o_.inotify ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1;
    if (inotify_ >= 0 && inotify_add_watch(inotify_, o_.dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY) < 0) {
      ::close(inotify_);
      inotify_ = -1;
    }
  }
  ~WatchSource() override {
    stop();
    if (inotify_ >= 0) ::close(inotify_);
  }

  std::string describe() const override {
    return fmt::format("the export folder {} (polled every {} ms{})", o_.dir.string(), o_.poll.count(), inotify_ >= 0 ? ", and inotify" : "");
  }
 private:
  struct Pending {
    std::chrono::steady_clock::time_point first_seen, tried_at{};
    int64_t t_seen = 0;            // realtime, for the record
    std::uintmax_t tried_size = ~std::uintmax_t{0};
    std::filesystem::file_time_type tried_mtime{};
  };

  void receive() override {
    last_file_ = std::chrono::steady_clock::now();
    while (!stop_) {
      if (inotify_ >= 0) {  // a local write wakes the poll at once; its events themselves are not needed
        pollfd p{inotify_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(o_.poll.count())) > 0) {
          char buf[4096];
          while (read(inotify_, buf, sizeof buf) > 0) {}
        }
      } else {
        std::this_thread::sleep_for(o_.poll);
      }
      scan();
      feed_.flush_due();
      if (feed_.open() && std::chrono::steady_clock::now() - last_file_ > o_.run_timeout) feed_.end_run("timeout");
    }
  }

  void scan() {
    // The listing, in name order (Siemens names sort by series, then volume): files found in
    // one listing go on in order. A share's transient error ends this listing, not the watch.
    std::vector<std::filesystem::directory_entry> entries;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(o_.dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
    if (ec) spdlog::debug("watch: listing {}: {}", o_.dir.string(), ec.message());
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
    for (const auto& e : entries) {
      try {
        consider(e);
      } catch (const std::exception& x) {  // one bad file is counted, never the end of the watch
        const std::string name = e.path().filename().string();
        feed_.drop("unreadable", name + ": " + x.what());
        done_.insert(name);
        pending_.erase(name);
      }
    }
  }

  void consider(const std::filesystem::directory_entry& e) {
    std::error_code ec;
    const std::string name = e.path().filename().string();
    if (done_.count(name) || !e.is_regular_file(ec)) return;
    const Name n = parse_name(name);
    if (n.kind == Name::Kind::Other || (o_.series >= 0 && n.series >= 0 && n.series != o_.series)) {
      if (n.kind == Name::Kind::Other) spdlog::info("watch: {} ignored: not a DICOM (.dcm) or NIfTI file", name);
      done_.insert(name);
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    auto it = pending_.try_emplace(name, Pending{now, {}, realtime_ns()}).first;
    Pending& p = it->second;
    const std::uintmax_t size = e.file_size(ec);
    const auto mtime = e.last_write_time(ec);
    // Tried again when it changed (a writer may set the full size first and fill it in
    // later), and every 50 ms whatever the file system says.
    if (ec || (size == p.tried_size && mtime == p.tried_mtime && now - p.tried_at < std::chrono::milliseconds(50))) {
      give_up_if_late(name, p);
      return;
    }
    p.tried_size = size;
    p.tried_mtime = mtime;
    p.tried_at = now;
    spdlog::debug("watch: trying {} ({} bytes)", name, size);
    if (take(e.path(), n, p)) {
      done_.insert(name);
      pending_.erase(it);
    } else {
      give_up_if_late(name, p);
    }
  }

  void give_up_if_late(const std::string& name, const Pending& p) {
    const auto waited = std::chrono::steady_clock::now() - p.first_seen;
    if (waited < o_.complete) return;
    feed_.drop("incomplete", fmt::format("{} incomplete after {} ms", name, std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
    done_.insert(name);
    pending_.erase(name);
  }

  // Reads a file; false while it is incomplete (tried again as it grows).
  bool take(const std::filesystem::path& path, const Name& n, const Pending& p) {
    Volume volume;
    int64_t series = n.series, number = n.number;
    double tr_s = 0;
    if (n.kind == Name::Kind::Dicom) {
      auto r = read_siemens_dicom(path);
      if (auto* why = std::get_if<std::string>(&r)) {
        if (why->rfind("incomplete", 0) == 0) {
          spdlog::debug("watch: {} {}", path.filename().string(), *why);
          return false;
        }
        feed_.drop("unreadable", path.filename().string() + ": " + *why);
        return true;
      }
      DicomVolume& d = std::get<DicomVolume>(r);
      series = d.series;
      if (number < 0) number = d.instance;
      tr_s = d.tr_s;
      volume = std::move(d.volume);
    } else {
      try {
        const NiftiRun run = read_nifti(path);
        if (run.info.dims[3] != 1) {
          feed_.drop("unreadable", path.filename().string() + ": a 4D NIfTI; a watched folder takes one 3D volume per file");
          return true;
        }
        volume = run.volume(0);
        tr_s = run.info.tr_s;
      } catch (const std::exception&) {
        return false;  // a gzip or header cut short: still being written
      }
    }
    if (o_.series >= 0 && series != o_.series) return true;
    if (!route(series, path.filename().string())) return true;
    if (number < 0) number = next_number_++;
    if (first_number_ < 0) first_number_ = n.kind == Name::Kind::Dicom ? 1 : number;  // Siemens counts from 1
    check_tr(tr_s);
    auto tr = std::make_unique<Tr>();
    tr->run = feed_.run();
    tr->index = number - first_number_;
    tr->n_volumes = o_.count > 0 ? o_.count : -1;
    tr->tr_s = tr_s_;
    tr->volume = std::move(volume);
    tr->t.t_sent = p.t_seen;  // when this watcher first saw the file (the scanner's clock is not ours)
    tr->t.t_recv = realtime_ns();
    last_file_ = std::chrono::steady_clock::now();
    const bool last = o_.count > 0 && tr->index >= o_.count - 1;
    feed_.add(std::move(tr));
    if (last) feed_.end_run("count");
    return true;
  }

  // The run a file of `series` belongs to: the open one, a new one for a newer series; false: an older series.
  bool route(int64_t series, const std::string& name) {
    if (feed_.open() && series == series_) return true;
    if (feed_.open() && series < series_) {
      if (warned_series_.insert(series).second) spdlog::info("watch: {} ignored: series {} is older than the current {}", name, series, series_);
      return false;
    }
    feed_.end_run("new_series");
    series_ = series;
    first_number_ = -1;
    tr_checked_ = false;
    const std::string id = !o_.run_id.empty() ? o_.run_id : series > 0 ? fmt::format("series-{}", series) : std::string("nifti");
    spdlog::info("watch: series {} begins: run {}", series, id);
    feed_.open_run(id);
    return true;
  }

  void check_tr(double file_tr_s) {
    if (tr_checked_) return;
    tr_checked_ = true;
    tr_s_ = o_.tr_s > 0 ? o_.tr_s : file_tr_s;
    if (o_.tr_s > 0 && file_tr_s > 0 && std::fabs(file_tr_s - o_.tr_s) > 0.01 * o_.tr_s)
      spdlog::warn("run {}: the files say TR {} s, stream.tr is {} s: using {} s", feed_.run(), file_tr_s, o_.tr_s, o_.tr_s);
    if (tr_s_ <= 0) spdlog::warn("run {}: no TR in the files and none given (--tr SECONDS): timing per TR is unknown", feed_.run());
  }

  WatchOptions o_;
  int inotify_ = -1;
  // The watching thread's:
  std::set<std::string> done_;               // taken, ignored or given up
  std::map<std::string, Pending> pending_;   // seen, not yet whole
  std::set<int64_t> warned_series_;
  int64_t series_ = -1, first_number_ = -1, next_number_ = 0;
  double tr_s_ = 0;
  bool tr_checked_ = false;
  std::chrono::steady_clock::time_point last_file_;
};

}  // namespace

void register_watch(Registry& r) {
  using T = SettingType;
  r.add_source(
      {"watch", "a scanner's export folder: Siemens real-time mosaic DICOMs (001_SSSSSS_VVVVVV.dcm) or 3D NIfTI files, polled",
       {{.key = "watch.dir", .type = T::String, .def = std::string(""),
         .help = "the export folder (a mount of the scanner's share); setting it selects this source", .flag = "--watch"},
        {.key = "watch.series", .type = T::Int, .def = int64_t{-1},
         .help = "take this series only, including its files already there; -1: each newer series as it starts", .flag = "--series",
         .min = -1.0},
        {.key = "watch.poll_ms", .type = T::Float, .def = 10.0, .unit = "ms", .help = "how often the folder is listed",
         .min = 1.0, .max = 10000.0},
        {.key = "watch.complete_ms", .type = T::Float, .def = 5000.0, .unit = "ms",
         .help = "a file that does not read whole within this long after it appeared is given up (incomplete)", .min = 1.0},
        {.key = "watch.inotify", .type = T::Bool, .def = true,
         .help = "also wake on inotify (local writes; a network share's writes from another host show none)"},
        {.key = "watch.reorder", .type = T::Int, .def = int64_t{2}, .unit = "volumes",
         .help = "volumes held behind a missing one before it is given up (also after half a TR)", .min = 0.0, .max = 1000.0}},
       [](const Params& p) -> std::unique_ptr<Source> {
         WatchOptions o;
         o.dir = p.get_string("watch.dir");
         if (o.dir.empty()) throw SettingsError("watch.dir: give the export folder with --watch DIR");
         o.tr_s = p.get_float("stream.tr");
         o.run_id = p.get_string("stream.run_id");
         if (!o.run_id.empty() && !valid_run_id(o.run_id))
           throw SettingsError("stream.run_id: '" + o.run_id + "' is not a run id (letters, digits, - _ . ; no path)");
         o.count = p.get_int("stream.run_volumes");
         o.series = p.get_int("watch.series");
         o.poll = std::chrono::milliseconds(static_cast<int64_t>(p.get_float("watch.poll_ms")));
         o.complete = std::chrono::milliseconds(static_cast<int64_t>(p.get_float("watch.complete_ms")));
         o.run_timeout = std::chrono::milliseconds(static_cast<int64_t>(p.get_float("stream.run_timeout") * 1000));
         o.reorder = static_cast<size_t>(p.get_int("watch.reorder"));
         o.inotify = p.get_bool("watch.inotify");
         o.queue_capacity = static_cast<size_t>(p.get_int("stream.queue_capacity"));
         return std::make_unique<WatchSource>(std::move(o));
       }});
}

}  // namespace hyper

#include "io/run_record.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "io/files.hpp"
#include "io/tsv.hpp"

namespace hyper {

namespace {
// One write call per line: a killed process leaves whole lines.
void write_line(int fd, const std::string& line, const std::filesystem::path& path) {
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t w = write(fd, line.data() + done, line.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(path.string() + ": write failed: " + std::strerror(errno));
    }
    done += static_cast<size_t>(w);
  }
}
}  // namespace

RunRecord::RunRecord(const std::filesystem::path& out, const std::string& run, double tr_s, const std::vector<std::string>& stages,
                     bool resume)
    : dir_(out / run), stages_(stages.size()) {
  if (resume) {
    if (const auto u = unfinished_record(dir_)) {
      if (u->decoded > 0) latents_ = std::make_unique<NpyRowWriter>(dir_ / "latents.npy", kLatentDim, u->decoded);
      const auto path = dir_ / "tr.tsv";
      tsv_ = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      if (tsv_ < 0) throw std::runtime_error(path.string() + ": cannot open to continue: " + std::strerror(errno));
      return;
    }
  }
  ensure_dir(dir_);
  write_file_atomic(dir_ / "run.json", nlohmann::json{{"run", run}, {"tr_s", tr_s}, {"stages", stages}}.dump(2) + "\n");
  const auto path = dir_ / "tr.tsv";
  tsv_ = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (tsv_ < 0) throw std::runtime_error(path.string() + ": cannot create: " + std::strerror(errno));
  std::string header = "index\tt_acq_ns\tt_sent_ns\tt_recv_ns\tt_ready_ns\tsent_to_ready_ms";
  for (const auto& s : stages) header += "\t" + s + "_ms";
  header += "\ttx_mm\tty_mm\ttz_mm\trx_rad\try_rad\trz_rad\tfd_mm\tdecoded\n";
  write_line(tsv_, header, path);
}

RunRecord::~RunRecord() {
  if (tsv_ >= 0) close(tsv_);
}

void RunRecord::add(const Tr& tr) {
  if (tr.decoded) {
    if (!latents_) latents_ = std::make_unique<NpyRowWriter>(dir_ / "latents.npy", kLatentDim);
    latents_->append(tr.latent.data());
  }
  const double sent_to_ready = tr.t.t_sent >= 0 && tr.t.t_ready >= 0 ? static_cast<double>(tr.t.t_ready - tr.t.t_sent) * 1e-6 : -1.0;
  std::string line = fmt::format("{}\t{}\t{}\t{}\t{}\t{:.3f}", tr.index, tr.t.t_acq, tr.t.t_sent, tr.t.t_recv, tr.t.t_ready, sent_to_ready);
  for (size_t i = 0; i < stages_; ++i)  // nan: the chain did not run on this volume
    line += i < tr.stage_ms.size() ? fmt::format("\t{:.3f}", tr.stage_ms[i]) : std::string("\tnan");
  for (size_t i = 0; i < 3; ++i) line += fmt::format("\t{:.5f}", tr.motion[i]);
  for (size_t i = 3; i < 6; ++i) line += fmt::format("\t{:.7f}", tr.motion[i]);
  line += fmt::format("\t{:.4f}\t{}\n", tr.fd_mm, tr.decoded ? 1 : 0);
  write_line(tsv_, line, dir_ / "tr.tsv");
}

std::optional<UnfinishedRecord> unfinished_record(const std::filesystem::path& dir) {
  const auto tsv = dir / "tr.tsv";
  if (!std::filesystem::exists(tsv) || std::filesystem::exists(dir / "summary.json")) return std::nullopt;
  std::string text;
  {
    std::ifstream in(tsv, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto header_end = text.find('\n');
  if (header_end == std::string::npos) return std::nullopt;  // not even its header: not a record to continue
  if (const auto end = text.rfind('\n'); end + 1 != text.size()) {  // a half-written last line
    text.resize(end + 1);
    std::error_code ec;
    std::filesystem::resize_file(tsv, text.size(), ec);
    if (ec) return std::nullopt;
  }
  UnfinishedRecord u;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    try {
      u.last_index = std::max<int64_t>(u.last_index, std::stoll(line.substr(0, tab)));
    } catch (const std::exception&) {
      return std::nullopt;  // a line that is not ours: recorded anew (RUN.2) rather than continued wrongly
    }
    u.decoded += line.ends_with("\t1") ? 1 : 0;
  }
  return u;
}

BenchRecord read_record_timings(const std::filesystem::path& rec, int warmup) {
  BenchRecord r;
  r.warmup = warmup;
  r.stages = nlohmann::json::parse(std::ifstream(rec / "run.json")).at("stages").get<std::vector<std::string>>();
  const auto tsv = rec / "tr.tsv";
  const auto index = read_tsv_column(tsv, "index"), sent = read_tsv_column(tsv, "t_sent_ns"), recv = read_tsv_column(tsv, "t_recv_ns"),
             ready = read_tsv_column(tsv, "t_ready_ns");
  std::vector<std::vector<double>> stage_cols;
  for (const auto& s : r.stages) stage_cols.push_back(read_tsv_column(tsv, s + "_ms"));
  std::map<int64_t, size_t> at;  // volume index -> its row
  for (size_t i = 0; i < index.size(); ++i) {
    TrTiming t;
    t.index = static_cast<int64_t>(index[i]);
    t.transport_ms = (recv[i] - sent[i]) * 1e-6;
    t.ready_ms = (ready[i] - sent[i]) * 1e-6;
    for (const auto& c : stage_cols) t.stage_ms.push_back(c[i]);
    at[t.index] = r.trs.size();
    r.trs.push_back(t);
  }
  double last_ns = ready.empty() ? 0 : *std::max_element(ready.begin(), ready.end());
  // Faces (frames.tsv) and screens (presented.tsv), joined on the volume index; `keep(row)`
  // chooses the rows a join takes (all when empty).
  using Field = std::pair<std::string, double TrTiming::*>;
  auto join = [&](const std::string& file, const std::string& t_column, const std::vector<Field>& fields,
                  const std::function<bool(size_t)>& keep = {}) {
    if (!std::filesystem::exists(rec / file)) return;
    const auto idx = read_tsv_column(rec / file, "index"), t_ns = read_tsv_column(rec / file, t_column);
    std::vector<std::vector<double>> cols;
    for (const Field& f : fields) cols.push_back(read_tsv_column(rec / file, f.first));
    for (size_t i = 0; i < idx.size(); ++i)
      if (auto it = at.find(static_cast<int64_t>(idx[i])); it != at.end() && (!keep || keep(i))) {
        for (size_t c = 0; c < fields.size(); ++c) r.trs[it->second].*(fields[c].second) = cols[c][i];
        last_ns = std::max(last_ns, t_ns[i]);
      }
  };
  // Coarse-first columns, in records that have them: frames.tsv's sent_to_first_image_ms (-1:
  // none for that face) and presented.tsv's coarse (1: the early face on screen, 0: the full one).
  auto column_if_any = [&](const char* file, const char* column) {
    std::ifstream in(rec / file);
    std::string header;
    const bool has = std::getline(in, header) && ("\t" + header + "\t").find(std::string("\t") + column + "\t") != std::string::npos;
    return has ? read_tsv_column(rec / file, column) : std::vector<double>{};
  };
  join("frames.tsv", "t_image_ns", {{"generate_ms", &TrTiming::generate_ms}, {"sent_to_image_ms", &TrTiming::image_ms}});
  if (const auto first = column_if_any("frames.tsv", "sent_to_first_image_ms"); !first.empty())
    join("frames.tsv", "t_image_ns", {{"sent_to_first_image_ms", &TrTiming::first_image_ms}}, [&](size_t i) { return first[i] >= 0; });
  const auto coarse = column_if_any("presented.tsv", "coarse");
  join("presented.tsv", "t_present_ns", {{"sent_to_present_ms", &TrTiming::present_ms}},
       [&](size_t i) { return coarse.empty() || coarse[i] == 0; });
  if (!coarse.empty())
    join("presented.tsv", "t_present_ns", {{"sent_to_present_ms", &TrTiming::first_present_ms}}, [&](size_t i) { return coarse[i] != 0; });
  r.sent = static_cast<int64_t>(index.size());
  if (std::filesystem::exists(rec / "summary.json")) {
    const auto summary = nlohmann::json::parse(std::ifstream(rec / "summary.json"));
    r.sent = summary.value("volumes_sent", r.sent);
    r.dropped = summary.value("dropped_total", int64_t{0});
  }
  const auto first = static_cast<size_t>(std::max(0, warmup));
  if (sent.size() > first) r.wall_s = (last_ns - sent[first]) * 1e-9;
  return r;
}

}  // namespace hyper

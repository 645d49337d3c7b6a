#include "io/run_record.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "io/files.hpp"

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

RunRecord::RunRecord(const std::filesystem::path& out, const std::string& run, double tr_s, const std::vector<std::string>& stages)
    : dir_(out / run), stages_(stages.size()) {
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

}  // namespace hyper

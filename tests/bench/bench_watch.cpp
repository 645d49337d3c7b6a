// The watched export folder's latency: a Siemens mosaic (64x64x36, as the real-time export
// writes it) appearing in the folder -> its volume out of the watch source, ready for the
// chain. Written whole, or in three chunks 5 ms apart (a copy over a share); with inotify
// (local writes) and with polling alone (a share's writes from another host show no
// events); default poll interval (watch.poll_ms = 10). Prints a Markdown table.
//
//   hyper_bench_watch [--volumes 40] [--json FILE]
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "builtin.hpp"
#include "core/registry.hpp"
#include "core/settings.hpp"
#include "core/stats.hpp"

using namespace hyper;

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

LatencySummary measure(const std::filesystem::path& mosaics, const std::filesystem::path& dir, int volumes, bool chunks, bool inotify) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  PartRegistry parts;
  register_builtin_parts(parts);
  Schema schema;
  parts.declare(schema);
  Settings st(schema);
  st.apply_assignment("watch.dir=" + dir.string());
  st.apply_assignment("stream.tr=1.5");
  st.apply_value("watch.inotify", inotify, "bench");
  auto source = parts.source("watch").make(st);
  source->start();
  std::vector<double> ms;
  for (int v = 1; v <= volumes; ++v) {
    const std::string name = fmt::format("001_000001_{:06d}.dcm", v);
    const std::string bytes = read_all(mosaics / name);
    std::this_thread::sleep_for(std::chrono::milliseconds(23));  // between polls, at no fixed phase
    std::chrono::steady_clock::time_point done;
    {
      std::ofstream out(dir / name, std::ios::binary);
      const size_t parts_n = chunks ? 3 : 1;
      for (size_t c = 0; c < parts_n; ++c) {
        if (c) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        out << bytes.substr(bytes.size() * c / parts_n, bytes.size() * (c + 1) / parts_n - bytes.size() * c / parts_n) << std::flush;
      }
      out.close();
      done = std::chrono::steady_clock::now();
    }
    while (true) {  // the run start comes before the first volume
      auto ev = source->next(std::chrono::seconds(10));
      if (!ev) throw std::runtime_error(name + ": no volume within 10 s");
      if (ev->kind != SourceEvent::Kind::Volume) continue;
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - done).count());
      break;
    }
  }
  source->stop();
  return summarize(ms);
}

}  // namespace

int main(int argc, char** argv) {
  int volumes = 40;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--volumes" && i + 1 < argc) volumes = std::stoi(argv[++i]);
    else if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: hyper_bench_watch [--volumes 40] [--json FILE]\n");
      return 2;
    }
  }
  const auto tmp = std::filesystem::temp_directory_path() / fmt::format("hyper-bench-watch-{}", getpid());
  std::filesystem::create_directories(tmp);
  const std::string src = HYPER_SOURCE_DIR;
  const std::string make = fmt::format("/usr/bin/python3 {0}/tools/make_run.py --out {1}/run.nii --dims 64 64 36 {2} --dtype int16 && "
                                       "/usr/bin/python3 {0}/tests/integration/make_mosaic.py {1}/run.nii {1}/mosaics",
                                       src, tmp.string(), volumes);
  if (std::system(make.c_str()) != 0) {
    std::fprintf(stderr, "could not make the mosaics (python3-nibabel, python3-pydicom)\n");
    return 1;
  }
  std::printf("| file written -> volume ready, ms (64x64x36 mosaic, %d volumes, poll 10 ms) | p50 | p99 | max |\n|---|---|---|---|\n",
              volumes);
  nlohmann::json j = nlohmann::json::array();
  for (const bool inotify : {true, false})
    for (const bool chunks : {false, true}) {
      const LatencySummary s = measure(tmp / "mosaics", tmp / "watch", volumes, chunks, inotify);
      const std::string name = fmt::format("{}, {}", chunks ? "three chunks 5 ms apart" : "written whole",
                                           inotify ? "inotify and polling" : "polling alone");
      std::printf("| %s | %.2f | %.2f | %.2f |\n", name.c_str(), s.p50, s.p99, s.max);
      j.push_back({{"variant", name}, {"p50_ms", s.p50}, {"p99_ms", s.p99}, {"max_ms", s.max}, {"n", s.n}});
    }
  if (!json_path.empty()) std::ofstream(json_path) << j.dump(2) << "\n";
  std::filesystem::remove_all(tmp);
  return 0;
}

#include "io/bids.hpp"

#include <algorithm>
#include <fstream>
#include <regex>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace hyper {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// RepetitionTime from the first JSON that has it: the run's own sidecar, then the
// dataset-level task-<label>_bold.json (BIDS inheritance, top level only).
double sidecar_tr(const fs::path& nifti, const fs::path& dataset_root) {
  std::vector<fs::path> candidates{nifti.parent_path() / (nifti_stem(nifti) + ".json")};
  std::smatch m;
  const std::string name = nifti.filename().string();
  if (!dataset_root.empty() && std::regex_search(name, m, std::regex(R"(task-[A-Za-z0-9]+)")))
    candidates.push_back(dataset_root / (m.str() + "_bold.json"));
  for (const auto& c : candidates) {
    std::ifstream in(c);
    if (!in) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(c.string() + ": not valid JSON: " + e.what());
    }
    if (j.contains("RepetitionTime")) {
      const auto& v = j["RepetitionTime"];
      if (!v.is_number() || !(v.get<double>() > 0))
        throw std::runtime_error(c.string() + ": RepetitionTime must be a positive number");
      return v.get<double>();
    }
  }
  return 0;
}

}  // namespace

std::vector<Event> read_events(const fs::path& tsv) {
  std::ifstream in(tsv);
  if (!in) throw std::runtime_error(tsv.string() + ": cannot open");
  auto split = [](const std::string& line) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) out.push_back(line.substr(start, tab - start));
    out.push_back(line.substr(start));
    return out;
  };
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(tsv.string() + ": empty");
  const auto head = split(line);
  auto column = [&](const std::string& name) -> int {
    for (size_t i = 0; i < head.size(); ++i)
      if (head[i] == name) return static_cast<int>(i);
    return -1;
  };
  const int c_on = column("onset"), c_dur = column("duration"), c_type = column("trial_type"), c_stim = column("stim_index");
  if (c_on < 0 || c_dur < 0) throw std::runtime_error(tsv.string() + ": needs the columns onset and duration");
  std::vector<Event> events;
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    const auto f = split(line);
    auto number = [&](int c, const char* name) {
      try {
        size_t used = 0;
        const double v = std::stod(f.at(static_cast<size_t>(c)), &used);
        if (used != f[static_cast<size_t>(c)].size()) throw std::invalid_argument(name);
        return v;
      } catch (const std::exception&) {
        throw std::runtime_error(tsv.string() + ":" + std::to_string(row) + ": column " + name + " is not a number");
      }
    };
    Event e;
    e.onset = number(c_on, "onset");
    e.duration = number(c_dur, "duration");
    if (c_type >= 0 && static_cast<size_t>(c_type) < f.size()) e.trial_type = f[static_cast<size_t>(c_type)];
    if (c_stim >= 0) e.stim_index = static_cast<int64_t>(number(c_stim, "stim_index"));
    events.push_back(e);
  }
  return events;
}

fs::path bids_run_stem(const fs::path& out, const std::string& subject, const std::string& session, const std::string& task,
                       int run) {
  fs::path dir = out / ("sub-" + subject);
  std::string prefix = "sub-" + subject;
  if (!session.empty()) {
    dir /= "ses-" + session;
    prefix += "_ses-" + session;
  }
  dir /= "func";
  if (run <= 0) {
    run = 1;
    const std::regex taken(prefix + "_task-" + task + R"(_run-(\d+)_bold\.(nii|nii\.gz|json)$)");
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::smatch m;
      const std::string name = e.path().filename().string();
      if (std::regex_match(name, m, taken)) run = std::max(run, std::stoi(m[1]) + 1);
    }
  }
  return dir / fmt::format("{}_task-{}_run-{:02d}", prefix, task, run);
}

std::vector<fs::path> run_files(const fs::path& stem) {
  std::vector<fs::path> files;
  const std::string prefix = stem.filename().string() + "_";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(stem.parent_path(), ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

fs::path events_path(const fs::path& run) {
  std::string stem = nifti_stem(run);
  if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, "_bold") == 0) stem.resize(stem.size() - 5);
  return run.parent_path() / (stem + "_events.tsv");
}

double run_tr(const RunFile& run, double header_tr_s, const std::string& time_unit, double override_s) {
  if (override_s > 0) return override_s;
  if (run.sidecar_tr_s > 0) return run.sidecar_tr_s;
  if (header_tr_s > 0) {
    if (time_unit == "unknown")
      spdlog::warn("{}: the header has no time unit; reading pixdim[4] = {} as seconds", run.path.string(),
                   header_tr_s);
    return header_tr_s;
  }
  throw std::runtime_error(run.path.string() +
                           ": no TR in the header (pixdim[4] is 0) nor in a BIDS sidecar; give --tr SECONDS");
}

std::string nifti_stem(const fs::path& p) {
  std::string name = p.filename().string();
  for (const char* ext : {".nii.gz", ".nii"})
    if (ends_with(name, ext)) return name.substr(0, name.size() - std::string(ext).size());
  return p.stem().string();
}

bool is_nifti_name(const fs::path& p) {
  const std::string name = p.filename().string();
  return ends_with(name, ".nii") || ends_with(name, ".nii.gz");
}

std::vector<RunFile> find_runs(const fs::path& input) {
  std::error_code ec;
  if (fs::is_regular_file(input, ec)) {
    if (!is_nifti_name(input))
      throw std::runtime_error(input.string() + ": not a NIfTI file (.nii or .nii.gz)");
    return {RunFile{input, nifti_stem(input), sidecar_tr(input, {})}};
  }
  if (!fs::is_directory(input, ec))
    throw std::runtime_error(input.string() + ": no such file or folder");

  std::vector<fs::path> found;
  for (auto it = fs::recursive_directory_iterator(input, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (p.parent_path().filename() == "func" && is_nifti_name(p) &&
        nifti_stem(p).size() > 5 && ends_with(nifti_stem(p), "_bold") &&
        p.lexically_relative(input).begin()->string().rfind("sub-", 0) == 0)
      found.push_back(p);
  }
  if (found.empty())
    throw std::runtime_error(input.string() +
                             ": no runs found (expected sub-*/func/*_bold.nii[.gz] in a BIDS folder)");
  std::sort(found.begin(), found.end());
  std::vector<RunFile> runs;
  for (const auto& p : found) runs.push_back({p, nifti_stem(p), sidecar_tr(p, input)});
  return runs;
}

std::optional<BoldRecording> find_unfinished_bold(const std::filesystem::path& out, const std::string& run) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(out, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    const auto& p = it->path();
    if (it.depth() > 4 || p.extension() != ".json" || p.stem().string().size() < 5 || !p.stem().string().ends_with("_bold")) continue;
    try {
      const auto j = nlohmann::json::parse(std::ifstream(p), nullptr, /*allow_exceptions=*/false);
      const auto h = j.is_object() ? j.find("HyperRT") : j.end();
      if (h == j.end() || !h->is_object() || h->value("run", std::string()) != run || h->value("recording_complete", true)) continue;
      auto nii = p;
      nii.replace_extension(".nii");
      if (!std::filesystem::exists(nii)) continue;
      return BoldRecording{nii, p, h->value("first_index", int64_t{0})};
    } catch (const nlohmann::json::exception&) {  // a sidecar of another shape: not ours
    }
  }
  return std::nullopt;
}

}  // namespace hyper

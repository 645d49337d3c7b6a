#include "cli/bench_python.hpp"

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "core/subprocess.hpp"
#include "generators/generator_settings.hpp"

namespace hyper {

namespace {

// What the script mirrors: these stages with these settings; anything else is said.
void check_mirrored(const Settings& st) {
  for (const std::string& s : st.get_list("preprocess.chain"))
    if (s != "realign" && s != "smooth" && s != "mask" && s != "detrend" && s != "zscore")
      throw SettingsError("bench.baseline: the Python baseline mirrors realign, smooth, mask, detrend and zscore, not '" + s +
                          "' (preprocess.chain)");
  auto require = [&](const char* key, const std::string& value) {  // value as TOML writes it
    if (format_value(st.value(key)) != value)
      throw SettingsError(std::string("bench.baseline: the Python baseline runs ") + key + " = " + value + " only");
  };
  require("preprocess.mask.source", "\"auto\"");
  require("preprocess.mask.threshold", "0.125");
  require("preprocess.detrend.mode", "\"glm\"");
  require("preprocess.detrend.horizon_volumes", "0");
  require("preprocess.detrend.cosine_cutoff_s", "0");
  require("preprocess.detrend.motion", "false");
  require("preprocess.zscore.fixed", "\"\"");
  require("preprocess.realign.reference", "\"first\"");
  require("preprocess.realign.fwhm_mm", "6");
  require("preprocess.realign.finest_stride", "1");
  require("preprocess.realign.finest_fraction", "1");
  require("preprocess.smooth.truncate", "4");
}

}  // namespace

nlohmann::json run_python_baseline(const Settings& st, const Input& in, const std::filesystem::path& decoder,
                                   const std::filesystem::path& dir, const BenchSummary& ours) {
  check_mirrored(st);
  std::string chain;
  for (const std::string& s : st.get_list("preprocess.chain")) chain += (chain.empty() ? "" : ",") + s;
  std::vector<std::string> argv{"/usr/bin/python3", std::string(HYPER_SOURCE_DIR) + "/tools/python_baseline.py",
                                "--input", in.file.path.string(), "--chain", chain, "--decoder", decoder.string(),
                                "--volumes", std::to_string(st.get_int("bench.volumes")), "--warmup",
                                std::to_string(st.get_int("bench.warmup")), "--smooth-fwhm",
                                format_value(st.value("preprocess.smooth.fwhm_mm")), "--order",
                                std::to_string(st.get_int("preprocess.detrend.order")), "--tolerance",
                                format_value(st.value("preprocess.realign.tolerance"))};
  const GeneratorOptions g = generator_options(st);
  if (st.get_bool("bench.faces") && g.kind == "pggan")
    argv.insert(argv.end(), {"--generator", g.weights, "--resolution", std::to_string(g.resolution > 0 ? g.resolution : 1024),
                             "--threads", std::to_string(g.threads)});
  else if (st.get_bool("bench.faces"))
    spdlog::warn("bench.baseline: the Python baseline draws PGGAN faces only (generator.kind = {}): its faces are not timed", g.kind);
  spdlog::info("the Python baseline (tools/python_baseline.py) on the same run; its log: {}", (dir / "python_baseline.log").string());
  const auto out = dir / "python_baseline.json", log = dir / "python_baseline.log";
  if (run_to_files(argv, out, log) != 0)
    throw std::runtime_error("bench.baseline: tools/python_baseline.py failed; its log: " + log.string());
  std::ifstream f(out);
  nlohmann::json py = nlohmann::json::parse(f);
  nlohmann::json ratio = nlohmann::json::object(), order = nlohmann::json::array();
  auto add = [&](const std::vector<StageRow>& rows, const char* group) {
    for (const StageRow& r : rows)
      if (py[group].contains(r.name) && !py[group][r.name].is_null() && r.s.p50 > 0) {
        ratio[r.name] = {{"p50", py[group][r.name]["p50"].get<double>() / r.s.p50},
                         {"p99", py[group][r.name]["p99"].get<double>() / r.s.p99}};
        order.push_back(r.name);
      }
  };
  add(ours.stages, "stages");
  add(ours.end_to_end, "end_to_end");
  py["ratio"] = ratio;
  py["order"] = order;  // the rows in the pipeline's order
  py["ours"] = {};
  for (const StageRow& r : ours.stages) py["ours"][r.name] = {{"p50", r.s.p50}, {"p99", r.s.p99}};
  for (const StageRow& r : ours.end_to_end) py["ours"][r.name] = {{"p50", r.s.p50}, {"p99", r.s.p99}};
  return py;
}

std::string python_baseline_markdown(const nlohmann::json& py, const std::string& variant) {
  std::string t = fmt::format(
      "## The Python baseline\n\nThe same run, chain and decoder (and the PGGAN with the same weights, when it is the generator) "
      "through tools/python_baseline.py (numpy, torch), beside '{}'; ratio = Python / HYPER-RT.\n\n"
      "| ms | HYPER-RT p50 | p99 | Python p50 | p99 | p50 ratio | p99 ratio |\n|---|---|---|---|---|---|---|\n",
      variant);
  for (const std::string name : py["order"]) {
    const nlohmann::json& r = py["ratio"][name];
    const nlohmann::json& p = py["stages"].contains(name) ? py["stages"][name] : py["end_to_end"][name];
    t += fmt::format("| {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} |\n", name, py["ours"][name]["p50"].get<double>(),
                     py["ours"][name]["p99"].get<double>(), p["p50"].get<double>(), p["p99"].get<double>(),
                     r["p50"].get<double>(), r["p99"].get<double>());
  }
  return t + "\n";
}

}  // namespace hyper

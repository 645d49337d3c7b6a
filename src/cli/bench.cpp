// `hyper bench`: end-to-end latency (README, "Latency"). A recorded or simulated run goes
// through the real pipeline, paced at its TR or flooded, and every volume's way is timed:
// transport, each preprocessing stage, the decode stage, the generator, the screen; then
// summarised per stage and end to end, for one or more variants side by side (the ratios
// are the claims), as bench.md, bench.json, per-variant timings.tsv and PNG plots.
// How a variant is measured (two processes or one): bench_variant.hpp.
#include <cstdio>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/bench_python.hpp"
#include "cli/bench_variant.hpp"
#include "cli/command.hpp"
#include "core/interrupt.hpp"
#include "core/progress.hpp"
#include "core/variants.hpp"
#include "generators/generator_settings.hpp"
#include "io/files.hpp"
#include "sim/twin.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "bench.out", .type = T::String, .def = std::string("hyper-bench"),
         .help = "folder for bench.md, bench.json, per variant timings.tsv, plots", .flag = "--out"});
  s.add({.key = "bench.input", .type = T::String, .def = std::string(""),
         .help = "the run to send (4D NIfTI); empty: one twin run simulated with [twin] into OUT/twin", .flag = "--input", .existing = true});
  s.add({.key = "bench.decoder", .type = T::String, .def = std::string(""),
         .help = "decoder file; empty: a random one of bench.voxels x 512 on the chain's most posterior output voxels (where "
                 "a face decoder's visual voxels are; latency depends on their number and place, not on its values)",
         .flag = "--decoder", .existing = true});
  s.add({.key = "bench.voxels", .type = T::Int, .def = int64_t{4096}, .unit = "voxels", .help = "the random decoder's size",
         .min = 1.0});
  s.add({.key = "bench.mode", .type = T::String, .def = std::string("paced"),
         .help = "paced: one volume per TR / bench.speed; flood: as fast as the pipeline takes them (throughput)",
         .flag = "--mode", .choices = {"paced", "flood"}});
  s.add({.key = "bench.process", .type = T::String, .def = std::string("two"),
         .help = "two: hyper stream as a second process over tcp loopback; in: every step in turn in this process",
         .flag = "--process", .choices = {"two", "in"}});
  s.add({.key = "bench.speed", .type = T::Float, .def = 1.0, .unit = "x", .help = "paced mode: x real time", .min = 0.01});
  s.add({.key = "bench.volumes", .type = T::Int, .def = int64_t{60}, .unit = "volumes", .help = "volumes measured per variant",
         .flag = "--volumes", .min = 1.0});
  s.add({.key = "bench.warmup", .type = T::Int, .def = int64_t{5}, .unit = "volumes",
         .help = "volumes sent first and reported apart (caches, allocations, the generator's first call)", .min = 0.0});
  s.add({.key = "bench.budget_ms", .type = T::Float, .def = 200.0, .unit = "ms",
         .help = "a closed loop's latency budget: volumes over it are counted", .min = 0.0});
  s.add({.key = "bench.faces", .type = T::Bool, .def = true, .help = "draw the face every TR (the generator)"});
  s.add({.key = "bench.variants", .type = T::StringList, .def = std::vector<std::string>{},
         .help = "variants to run side by side, each [NAME:] KEY=VALUE[;KEY=VALUE...] over the settings; empty: one",
         .flag = "--variants"});
  s.add({.key = "bench.plots", .type = T::Bool, .def = true,
         .help = "PNG plots with tools/plot_bench.py (python3-matplotlib)"});
  s.add({.key = "bench.baseline", .type = T::String, .def = std::string(""),
         .help = "python: also time the same run through tools/python_baseline.py (numpy, torch), beside the first variant",
         .flag = "--baseline", .choices = {"", "python"}});
  s.add({.key = "bench.browsers", .type = T::Int, .def = int64_t{3},
         .help = "a variant with a dashboard (dashboard.listen=PORT): this many browsers read its live events meanwhile",
         .min = 0.0, .max = 16.0});
  s.add({.key = "bench.port", .type = T::Int, .def = int64_t{5570}, .help = "tcp port on 127.0.0.1 (process = two)", .min = 1.0,
         .max = 65535.0});
}

// From the settings, so that no generator is built (and its weights loaded) just to be named.
std::string setup_line(const Settings& st, double tr_s) {
  const GeneratorOptions g = generator_options(st);
  const std::string generator = fmt::format("{} {}, {} {}{}", g.kind, g.resolution > 0 ? std::to_string(g.resolution) + " px" : "at its largest",
                                            g.device, g.dtype, g.device == "cpu" ? fmt::format(", {} thread(s)", g.threads) : "");
  const std::string feedback = st.get_string("feedback.protocol").empty() ? "" : " + feedback " + st.get_string("feedback.protocol");
  return fmt::format("{}; {}; chain {} + decode{}; faces: {}{}", st.get_string("bench.process") == "two" ? "two processes, tcp loopback" : "in-process",
                     st.get_string("bench.mode") == "flood" ? "flood (as fast as taken)" : fmt::format("paced at TR {} s / {}", tr_s, st.get_float("bench.speed")),
                     format_value(st.value("preprocess.chain")), feedback, st.get_bool("bench.faces") ? generator : "off",
                     st.get_bool("display.enabled") ? "; shown with SDL" : "");
}

int run(const Settings& st, const PartRegistry& parts) {
  const std::filesystem::path out = st.get_string("bench.out");
  ensure_dir(out);
  // The run to send: the user's, or one twin run (simulated once into OUT/twin).
  Input in{st.get_string("bench.input").empty() ? twin_run(st, out / "twin") : find_runs(st.get_string("bench.input")).at(0), {}, 0};
  in.nifti = read_nifti(in.file.path);
  in.tr_s = run_tr(in.file, in.nifti.info.tr_s, in.nifti.info.time_unit);
  const auto& dims = in.nifti.info.dims;
  const int64_t count = st.get_int("bench.warmup") + st.get_int("bench.volumes");
  if (count > dims[3])
    throw SettingsError(fmt::format("bench.volumes: {} + {} warm-up volumes, but {} has {}", st.get_int("bench.volumes"),
                                    st.get_int("bench.warmup"), in.file.path.string(), dims[3]));
  std::vector<BenchRecord> records;
  std::vector<BenchSummary> summaries;
  nlohmann::json j = nlohmann::json::array();
  std::string report;
  const auto variants = variants_of(st, "bench.variants");
  std::filesystem::path first_decoder;  // the first variant's: the Python baseline decodes with it
  for (size_t i = 0; i < variants.size() && !interrupted(); ++i) {
    const Settings& v = variants[i].settings;
    const auto dir = out / variant_slug(i, variants[i].name);
    ensure_dir(dir);
    const auto decoder = decoder_for(v, parts, in, dir);
    if (i == 0) first_decoder = decoder;
    spdlog::info("variant {}/{} '{}': {} volumes ({} warm-up) of {}", i + 1, variants.size(), variants[i].name, count,
                 v.get_int("bench.warmup"), in.file.run_id);
    ProgressLine progress;
    auto sent = [&](int64_t k) { progress.update(fmt::format("variant {}/{}: {}/{} volumes", i + 1, variants.size(), k, count)); };
    BenchRecord r = v.get_string("bench.process") == "two" ? run_two_process(v, parts, in, decoder, dir, count, sent)
                                                           : run_in_process(v, parts, in, decoder, count, sent);
    progress.finish();
    r.variant = variants[i].name;
    r.setup = setup_line(v, in.tr_s);
    r.warmup = static_cast<int>(v.get_int("bench.warmup"));
    r.tr_s = in.tr_s;
    r.budget_ms = v.get_float("bench.budget_ms");
    const BenchSummary s = summarize_bench(r);
    write_file_atomic(dir / "timings.tsv", timings_tsv(r));
    j.push_back(to_json(r, s));
    report += bench_markdown(r, s);
    if (st.get_bool("bench.plots"))
      report += fmt::format("![time per volume by stage]({0}/timeline.png) ![end-to-end latency]({0}/histogram.png)\n\n",
                            dir.filename().string());
    records.push_back(std::move(r));
    summaries.push_back(s);
  }
  std::string md = fmt::format("# hyper bench: {} ({}x{}x{}, TR {} s)\n\nMeasured {}.\n\n", in.file.run_id, dims[0], dims[1], dims[2],
                               in.tr_s, bench_provenance(HYPER_SOURCE_DIR));
  if (st.get_bool("bench.plots")) md += "Every variant's end-to-end latency: ![latency](latency.png)\n\n";
  if (records.size() > 1) md += "## Side by side\n\n" + compare_markdown(records, summaries) + "\n";
  nlohmann::json bench{{"format", "hyper-bench/1"}, {"run", in.file.run_id}, {"variants", j}};
  if (st.get_string("bench.baseline") == "python" && !records.empty() && !interrupted()) {
    const auto dir = out / variant_slug(0, variants[0].name);
    bench["python_baseline"] = run_python_baseline(variants[0].settings, in, first_decoder, dir, summaries[0]);
    md += python_baseline_markdown(bench["python_baseline"], records[0].variant);
  }
  md += "## Per variant\n\n" + report;
  write_file_atomic(out / "bench.md", md);
  write_file_atomic(out / "bench.json", bench.dump(2) + "\n");
  std::vector<std::string> sections{"bench", "twin"};
  for (const auto& s : parts.session_sections()) sections.push_back(s);
  write_file_atomic(out / "settings.toml", st.to_toml(sections));
  std::printf("\n%s", md.c_str());
  if (st.get_bool("bench.plots")) {
    const std::filesystem::path script = std::filesystem::path(HYPER_SOURCE_DIR) / "tools/plot_bench.py";
    if (std::system(("/usr/bin/python3 '" + script.string() + "' '" + out.string() + "'").c_str()) != 0)
      spdlog::warn("no plots: {} failed (python3-matplotlib installed?)", script.string());
    else spdlog::info("plots: {}/*.png", out.string());
  }
  return interrupted() ? kExitInterrupted : 0;
}

}  // namespace

Command bench_command() {
  return {.name = "bench",
          .help = "end-to-end latency: per stage and end to end, paced or flooded, variants side by side",
          .sections = {"bench", "twin", "generator", "display"},
          .declare = declare,
          .run = run,
          .chain = true,
          .example = "hyper bench --preset small --volumes 60 --out bench   (one twin run through hyper stream, paced at its TR)"};
}

}  // namespace hyper

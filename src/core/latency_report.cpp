#include "core/latency_report.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <thread>

#include <spdlog/fmt/fmt.h>

namespace hyper {

namespace {

// `v[i]` is volume `index[i]`'s time (NaN: none).
StageRow row(const std::string& name, const std::vector<double>& v, const std::vector<int64_t>& index = {}) {
  std::vector<double> x;
  double n = 0, si = 0, sv = 0, sii = 0, siv = 0;
  for (size_t i = 0; i < v.size(); ++i)
    if (std::isfinite(v[i])) {
      x.push_back(v[i]);
      if (i < index.size()) {
        const auto k = static_cast<double>(index[i]);
        n += 1, si += k, sv += v[i], sii += k * k, siv += k * v[i];
      }
    }
  StageRow r{name, x.empty() ? LatencySummary{} : summarize(x)};
  const double den = n * sii - si * si;
  if (n >= 2 && den > 0) r.slope_per_1000 = 1000 * (n * siv - si * sv) / den;
  return r;
}

std::string ms(double x) { return fmt::format("{:.2f}", x); }

}  // namespace

BenchSummary summarize_bench(const BenchRecord& r) {
  BenchSummary s;
  const size_t first = std::min(r.trs.size(), static_cast<size_t>(std::max(0, r.warmup)));
  const std::vector<TrTiming> m(r.trs.begin() + static_cast<std::ptrdiff_t>(first), r.trs.end());
  std::vector<int64_t> index;
  for (const TrTiming& t : m) index.push_back(t.index);
  auto column = [&](auto get) {
    std::vector<double> v;
    for (const TrTiming& t : m) v.push_back(get(t));
    return v;
  };
  s.stages.push_back(row("transport", column([](const TrTiming& t) { return t.transport_ms; }), index));
  for (size_t k = 0; k < r.stages.size(); ++k)
    s.stages.push_back(
        row(r.stages[k], column([k](const TrTiming& t) { return k < t.stage_ms.size() ? t.stage_ms[k] : kNoTime; }), index));
  s.stages.push_back(row("generate", column([](const TrTiming& t) { return t.generate_ms; }), index));
  s.stages.push_back(row("present (image -> screen)", column([](const TrTiming& t) { return t.present_ms - t.image_ms; }), index));
  s.end_to_end.push_back(row("sent -> ready", column([](const TrTiming& t) { return t.ready_ms; }), index));
  s.end_to_end.push_back(row("sent -> first image", column([](const TrTiming& t) { return t.first_image_ms; }), index));
  s.end_to_end.push_back(row("sent -> image", column([](const TrTiming& t) { return t.image_ms; }), index));
  s.end_to_end.push_back(row("sent -> first on screen", column([](const TrTiming& t) { return t.first_present_ms; }), index));
  s.end_to_end.push_back(row("sent -> on screen", column([](const TrTiming& t) { return t.present_ms; }), index));
  std::erase_if(s.stages, [](const StageRow& x) { return x.s.n == 0; });
  std::erase_if(s.end_to_end, [](const StageRow& x) { return x.s.n == 0; });

  // Deadlines: the last stage this run reached (on screen, else image, else ready).
  auto last = [](const TrTiming& t) {
    return std::isfinite(t.present_ms) ? t.present_ms : std::isfinite(t.image_ms) ? t.image_ms : t.ready_ms;
  };
  s.deadline_measure = s.end_to_end.empty() ? "" : s.end_to_end.back().name;
  std::vector<double> warm;
  for (size_t i = 0; i < first; ++i) warm.push_back(last(r.trs[i]));
  s.warmup = row("warm-up, " + s.deadline_measure, warm);
  for (const TrTiming& t : m) {
    ++s.measured;
    const bool face = std::isfinite(t.image_ms);
    s.faces += face ? 1 : 0;
    // A decoded volume whose face was never drawn (a newer one replaced it) is skipped.
    if (!face && !s.deadline_measure.empty() && s.deadline_measure != "sent -> ready") ++s.skipped;
    const double e = s.deadline_measure == "sent -> on screen" ? t.present_ms : s.deadline_measure == "sent -> image" ? t.image_ms : t.ready_ms;
    if (!std::isfinite(e)) continue;
    if (r.tr_s > 0 && e > r.tr_s * 1000) ++s.misses_tr;
    if (r.budget_ms > 0 && e > r.budget_ms) ++s.misses_budget;
  }
  if (r.wall_s > 0) {
    s.volumes_per_s = static_cast<double>(s.measured) / r.wall_s;
    s.faces_per_s = static_cast<double>(s.faces) / r.wall_s;
  }
  return s;
}

nlohmann::json to_json(const BenchRecord& r, const BenchSummary& s) {
  auto rows = [](const std::vector<StageRow>& v) {
    nlohmann::json j = nlohmann::json::object();
    for (const StageRow& x : v) {
      j[x.name] = to_json(x.s);
      j[x.name]["slope_ms_per_1000_volumes"] = std::isfinite(x.slope_per_1000) ? nlohmann::json(x.slope_per_1000) : nlohmann::json(nullptr);
    }
    return j;
  };
  return {{"variant", r.variant},
          {"setup", r.setup},
          {"tr_s", r.tr_s},
          {"budget_ms", r.budget_ms},
          {"sent", r.sent},
          {"warmup", r.warmup},
          {"measured", s.measured},
          {"dropped", r.dropped},
          {"faces", s.faces},
          {"skipped", s.skipped},
          {"deadline_measure", s.deadline_measure},
          {"misses_tr", s.misses_tr},
          {"misses_budget", s.misses_budget},
          {"wall_s", r.wall_s},
          {"volumes_per_s", s.volumes_per_s},
          {"faces_per_s", s.faces_per_s},
          {"stages", rows(s.stages)},
          {"end_to_end", rows(s.end_to_end)},
          {"warmup_latency", to_json(s.warmup.s)}};
}

std::string bench_markdown(const BenchRecord& r, const BenchSummary& s) {
  std::string t = fmt::format("### {}\n\n{}\n\n", r.variant, r.setup);
  t += "| ms | n | p50 | p90 | p99 | max | mean | jitter (s.d.) | slope per 1000 volumes |\n|---|---|---|---|---|---|---|---|---|\n";
  auto add = [&](const StageRow& x, bool bold) {
    const std::string name = bold ? "**" + x.name + "**" : x.name;
    t += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", name, x.s.n, ms(x.s.p50), ms(x.s.p90), ms(x.s.p99), ms(x.s.max),
                     ms(x.s.mean), ms(x.s.sd), std::isfinite(x.slope_per_1000) ? fmt::format("{:+.3f}", x.slope_per_1000) : "–");
  };
  for (const StageRow& x : s.stages) add(x, false);
  for (const StageRow& x : s.end_to_end) add(x, true);
  t += fmt::format(
      "\n{} volumes measured after {} warm-up ({}: p50 {} ms, max {} ms); {} dropped, {} faces, {} skipped; "
      "{} over the TR ({} ms), {} over the budget ({} ms); {:.2f} volumes/s, {:.2f} faces/s\n\n",
      s.measured, r.warmup, s.warmup.name, ms(s.warmup.s.p50), ms(s.warmup.s.max), r.dropped, s.faces, s.skipped, s.misses_tr,
      r.tr_s * 1000, s.misses_budget, r.budget_ms, s.volumes_per_s, s.faces_per_s);
  return t;
}

std::string timings_tsv(const BenchRecord& r) {
  std::string t = "index\twarmup\ttransport_ms";
  for (const auto& s : r.stages) t += "\t" + s + "_ms";
  t += "\tgenerate_ms\tpresent_ms\tsent_to_ready_ms\tsent_to_image_ms\tsent_to_present_ms\n";
  for (size_t i = 0; i < r.trs.size(); ++i) {
    const TrTiming& x = r.trs[i];
    t += fmt::format("{}\t{}\t{:.4f}", x.index, i < static_cast<size_t>(r.warmup) ? 1 : 0, x.transport_ms);
    for (size_t k = 0; k < r.stages.size(); ++k) t += fmt::format("\t{:.4f}", k < x.stage_ms.size() ? x.stage_ms[k] : kNoTime);
    t += fmt::format("\t{:.4f}\t{:.4f}\t{:.4f}\t{:.4f}\t{:.4f}\n", x.generate_ms, x.present_ms - x.image_ms, x.ready_ms, x.image_ms,
                     x.present_ms);
  }
  return t;
}

std::string compare_markdown(const std::vector<BenchRecord>& records, const std::vector<BenchSummary>& summaries) {
  std::string t = "| ms |";
  std::string sep = "|---|";
  for (size_t v = 0; v < records.size(); ++v) {
    t += fmt::format(" {} p50 | p99 |", records[v].variant);
    sep += "---|---|";
    if (v > 0) {
      t += " p50 ratio | p99 ratio |";
      sep += "---|---|";
    }
  }
  t += "\n" + sep + "\n";
  // Every row name any variant has, stages first, in first-seen order.
  std::vector<std::string> names;
  std::map<std::string, std::vector<const StageRow*>> by_name;
  for (size_t v = 0; v < summaries.size(); ++v)
    for (const auto* list : {&summaries[v].stages, &summaries[v].end_to_end})
      for (const StageRow& x : *list) {
        auto& slot = by_name[x.name];
        if (slot.empty()) names.push_back(x.name), slot.resize(summaries.size(), nullptr);
        slot[v] = &x;
      }
  for (const std::string& name : names) {
    t += "| " + name + " |";
    const auto& rows = by_name[name];
    for (size_t v = 0; v < rows.size(); ++v) {
      t += rows[v] ? fmt::format(" {} | {} |", ms(rows[v]->s.p50), ms(rows[v]->s.p99)) : std::string(" – | – |");
      if (v > 0)
        t += rows[v] && rows[0] && rows[0]->s.p50 > 0
                 ? fmt::format(" {:.2f} | {:.2f} |", rows[v]->s.p50 / rows[0]->s.p50, rows[v]->s.p99 / rows[0]->s.p99)
                 : std::string(" – | – |");
    }
    t += "\n";
  }
  t += "\n| | ";
  for (const BenchRecord& r : records) t += r.variant + " | ";
  t += "\n|---|";
  for (size_t v = 0; v < records.size(); ++v) t += "---|";
  // One row per count, a cell per variant.
  auto row = [&](const char* label, auto cell) {
    t += fmt::format("\n| {} |", label);
    for (size_t v = 0; v < records.size(); ++v) t += " " + cell(records[v], summaries[v]) + " |";
  };
  row("volumes/s", [](const BenchRecord&, const BenchSummary& s) { return fmt::format("{:.2f}", s.volumes_per_s); });
  row("faces/s", [](const BenchRecord&, const BenchSummary& s) { return fmt::format("{:.2f}", s.faces_per_s); });
  row("skipped faces", [](const BenchRecord&, const BenchSummary& s) { return std::to_string(s.skipped); });
  row("dropped volumes", [](const BenchRecord& r, const BenchSummary&) { return std::to_string(r.dropped); });
  row("over the TR", [](const BenchRecord&, const BenchSummary& s) { return std::to_string(s.misses_tr); });
  row("over the budget", [](const BenchRecord&, const BenchSummary& s) { return std::to_string(s.misses_budget); });
  return t + "\n";
}

std::string bench_provenance(const std::filesystem::path& source_dir) {
  const std::time_t now = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::string cpu = "unknown CPU";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);)
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  const double gib = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE)) / (1024.0 * 1024 * 1024);
  std::string commit = "unknown";
  if (FILE* git = popen(("git -C '" + source_dir.string() + "' rev-parse --short HEAD 2>/dev/null").c_str(), "r")) {
    char buf[64] = {};
    if (std::fgets(buf, sizeof buf, git)) commit = std::string(buf).substr(0, std::string(buf).find('\n'));
    pclose(git);
  }
  return fmt::format("{}; {}, {} cores, {:.0f} GiB; commit {} (HYPER-RT {})", when, cpu, std::thread::hardware_concurrency(), gib,
                     commit, HYPER_VERSION);
}

}  // namespace hyper

#include "eval/matching.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "core/hrf.hpp"
#include "hyper/tr.hpp"
#include "io/bids.hpp"
#include "io/npy.hpp"
#include "io/tsv.hpp"

namespace hyper {

namespace {

// Predicted rows with the volume (or event) index each stands for.
struct Rows {
  NpyArray latents;
  std::vector<int64_t> index;  // row -> volume index; empty: row r is index r
  double tr_s = 0;             // from a run record's run.json
  std::string run;             // ... and its run id
  bool record = false;
};

Rows read_rows(const std::filesystem::path& pred) {
  Rows r;
  if (std::filesystem::is_directory(pred)) {
    r.record = true;
    const auto latents = pred / "latents.npy";
    if (!std::filesystem::exists(latents)) {
      // The stream's --out folder instead of one of its run folders: name the run folders inside.
      std::vector<std::string> runs;
      for (const auto& e : std::filesystem::directory_iterator(pred))
        if (std::filesystem::exists(e.path() / "run.json")) runs.push_back(e.path().string());
      std::sort(runs.begin(), runs.end());
      if (!runs.empty())
        throw std::runtime_error(fmt::format("{}: a stream's out folder, not a run record: give one of its run folders ({})",
                                             pred.string(), fmt::join(runs, ", ")));
      throw std::runtime_error(pred.string() + ": no latents.npy in this run record (was hyper stream given --decoder?)");
    }
    r.latents = read_npy(latents);
    const auto tsv = pred / "tr.tsv";
    const auto index = read_tsv_column(tsv, "index"), decoded = read_tsv_column(tsv, "decoded");
    for (size_t i = 0; i < index.size(); ++i)
      if (decoded[i] != 0) r.index.push_back(static_cast<int64_t>(index[i]));
    // A killed stream may have written a tr.tsv line without its latent row, or the reverse.
    if (static_cast<int64_t>(r.index.size()) > r.latents.shape[0]) r.index.resize(static_cast<size_t>(r.latents.shape[0]));
    const auto run_json = pred / "run.json";
    if (std::filesystem::exists(run_json)) {
      try {
        const auto j = nlohmann::json::parse(std::ifstream(run_json));
        r.tr_s = j.at("tr_s").get<double>();
        r.run = j.value("run", "");
      } catch (const std::exception& e) {
        throw std::runtime_error(run_json.string() + ": unreadable tr_s (" + e.what() + ")");
      }
    }
  } else {
    r.latents = read_npy(pred);
  }
  if (r.latents.shape.size() != 2 || r.latents.shape[1] != kLatentDim)
    throw std::runtime_error(fmt::format("{}: predictions must be rows of {} values, the array is {}", pred.string(), kLatentDim,
                                         fmt::join(r.latents.shape, " x ")));
  return r;
}

}  // namespace

EvalItems match_predictions(const std::vector<PredictionFile>& files, int64_t stimuli, const MatchOptions& o,
                            const std::function<void(const std::string&)>& note) {
  if (o.per != "auto" && o.per != "event" && o.per != "volume")
    throw std::runtime_error("eval.per: '" + o.per + "' is not auto, event or volume");
  // Presentation -> (stimulus, prediction row), in the order of the files and their events.
  std::vector<std::pair<int64_t, Eigen::VectorXd>> shown;
  EvalItems items;
  for (const PredictionFile& f : files) {
    const Rows rows = read_rows(f.pred);
    const auto events = read_events(f.events);
    // A record scored against another run's events gives a confident table of nonsense.
    const std::string name = f.events.filename().string(), suffix = "_events.tsv";
    if (!rows.run.empty() && name.ends_with(suffix)) {
      const std::string events_run = name.substr(0, name.size() - suffix.size());
      if (rows.run.rfind(events_run, 0) != 0) {
        const std::string what = fmt::format("{} is run {}, but {} is the events of run {}", f.pred.string(), rows.run,
                                             f.events.string(), events_run);
        if (!o.force) throw std::runtime_error(what + ": give each record its own run's events (or eval.force = true)");
        note("warning: " + what + " (eval.force)");
      }
    }
    const int64_t n_rows = rows.latents.shape[0];
    const bool per_event = !rows.record && (o.per == "event" || (o.per == "auto" && n_rows == static_cast<int64_t>(events.size())));
    if (per_event && n_rows != static_cast<int64_t>(events.size()))
      throw std::runtime_error(fmt::format("{}: {} rows, but {} has {} events (eval.per = event: one row per event)",
                                           f.pred.string(), n_rows, f.events.string(), events.size()));
    std::map<int64_t, int64_t> row_of;  // volume index -> row
    double tr_s = 0;
    if (!per_event) {
      tr_s = o.tr_s > 0 ? o.tr_s : rows.tr_s;
      if (tr_s <= 0)
        throw std::runtime_error(f.pred.string() + ": per-volume predictions need the TR: set eval.tr (--tr)");
      for (int64_t r = 0; r < n_rows; ++r) row_of[rows.index.empty() ? r : rows.index[static_cast<size_t>(r)]] = r;
    }
    int64_t used = 0, missing = 0;
    std::set<std::string> types;
    for (size_t e = 0; e < events.size(); ++e) {
      const Event& ev = events[e];
      if (ev.stim_index < 0 || (!o.trial_type.empty() && ev.trial_type != o.trial_type)) continue;
      if (ev.stim_index >= stimuli)
        throw std::runtime_error(fmt::format("{}: event {} shows stim_index {}, but the stimulus latents have {} rows",
                                             f.events.string(), e + 1, ev.stim_index, stimuli));
      int64_t row = static_cast<int64_t>(e);
      if (!per_event) {
        const double lag = o.lag_s >= 0 ? o.lag_s : block_peak_delay(ev.duration);
        const auto it = row_of.find(std::lround((ev.onset + lag) / tr_s));
        if (it == row_of.end()) {
          ++missing;
          continue;
        }
        row = it->second;
      }
      Eigen::VectorXd z(kLatentDim);
      for (int k = 0; k < kLatentDim; ++k) z[k] = rows.latents.data[static_cast<size_t>(row * kLatentDim + k)];
      shown.emplace_back(ev.stim_index, std::move(z));
      types.insert(ev.trial_type.empty() ? "(none)" : ev.trial_type);
      ++used;
    }
    note(fmt::format("{}: {} presentations matched ({}){}; trial types scored: {}", f.pred.string(), used,
                     per_event ? "one row per event" : fmt::format("one row per volume, TR {} s", tr_s),
                     missing > 0 ? fmt::format(", {} without a predicted volume", missing) : "", fmt::join(types, ", ")));
    items.matched += used;
    items.unmatched += missing;
  }
  if (shown.empty()) throw std::runtime_error("no presentation matched a prediction: nothing to evaluate");

  items.averaged = o.average;
  if (o.average) {  // one item per face, in stimulus order
    std::map<int64_t, std::pair<Eigen::VectorXd, int>> sum;
    for (const auto& [s, z] : shown) {
      auto [it, fresh] = sum.try_emplace(s, Eigen::VectorXd::Zero(kLatentDim), 0);
      it->second.first += z;
      ++it->second.second;
    }
    items.predicted.resize(static_cast<Eigen::Index>(sum.size()), kLatentDim);
    Eigen::Index i = 0;
    for (const auto& [s, acc] : sum) {
      items.predicted.row(i++) = (acc.first / acc.second).transpose();
      items.stimulus.push_back(s);
      items.presentations.push_back(acc.second);
    }
  } else {
    items.predicted.resize(static_cast<Eigen::Index>(shown.size()), kLatentDim);
    for (size_t i = 0; i < shown.size(); ++i) {
      items.predicted.row(static_cast<Eigen::Index>(i)) = shown[i].second.transpose();
      items.stimulus.push_back(shown[i].first);
      items.presentations.push_back(1);
    }
  }
  return items;
}

}  // namespace hyper

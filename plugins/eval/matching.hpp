#pragma once
// hyper eval's first step: which predicted latent belongs to which presented face
// (README, "hyper eval"). Predictions come as
//   - a .npy of one row per event (`hyper decode` with a trial-mode decoder), or of one row
//     per volume (`hyper decode` with a tr-mode decoder), or
//   - a run record folder of `hyper stream --decoder` (latents.npy, tr.tsv, run.json),
// each with the run's events.tsv. A volume prediction stands for the event whose response
// peaks at it: the volume at onset + lag (lag -1: the block response's peak, as the
// per-TR decoder is trained).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace hyper {

struct PredictionFile {
  std::filesystem::path pred;    // .npy or run record folder
  std::filesystem::path events;  // the run's events.tsv
};

struct MatchOptions {
  std::string per = "auto";  // auto | event | volume: what a .npy's rows are (auto: event when
                             // their count equals the events', else volume)
  double tr_s = 0;           // TR of a .npy of volumes (run records carry theirs)
  double lag_s = -1;         // volume = round((onset + lag) / TR); -1: the block response's peak
  std::string trial_type;    // only events of this trial_type; empty: every event with a stim_index
  bool average = true;       // one item per face (the mean of its presentations), else one per presentation
  bool force = false;        // score a run record against another run's events (warned) instead of refusing
};

struct EvalItems {
  Eigen::MatrixXd predicted;      // items x 512
  std::vector<int64_t> stimulus;  // each item's row of the stimulus latents
  std::vector<int> presentations; // how many predictions each item averages
  bool averaged = true;           // items are faces (else presentations)
  int64_t matched = 0;            // presentations with a prediction
  int64_t unmatched = 0;          // presentations without one (volume not predicted, run cut short)
};

// Throws std::runtime_error naming the file (and line or setting) that is wrong. `stimuli`
// is the number of rows of the stimulus latents: every used stim_index must be below it.
// `note` receives one line per file (what was matched and how).
EvalItems match_predictions(const std::vector<PredictionFile>& files, int64_t stimuli, const MatchOptions& options,
                            const std::function<void(const std::string&)>& note);

}  // namespace hyper

#pragma once
// How one variant of `hyper bench` is measured (README, "Latency"):
//   process = two: `hyper stream` as a second process, the run replayed into it over tcp
//                  loopback (what runs at a scanner; its run record gives the times)
//   process = in:  the Session in serial mode: one thread does everything in turn (the
//                  nifti_run source through the hyper/1 codec, the chain, the faces, the
//                  screen; no queues, no skipping: the pipeline's own cost)
// `sent(k)` is called as the k-th volume goes (two) or is processed (in): the progress line.

#include <filesystem>
#include <functional>

#include "core/latency_report.hpp"
#include "core/registry.hpp"
#include "core/settings.hpp"
#include "io/bids.hpp"
#include "sources/nifti_run.hpp"

namespace hyper {

struct Input {
  RunFile file;
  NiftiRun nifti;
  double tr_s = 0;
};

// The decoder to time: the user's (bench.decoder), or a random one of bench.voxels on this
// variant's chain output, written into `dir`.
std::filesystem::path decoder_for(const Settings& st, const PartRegistry& parts, const Input& in, const std::filesystem::path& dir);

BenchRecord run_two_process(const Settings& st, const PartRegistry& parts, const Input& in, const std::filesystem::path& decoder,
                            const std::filesystem::path& dir, int64_t count, const std::function<void(int64_t)>& sent);
BenchRecord run_in_process(const Settings& st, const PartRegistry& parts, const Input& in, const std::filesystem::path& decoder,
                           int64_t count, const std::function<void(int64_t)>& sent);

}  // namespace hyper

#pragma once
// What `hyper stream` and `hyper session` share: the live pipeline run from resolved settings.

#include <cstdint>
#include <string>

#include "core/registry.hpp"
#include "core/settings.hpp"

namespace hyper {

struct StreamOutcome {
  int64_t runs_ended = 0, runs_failed = 0;
  bool cut_short = false;  // stopped (Esc, Ctrl-C) with a run open
};

// The source [stream] names, the chain (with stream.decoder's decode stage), every sink its
// settings turn on, until max_runs runs have ended (0: until the source ends or Ctrl-C).
StreamOutcome stream_runs(const Settings& settings, const PartRegistry& parts, const std::string& out, int64_t max_runs);

}  // namespace hyper

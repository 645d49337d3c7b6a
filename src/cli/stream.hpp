#pragma once
// What `hyper stream` and `hyper session` share: the live pipeline run from resolved settings.

#include <cstdint>
#include <string>

#include "core/chain.hpp"
#include "core/registry.hpp"
#include "core/settings.hpp"

namespace hyper {

struct StreamOutcome {
  int64_t runs_ended = 0, runs_failed = 0;
  bool cut_short = false;  // stopped (Esc, Ctrl-C) with a run open
};

// The live pipeline's chain: [preprocess] (or the decoder's own), the decode stage with a
// decoder, and feedback.protocol's stage after it.
Chain live_chain(const PartRegistry& parts, const Settings& settings, const std::string& decoder_file);

// The source [stream] names, the chain (with stream.decoder's decode stage), every sink its
// settings turn on, until max_runs runs have ended (0: until the source ends or Ctrl-C).
StreamOutcome stream_runs(const Settings& settings, const PartRegistry& parts, const std::string& out, int64_t max_runs);

}  // namespace hyper

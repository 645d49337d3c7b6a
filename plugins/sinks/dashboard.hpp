#pragma once
// The experimenter's dashboard (`--dashboard [ADDR:]PORT`, README "The experimenter's
// dashboard"): one per process, kept across the runs of a `hyper session`.

#include <string>
#include <vector>

namespace hyper {

// The session's plan (a line per run) with the current run (0-based) highlighted, on the
// dashboard if one is open (and on any opened later in this process).
void dashboard_session_plan(std::vector<std::string> runs, int current);

}  // namespace hyper

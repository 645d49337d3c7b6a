#pragma once
// The experimenter's dashboard (`--dashboard [ADDR:]PORT`, README "The experimenter's
// dashboard"): one per process, kept across the runs of a `hyper session`.

#include <string>
#include <vector>

namespace hyper {

// The session's plan (a line per run) with the current run (0-based) highlighted, on the
// dashboard if one is open (and on any opened later in this process).
void dashboard_session_plan(std::vector<std::string> runs, int current);

// What the session waits for or does now ("waiting for the trigger"), for the page's state
// line and /api/state, when a dashboard is open; until the next run starts or ends.
void dashboard_state(const std::string& state);

}  // namespace hyper

#pragma once
// Where `hyper stream` finds a run it was stopped in (README, "Resume after a crash"): the
// run's unfinished record in --out (tr.tsv without summary.json) says how far it got; the
// BOLD recording beside it holds the volumes, to rebuild the stages' state from.

#include <functional>
#include <optional>
#include <string>

#include "core/session.hpp"

namespace hyper {

std::function<std::optional<ResumePoint>(const std::string& run)> resume_from_records(const std::string& out);

}  // namespace hyper

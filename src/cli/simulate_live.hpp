#pragma once
// `hyper simulate --live`: the twin as a live subject in a closed loop (README,
// "Closed-loop experiments"): it publishes its volumes on hyper/1 as a scanner would and
// reads what the stream's results say is on screen, so the faces it responds to are the
// ones the loop chose.

#include "core/settings.hpp"

namespace hyper {

void declare_live(Schema& s);
int run_live(const Settings& st);

}  // namespace hyper

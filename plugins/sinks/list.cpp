// The one explicit list of HYPER-RT's built-in sinks (never static self-registration,
// which the linker may drop). A sink is one file, plugins/sinks/NAME.cpp, defining
// `void register_NAME(Registry&)`, and one X(NAME) here. The order is the order each TR
// reaches them and the order they finish in: faces before the screen that shows them; the
// files after what the subject or a closed loop waits for (a BOLD volume's write took 1-2 ms
// here), the BOLD recording before the run record (a row in tr.tsv means its volume is
// recorded: resuming after a kill reads them back) and the dashboard after it (its API
// serves tr.tsv). test_session checks this order.
#include "hyper/registry.hpp"

#define HYPER_SINKS(X) X(faces) X(feedback) X(screen) X(presentation) X(results) X(bold) X(run_record) X(dashboard) X(progress)

namespace hyper {
HYPER_SINKS(HYPER_DECLARE_PART)
void register_builtin_sinks(Registry& registry) { HYPER_SINKS(HYPER_REGISTER_PART) }
}  // namespace hyper

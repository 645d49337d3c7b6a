// The one explicit list of HYPER-RT's built-in stages (never static self-registration,
// which the linker may drop). A stage is one file, plugins/preprocess/NAME.cpp, defining
// `void register_NAME(Registry&)`, and one X(NAME) here.
#include "hyper/registry.hpp"

#define HYPER_STAGES(X) X(realign) X(smooth) X(mask) X(detrend) X(zscore)

namespace hyper {
HYPER_STAGES(HYPER_DECLARE_PART)
void register_builtin_stages(Registry& registry) { HYPER_STAGES(HYPER_REGISTER_PART) }
}  // namespace hyper

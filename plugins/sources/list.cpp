// The one explicit list of HYPER-RT's built-in sources (never static self-registration,
// which the linker may drop). A source is one file, plugins/sources/NAME.cpp, defining
// `void register_NAME(Registry&)`, and one X(NAME) here.
#include "hyper/registry.hpp"

#define HYPER_SOURCES(X) X(hyper1) X(nifti_run) X(pyneal) X(watch)

namespace hyper {
HYPER_SOURCES(HYPER_DECLARE_PART)
void register_builtin_sources(Registry& registry) { HYPER_SOURCES(HYPER_REGISTER_PART) }
}  // namespace hyper

// The one explicit list of HYPER-RT's built-in generators (never static self-registration,
// which the linker may drop). A generator is one file, plugins/generators/NAME.cpp,
// defining `void register_NAME(Registry&)`, and one X(NAME) here.
#include "generators/generator.hpp"

#define HYPER_GENERATORS(X) X(pggan) X(torchscript) X(procedural)

namespace hyper {
HYPER_GENERATORS(HYPER_DECLARE_PART)
void register_builtin_generators(Registry& registry) { HYPER_GENERATORS(HYPER_REGISTER_PART) }
}  // namespace hyper

#pragma once
// The [generator] section (README, "Generators").

#include "core/settings.hpp"
#include "generators/generator.hpp"

namespace hyper {

void declare_generator_settings(Schema& schema);
GeneratorOptions generator_options(const Settings& settings);

}  // namespace hyper

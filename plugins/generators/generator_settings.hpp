#pragma once
// The [generator] section (README, "Generators").

#include "core/settings.hpp"
#include "generators/generator.hpp"

namespace hyper {

// `kinds`: the registered generators' names (generator.kind's choices).
void declare_generator_settings(Schema& schema, const std::vector<std::string>& kinds);
GeneratorOptions generator_options(const Params& settings);

}  // namespace hyper

#pragma once
// Registers every built-in part: the one list of each kind (plugins/<kind>/list.cpp).

#include "hyper/registry.hpp"

namespace hyper {

void register_builtin_stages(Registry& registry);      // plugins/preprocess/list.cpp
void register_builtin_sources(Registry& registry);     // plugins/sources/list.cpp
void register_builtin_sinks(Registry& registry);       // plugins/sinks/list.cpp
void register_builtin_generators(Registry& registry);  // plugins/generators/list.cpp

inline void register_builtin_parts(Registry& registry) {
  register_builtin_stages(registry);
  register_builtin_sources(registry);
  register_builtin_sinks(registry);
  register_builtin_generators(registry);
}

}  // namespace hyper

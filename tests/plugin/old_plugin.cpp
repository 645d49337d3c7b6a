// A plugin that claims another plugin API version: it must be refused before its
// registration runs (which would abort the test if it did).
#include <cstdlib>

#include "hyper/registry.hpp"

extern "C" int hyper_plugin_api_version() { return hyper::kApiVersion + 1000; }
extern "C" void hyper_register(hyper::Registry&) { std::abort(); }

// One libFuzzer binary per target (tools/fuzz builds fuzz_<name> with HYPER_FUZZ_TARGET="<name>").
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

#include "targets.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // the parsers' warnings would flood the fuzzer's output
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const hyper::fuzz::Target target = [] {
    for (const auto& t : hyper::fuzz::targets())
      if (t.name == HYPER_FUZZ_TARGET) return t.run;
    std::abort();
  }();
  target(data, size);
  return 0;
}

#pragma once
// The parsers of outside input, one fuzz target each (README, "Reliability and security"):
// each takes any bytes and must either accept them or refuse them with an exception it
// names, never crash, hang or read out of bounds. The same functions run under libFuzzer
// (tests/fuzz/fuzz_main.cpp, `tools/fuzz`) and, on every saved input, in the ordinary test
// build (tests/unit/test_fuzz_inputs.cpp), so each crash found stays a regression test.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hyper::fuzz {

using Target = void (*)(const uint8_t* data, size_t size);

struct Named {
  std::string name;  // also the folder of its inputs: tests/fuzz/corpus/<name>/
  Target run;
};

// hyper1 (the message frames), nifti, npy, safetensors, settings (TOML text and --set),
// decoder (a decoder file), pyneal (a Pyneal Scanner message), dicom (a DICOM file).
const std::vector<Named>& targets();

}  // namespace hyper::fuzz

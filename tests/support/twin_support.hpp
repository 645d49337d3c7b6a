#pragma once
// A small twin and a decoder for it, for the tests that run the whole pipeline.

#include <filesystem>
#include <string>

#include "io/bids.hpp"
#include "support.hpp"

namespace hyper::test {

// `hyper simulate --preset small` into d/twin; its first run.
RunFile small_twin(const TempDir& d);

// A decoder of random weights on the output of `chain_list` (a TOML list of stages) for
// `file`'s grid, saved to `out`: online tests need one that fits, not one that decodes well.
void random_decoder_file(const RunFile& file, const std::string& chain_list, const std::filesystem::path& out);

}  // namespace hyper::test

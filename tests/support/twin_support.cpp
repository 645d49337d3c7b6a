#include "twin_support.hpp"

#include <doctest/doctest.h>

#include "builtin.hpp"
#include "core/registry.hpp"
#include "decoders/decoder.hpp"

namespace hyper::test {

RunFile small_twin(const TempDir& d) {
  REQUIRE(run(hyper_cmd({"simulate", "--out", (d / "twin").string(), "--preset", "small", "--log-level", "warn"}), d / "sim.log") == 0);
  return find_runs(d / "twin").at(0);
}

void random_decoder_file(const RunFile& file, const std::string& chain_list, const std::filesystem::path& out) {
  PartRegistry parts;
  register_builtin_parts(parts);
  Schema schema;
  parts.declare(schema);
  Settings st(schema);
  st.apply_assignment("preprocess.chain=" + chain_list);
  Chain chain(parts, st);
  save_decoder(out, random_decoder(chain, file, read_nifti(file.path), 1.5, 300, st.to_toml({"preprocess"})));
}

}  // namespace hyper::test

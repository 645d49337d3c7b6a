// `hyper import-hyper`: the files released with HYPER (README, "The paper's own files") as
// arrays and a decoder file. The pickle and the Chainer .npz are read by tools/import_hyper.py
// (Python reads its own pickle format; the reader there builds NumPy arrays and nothing else);
// the decoder file is written here, so that its format has one writer.
#include <fstream>

#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "core/subprocess.hpp"
#include "decoders/array_decoder.hpp"
#include "io/files.hpp"
#include "io/npy.hpp"

namespace hyper {

namespace {

const std::vector<std::string> kArrays{"X_train.npy", "T_train.npy", "X_test.npy", "T_test.npy"};
constexpr const char* kDecoderFile = "paper_decoder.safetensors";

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "import.data", .type = T::String, .def = std::string(""),
         .help = "the released data pickle, e.g. data_sub1_4096.dat: (X_train, T_train, X_test, T_test)", .existing = true});
  s.add({.key = "import.decoder", .type = T::String, .def = std::string(""),
         .help = "the released decoder, e.g. l0_s1_5000_final.model (Chainer save_npz of L.Linear(4096, 512))",
         .flag = "--decoder", .existing = true});
  s.add({.key = "import.out", .type = T::String, .def = std::string(""),
         .help = "folder for X_train.npy, T_train.npy, X_test.npy, T_test.npy, paper_decoder.safetensors, summary.json",
         .flag = "--out", .required = true});
  s.add({.key = "import.force", .type = T::Bool, .def = false, .help = "replace the files of an earlier import in --out",
         .flag = "--force"});
}

// Runs the script into `work`; throws its one-line answer when it fails.
void read_release(const std::string& data, const std::string& decoder, const std::filesystem::path& work) {
  // The same Python as every other tool here: Debian's, with python3-numpy.
  std::vector<std::string> argv{"/usr/bin/python3", std::string(HYPER_SOURCE_DIR) + "/tools/import_hyper.py", "--out", work.string()};
  if (!data.empty()) argv.insert(argv.end(), {"--data", data});
  if (!decoder.empty()) argv.insert(argv.end(), {"--decoder", decoder});
  const auto log = work / "import.log";
  const int rc = run_to_files(argv, work / "import.out", log);
  std::ifstream in(log);
  std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!said.empty() && said.back() == '\n') said.pop_back();
  const std::string what = data.empty() ? decoder : decoder.empty() ? data : data + " and " + decoder;
  if (rc < 0) throw std::runtime_error("import: /usr/bin/python3 did not start (tools/setup installs it with python3-numpy)");
  if (rc > 128)
    throw std::runtime_error(fmt::format("import: tools/import_hyper.py was killed by signal {} while reading {}{}", rc - 128, what,
                                         rc - 128 == 9 ? " (out of memory?)" : ""));
  if (rc != 0) throw std::runtime_error(said.empty() ? fmt::format("import: tools/import_hyper.py failed (exit {}) on {}", rc, what) : said);
}

// fc1/W and fc1/b as written by the script -> an array decoder file.
void write_paper_decoder(const std::filesystem::path& work, const std::string& decoder) {
  const Eigen::MatrixXf w = read_matrix(work / "chainer_fc1_W.npy", "fc1/W");  // 512 x voxels, as Chainer keeps it: x W' + b
  const NpyArray b = read_npy(work / "chainer_fc1_b.npy");
  const Eigen::VectorXf bias = Eigen::Map<const Eigen::VectorXf>(b.data.data(), static_cast<Eigen::Index>(b.data.size()));
  save_decoder(work / kDecoderFile, array_decoder(w.transpose(), bias,
                                                  "chainer L.Linear (" + std::filesystem::path(decoder).filename().string() + ")"));
}

int run(const Settings& st, const PartRegistry&) {
  const std::string data = st.get_string("import.data"), decoder = st.get_string("import.decoder");
  const std::filesystem::path out = st.get_string("import.out");
  if (data.empty() && decoder.empty())
    throw SettingsError("import.data: nothing to import: give the data pickle (hyper import-hyper data_sub1_4096.dat --out DIR) "
                        "and/or the decoder (--decoder l0_s1_5000_final.model)");
  std::vector<std::string> mine = kArrays;
  mine.insert(mine.end(), {kDecoderFile, "summary.json"});
  std::string present;
  for (const auto& name : mine)
    if (std::filesystem::exists(out / name)) present += (present.empty() ? "" : ", ") + name;
  if (!present.empty() && !st.get_bool("import.force"))
    throw SettingsError("import.out: " + out.string() + " already holds " + present +
                        " from an earlier import: give another folder, or --force to replace them");
  // All or nothing: everything is made in a folder beside the outputs and moved in at the end,
  // so a failed import leaves --out as it was (and a retry is not refused).
  const std::filesystem::path work = out / ".import-incomplete";
  const bool had_out = std::filesystem::exists(out);
  std::filesystem::remove_all(work);
  ensure_dir(work);
  try {
    spdlog::info("reading {}{}{} (tools/import_hyper.py)", data, data.empty() || decoder.empty() ? "" : " and ", decoder);
    read_release(data, decoder, work);
    if (!decoder.empty()) write_paper_decoder(work, decoder);
  } catch (...) {
    std::filesystem::remove_all(work);
    if (!had_out && std::filesystem::is_empty(out)) std::filesystem::remove(out);
    throw;
  }
  std::vector<std::string> made{"summary.json"};
  if (!data.empty()) made.insert(made.end(), kArrays.begin(), kArrays.end());
  if (!decoder.empty()) made.push_back(kDecoderFile);
  // --force: what an earlier import left and this one did not make goes too (a decoder of
  // another subject must not stay beside these arrays, unlisted in summary.json).
  for (const auto& name : mine) std::filesystem::remove(out / name);
  for (const auto& name : made) std::filesystem::rename(work / name, out / name);
  std::filesystem::remove_all(work);
  if (!data.empty()) spdlog::info("wrote {}: X_train, T_train, X_test, T_test (.npy, float32)", out.string());
  if (!decoder.empty())
    spdlog::info("wrote {}: the paper's decoder; its predictions: hyper decode --responses {} --decoder {} --out paper.npy",
                 (out / kDecoderFile).string(), (out / "X_test.npy").string(), (out / kDecoderFile).string());
  spdlog::info("shapes, value ranges and the files' SHA-256: {}", (out / "summary.json").string());
  return 0;
}

}  // namespace

Command import_hyper_command() {
  return {.name = "import-hyper",
          .help = "read the files released with the HYPER paper (data pickle, Chainer decoder) as .npy arrays and a decoder file",
          .sections = {"import"},
          .declare = declare,
          .run = run,
          .example = "hyper import-hyper data_sub1_4096.dat --decoder l0_s1_5000_final.model --out hyper-s1",
          .positional = "import.data",
          .positional_settings = false};
}

}  // namespace hyper

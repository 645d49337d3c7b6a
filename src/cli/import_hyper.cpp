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
  ensure_dir(out);
  // The same Python as every other tool here: Debian's, with python3-numpy.
  std::vector<std::string> argv{"/usr/bin/python3", std::string(HYPER_SOURCE_DIR) + "/tools/import_hyper.py", "--out", out.string()};
  if (!data.empty()) argv.insert(argv.end(), {"--data", data});
  if (!decoder.empty()) argv.insert(argv.end(), {"--decoder", decoder});
  const auto log = out / "import.log";
  spdlog::info("reading {}{}{} (tools/import_hyper.py)", data, data.empty() || decoder.empty() ? "" : " and ", decoder);
  const int rc = run_to_files(argv, out / "import.out", log);
  std::ifstream in(log);
  std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!said.empty() && said.back() == '\n') said.pop_back();
  if (rc != 0)
    throw std::runtime_error(rc < 0 ? "import: /usr/bin/python3 did not run (tools/setup installs it with python3-numpy)"
                                    : said.empty() ? "import: tools/import_hyper.py failed (exit " + std::to_string(rc) + ")" : said);
  std::filesystem::remove(out / "import.out");
  std::filesystem::remove(log);
  if (!decoder.empty()) {
    const auto w_file = out / "chainer_fc1_W.npy", b_file = out / "chainer_fc1_b.npy";
    const Eigen::MatrixXf w = read_matrix(w_file, "fc1/W");  // 512 x voxels, as Chainer keeps it: prediction = x W' + b
    const NpyArray b = read_npy(b_file);
    const Eigen::VectorXf bias = Eigen::Map<const Eigen::VectorXf>(b.data.data(), static_cast<Eigen::Index>(b.data.size()));
    save_decoder(out / kDecoderFile, array_decoder(w.transpose(), bias,
                                                   "chainer L.Linear (" + std::filesystem::path(decoder).filename().string() + ")"));
    std::filesystem::remove(w_file);
    std::filesystem::remove(b_file);
    spdlog::info("wrote {}: the paper's decoder, {} voxels -> {} (hyper decode --responses X_test.npy --decoder it)",
                 (out / kDecoderFile).string(), w.cols(), w.rows());
  }
  if (!data.empty()) spdlog::info("wrote {}: X_train, T_train, X_test, T_test (.npy, float32)", out.string());
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

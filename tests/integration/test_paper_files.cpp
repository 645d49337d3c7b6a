// The paper's own files (README, "The paper's own files"): hyper import-hyper on files made the
// way the HYPER release made them (tests/integration/make_hyper_release.py), training and
// decoding from arrays, hyper eval --truth and its Table 1, each against numpy's figures.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "decoders/decoder.hpp"
#include "io/npy.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct Release {
  test::TempDir d;
  std::filesystem::path rel = d.path() / "release", ref = d.path() / "ref", marker = d.path() / "EVIL_RAN";
  Release() {
    REQUIRE(test::run({test::python(), (test::source_dir() / "tests/integration/make_hyper_release.py").string(), rel.string(),
                       ref.string(), marker.string()},
                      d.path() / "make.log", 120s) == 0);
  }
  // hyper ARGS, its exit code; the log holds what it said.
  int hyper(std::initializer_list<std::string> args, const std::string& log_name) const {
    return test::run(test::hyper_cmd(args), d.path() / log_name, 300s);
  }
  std::string log(const std::string& name) const { return test::read_text(d.path() / name); }
};

double max_abs_diff(const std::filesystem::path& a, const std::filesystem::path& b) {
  const NpyArray x = read_npy(a), y = read_npy(b);
  REQUIRE(x.shape == y.shape);
  double m = 0;
  for (size_t i = 0; i < x.data.size(); ++i) m = std::max(m, static_cast<double>(std::abs(x.data[i] - y.data[i])));
  return m;
}

json read_json(const std::filesystem::path& p) {
  std::ifstream f(p);
  return json::parse(f);
}

}  // namespace

TEST_CASE("hyper import-hyper reads the released pickle and Chainer decoder: the arrays as stored, the paper's predictions to 1e-5") {
  Release r;
  const auto out = r.d.path() / "s1";
  REQUIRE(r.hyper({"import-hyper", (r.rel / "data_sub1_4096.dat").string(), "--decoder", (r.rel / "l0_s1_5000_final.model").string(),
                   "--out", out.string()}, "import.log") == 0);
  for (const char* name : {"X_train", "T_train", "X_test", "T_test"}) {
    INFO(name);
    CHECK(max_abs_diff(out / (std::string(name) + ".npy"), r.ref / (std::string(name) + ".npy")) == 0.0);
  }
  const json summary = read_json(out / "summary.json");
  CHECK(summary["arrays"]["X_train"]["shape"] == json::array({300, 1024}));
  CHECK(summary["arrays"]["fc1/W"]["shape"] == json::array({512, 1024}));
  CHECK(summary["sources"]["data"]["sha256"].get<std::string>().size() == 64);
  CHECK(!std::filesystem::exists(out / "chainer_fc1_W.npy"));  // turned into the decoder file

  // The paper's decoder applied to the test responses: numpy's X_test W' + b.
  REQUIRE(r.hyper({"decode", "--responses", (out / "X_test.npy").string(), "--decoder", (out / "paper_decoder.safetensors").string(),
                   "--out", (r.d.path() / "paper.npy").string()}, "decode.log") == 0);
  CHECK(max_abs_diff(r.d.path() / "paper.npy", r.ref / "pred_paper.npy") < 1e-5);

  // The same arrays pickled as Python 2 writes them (bytes as str, read as latin-1), and in the
  // text protocol 0 with a big-endian and a Fortran-order array.
  for (const char* file : {"data_python2.dat", "data_protocol0.dat"}) {
    INFO(file);
    const auto dir = r.d.path() / std::filesystem::path(file).stem();
    REQUIRE(r.hyper({"import-hyper", (r.rel / file).string(), "--out", dir.string()}, "other.log") == 0);
    for (const char* name : {"X_train", "T_train", "X_test", "T_test"})
      CHECK(max_abs_diff(dir / (std::string(name) + ".npy"), r.ref / (std::string(name) + ".npy")) == 0.0);
  }

  // A second import into the same folder is refused (nothing replaced) unless --force.
  CHECK(r.hyper({"import-hyper", (r.rel / "data_sub1_4096.dat").string(), "--out", out.string()}, "again.log") == 2);
  CHECK(r.log("again.log").find("--force") != std::string::npos);
  // --force with the data alone: the earlier decoder goes too (it is not in the new summary).
  CHECK(r.hyper({"import-hyper", (r.rel / "data_sub1_4096.dat").string(), "--out", out.string(), "--force"}, "force.log") == 0);
  CHECK(!std::filesystem::exists(out / "paper_decoder.safetensors"));
  CHECK(std::filesystem::exists(out / "X_test.npy"));

  // An array decoder given a run: the command to use instead.
  CHECK(r.hyper({"decode", "--input", (out / "X_test.npy").string(), "--decoder", (r.d.path() / "s1" / "X_test.npy").string(),
                 "--out", (r.d.path() / "x.npy").string()}, "notdec.log") != 0);
  REQUIRE(r.hyper({"import-hyper", "--decoder", (r.rel / "l0_s1_5000_final.model").string(), "--out", (r.d.path() / "dec").string()},
                  "deconly.log") == 0);
  CHECK(r.hyper({"decode", "--input", (out / "X_test.npy").string(), "--decoder", (r.d.path() / "dec/paper_decoder.safetensors").string(),
                 "--out", (r.d.path() / "x.npy").string()}, "wrong.log") == 2);
  CHECK(r.log("wrong.log").find("use hyper decode --responses MATRIX.npy") != std::string::npos);
}

TEST_CASE("a pickle that would run code is refused before anything runs, and a damaged one is named") {
  Release r;
  CHECK(r.hyper({"import-hyper", (r.rel / "evil.dat").string(), "--out", (r.d.path() / "e").string()}, "evil.log") == 1);
  CHECK(!std::filesystem::exists(r.marker));  // os.system never ran
  const std::string said = r.log("evil.log");
  CHECK(said.find("evil.dat") != std::string::npos);
  CHECK(said.find("system") != std::string::npos);
  CHECK(said.find("refused") != std::string::npos);
  CHECK(!std::filesystem::exists(r.d.path() / "e"));  // nothing left behind: a retry is not refused

  // An object array (whose bytes NumPy would read as pointers) is refused by its dtype.
  CHECK(r.hyper({"import-hyper", (r.rel / "objects.dat").string(), "--out", (r.d.path() / "o").string()}, "objects.log") == 1);
  CHECK(r.log("objects.log").find("dtype 'O8'") != std::string::npos);

  // The data is good, the decoder is not: all or nothing, and the retry goes through.
  const auto half = r.d.path() / "half";
  CHECK(r.hyper({"import-hyper", (r.rel / "data_sub1_4096.dat").string(), "--decoder", (r.rel / "data_sub1_4096.dat").string(),
                 "--out", half.string()}, "half.log") == 1);
  CHECK(!std::filesystem::exists(half));
  CHECK(r.hyper({"import-hyper", (r.rel / "data_sub1_4096.dat").string(), "--decoder", (r.rel / "l0_s1_5000_final.model").string(),
                 "--out", half.string()}, "retry.log") == 0);
  // The decoder where the data belongs: said which file is which.
  CHECK(r.hyper({"import-hyper", (r.rel / "l0_s1_5000_final.model").string(), "--out", (r.d.path() / "swap").string()},
                "swap.log") == 1);
  CHECK(r.log("swap.log").find("give that with --decoder") != std::string::npos);

  {  // cut short: named, not a traceback
    std::ifstream in(r.rel / "data_sub1_4096.dat", std::ios::binary);
    std::string head(5000, '\0');
    in.read(head.data(), 5000);
    std::ofstream(r.d.path() / "cut.dat", std::ios::binary) << head;
  }
  CHECK(r.hyper({"import-hyper", (r.d.path() / "cut.dat").string(), "--out", (r.d.path() / "c").string()}, "cut.log") == 1);
  CHECK(r.log("cut.log").find("cut.dat: cannot be read") != std::string::npos);
  CHECK(r.log("cut.log").find("Traceback") == std::string::npos);
  // The data where the decoder belongs: not a Chainer file.
  CHECK(r.hyper({"import-hyper", "--decoder", (r.rel / "data_sub1_4096.dat").string(), "--out", (r.d.path() / "w").string()},
                "notzip.log") == 1);
  CHECK(r.log("notzip.log").find("not a Chainer save_npz file") != std::string::npos);
}

TEST_CASE("train and decode from arrays: least squares equals numpy's minimum-norm solution, ridge-CV picks from its grid") {
  Release r;
  const auto out = r.d.path() / "s1";
  REQUIRE(r.hyper({"import-hyper", (r.rel / "data_sub1_4096.dat").string(), "--out", out.string()}, "import.log") == 0);
  REQUIRE(r.hyper({"train", "--responses", (out / "X_train.npy").string(), "--targets", (out / "T_train.npy").string(), "--penalty",
                   "0", "--out", (r.d.path() / "ls.safetensors").string()}, "ls.log") == 0);
  REQUIRE(r.hyper({"decode", "--responses", (out / "X_test.npy").string(), "--decoder", (r.d.path() / "ls.safetensors").string(),
                   "--out", (r.d.path() / "ls.npy").string()}, "dls.log") == 0);
  CHECK(max_abs_diff(r.d.path() / "ls.npy", r.ref / "pred_ls.npy") < 1e-4);  // float32 weights; numpy in float64

  REQUIRE(r.hyper({"train", "--responses", (out / "X_train.npy").string(), "--targets", (out / "T_train.npy").string(), "--out",
                   (r.d.path() / "cv.safetensors").string()}, "cv.log") == 0);
  CHECK(r.log("cv.log").find("6 contiguous folds of 300 trials") != std::string::npos);
  // Every penalty's cross-validated correlation as numpy computes it, and the best one chosen.
  const json cv = read_json(r.ref / "ref.json")["cv"];
  const Decoder d = load_decoder(r.d.path() / "cv.safetensors");
  REQUIRE(d.cv_correlation.size() == cv["correlation"].size());
  size_t best = 0;
  for (size_t i = 0; i < d.cv_correlation.size(); ++i) {
    CHECK(d.penalties[i] == cv["penalties"][i].get<double>());
    CHECK(d.cv_correlation[i] == doctest::Approx(cv["correlation"][i].get<double>()).epsilon(1e-5));
    if (cv["correlation"][i].get<double>() > cv["correlation"][best].get<double>()) best = i;
  }
  CHECK(d.penalty == cv["penalties"][best].get<double>());
  CHECK(d.mode == "array");

  // Mistakes answered with their fix.
  CHECK(r.hyper({"train", "--responses", (out / "X_train.npy").string(), "--out", (r.d.path() / "x.safetensors").string()}, "nt.log") == 2);
  CHECK(r.log("nt.log").find("--targets") != std::string::npos);
  CHECK(r.hyper({"train", "--targets", (out / "T_train.npy").string(), "--out", (r.d.path() / "x.safetensors").string()}, "to.log") == 2);
  CHECK(r.log("to.log").find("train.targets: latents per trial go with --responses") != std::string::npos);
  CHECK(r.hyper({"train", "--responses", (out / "X_train.npy").string(), "--targets", (out / "T_test.npy").string(), "--out",
                 (r.d.path() / "x.safetensors").string()}, "rows.log") == 2);
  CHECK(r.log("rows.log").find("one row of each per trial") != std::string::npos);
  CHECK(r.hyper({"decode", "--responses", (out / "X_train.npy").string(), "--decoder", (r.d.path() / "ls.safetensors").string(),
                 "--out", (r.d.path() / "x.npy").string(), "--input", (out / "X_test.npy").string()}, "both.log") == 2);
}

TEST_CASE("hyper eval --truth scores predictions side by side in Table 1's layout: latent similarity and attribute r as numpy") {
  Release r;
  const auto out = r.d.path() / "s1";
  REQUIRE(r.hyper({"import-hyper", (r.rel / "data_sub1_4096.dat").string(), "--decoder", (r.rel / "l0_s1_5000_final.model").string(),
                   "--out", out.string()}, "import.log") == 0);
  std::vector<std::string> eval{"eval", "--truth", (out / "T_test.npy").string(), "--pred", (r.ref / "pred_paper.npy").string(),
                                (r.ref / "pred_ls.npy").string(), "--out", (r.d.path() / "eval").string(), "--generator",
                                "procedural", "--resolution", "64", "--set", "eval.image_size=64", "--set", "eval.draws=40",
                                "--boundaries"};
  for (const char* a : {"gender", "age", "eyeglasses", "pose", "smile"})
    eval.push_back((r.rel / "bounds" / (std::string("pggan_celebahq_") + a + "_boundary.npy")).string());
  // InterFaceGAN's folder also holds conditional boundaries: one must not stand for gender.
  std::filesystem::copy_file(r.rel / "bounds/pggan_celebahq_age_boundary.npy", r.d.path() / "pggan_celebahq_age_c_gender_boundary.npy");
  eval.push_back((r.d.path() / "pggan_celebahq_age_c_gender_boundary.npy").string());
  std::vector<std::string> argv{test::hyper_binary().string()};
  argv.insert(argv.end(), eval.begin(), eval.end());
  REQUIRE(test::run(argv, r.d.path() / "eval.log", 300s) == 0);

  const json table = read_json(r.d.path() / "eval" / "table1.json"), ref = read_json(r.ref / "ref.json");
  CHECK(table["predictions"] == json::array({"pred_paper", "pred_ls"}));
  std::map<std::string, json> rows;
  for (const json& row : table["rows"]) rows[row["measure"]] = row;
  for (const auto& [pred, name] : {std::pair{"pred_paper", "paper"}, std::pair{"pred_ls", "ls"}}) {
    INFO(pred);
    const json& lsim = rows.at("latent_similarity_mse")["results"][pred];
    CHECK(lsim["value"].get<double>() == doctest::Approx(ref[name]["latent_similarity_mse"].get<double>()).epsilon(1e-5));
    CHECK(lsim["se"].get<double>() == doctest::Approx(ref[name]["latent_similarity_mse_se"].get<double>()).epsilon(0.03));
    CHECK(lsim["p"].get<double>() < 0.05);  // better than the prior's draws
    for (const char* a : {"gender", "age", "eyeglasses", "pose", "smile"}) {
      INFO(a);
      const json& ar = rows.at(std::string("attribute_r_") + a)["results"][pred];
      CHECK(ar["value"].get<double>() == doctest::Approx(ref[name][std::string("attribute_r_") + a].get<double>()).epsilon(1e-4));
    }
    CHECK(rows.at("image_r")["results"].contains(pred));
    CHECK(rows.at("image_ssim")["results"].contains(pred));
    CHECK(rows.at("image_ssim_paper")["results"][pred]["value"].get<double>() > 0.0);
  }
  CHECK(rows.at("latent_similarity_mse")["paper"]["S1"].get<double>() == doctest::Approx(0.4722));
  CHECK(!rows.contains("feature_similarity_mse"));  // no feature network given: the row is left out
  const std::string md = test::read_text(r.d.path() / "eval" / "table1.md");
  CHECK(md.find("| measure | pred_paper | pred_ls | chance (mean ± s.d.) | paper S1 | paper S2 |") != std::string::npos);
  CHECK(md.find("attribute r: gender (pggan_celebahq_gender_boundary)") != std::string::npos);
  CHECK(std::filesystem::exists(r.d.path() / "eval" / "pred_paper" / "eval.json"));

  // The second prediction reused the first's drawn faces (presented and prior): the same
  // figures as scoring it alone.
  std::vector<std::string> alone{test::hyper_binary().string(), "eval", "--truth", (out / "T_test.npy").string(), "--pred",
                                 (r.ref / "pred_ls.npy").string(), "--out", (r.d.path() / "alone").string(), "--generator",
                                 "procedural", "--resolution", "64", "--set", "eval.image_size=64", "--set", "eval.draws=40"};
  REQUIRE(test::run(alone, r.d.path() / "alone.log", 300s) == 0);
  const json single = read_json(r.d.path() / "alone" / "pred_ls" / "eval.json"), shared = read_json(r.d.path() / "eval" / "pred_ls" / "eval.json");
  for (const char* key : {"image_r", "image_ssim", "image_identification_top1"}) {
    INFO(key);
    for (const char* field : {"value", "chance", "chance_sd", "p"})
      CHECK(shared["metrics"][key][field].get<double>() == doctest::Approx(single["metrics"][key][field].get<double>()).epsilon(1e-12));
  }
  CHECK(std::filesystem::exists(r.d.path() / "eval" / "pred_ls" / "contact_sheet.png"));
}

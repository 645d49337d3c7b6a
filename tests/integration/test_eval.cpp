// hyper eval: matching predictions to presentations, the measures, their chance levels, the
// feature network and boundary files, and the command's outputs.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stb_image.h>

#include "core/hrf.hpp"
#include "core/rng.hpp"
#include "eval/latent_metrics.hpp"
#include "eval/evaluation.hpp"
#include "io/text.hpp"
#include "eval/feature_net.hpp"
#include "eval/report.hpp"
#include "generators/generator.hpp"
#include "io/npy.hpp"
#include "support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

Eigen::MatrixXd normal_rows(Eigen::Index n, uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd m(n, 512);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index k = 0; k < 512; ++k) m(i, k) = rng.normal();
  return m;
}

void write_rows(const std::filesystem::path& p, const Eigen::MatrixXd& m) {
  std::vector<float> v;
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index k = 0; k < m.cols(); ++k) v.push_back(static_cast<float>(m(i, k)));
  write_npy(p, {m.rows(), m.cols()}, v);
}

struct Shown {
  double onset;
  std::string type;
  int64_t stim;
};

void write_events(const std::filesystem::path& p, const std::vector<Shown>& events) {
  std::ofstream f(p);
  f << "onset\tduration\ttrial_type\tstim_index\n";
  for (const Shown& e : events) f << e.onset << "\t1.5\t" << e.type << "\t" << e.stim << "\n";
}

// Rows whose every value is the row's own number (which row was picked is then visible).
Eigen::MatrixXd numbered_rows(Eigen::Index n) {
  Eigen::MatrixXd m(n, 512);
  for (Eigen::Index i = 0; i < n; ++i) m.row(i).setConstant(static_cast<double>(i));
  return m;
}

const Metric& metric(const EvalResult& r, const std::string& key) {
  const Metric* m = r.find(key);
  if (!m) throw std::runtime_error("no metric " + key);
  return *m;
}

// The test set: `faces` faces shown `repeats` times each, their presentations' predictions
// the true latent plus noise of s.d. `noise`.
struct TestSet {
  Eigen::MatrixXd stimuli;
  EvalItems items;
};

TestSet test_set(int faces, int repeats, double noise, uint64_t seed) {
  TestSet t{normal_rows(faces + 5, seed), {}};
  const Eigen::MatrixXd n = normal_rows(faces * repeats, seed + 1);
  std::vector<std::pair<int64_t, Eigen::VectorXd>> shown;
  t.items.predicted.resize(faces, 512);
  for (int f = 0; f < faces; ++f) {
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(512);
    for (int r = 0; r < repeats; ++r) sum += t.stimuli.row(f + 5).transpose() + noise * n.row(f * repeats + r).transpose();
    t.items.predicted.row(f) = (sum / repeats).transpose();
    t.items.stimulus.push_back(f + 5);
    t.items.presentations.push_back(repeats);
  }
  t.items.matched = faces * repeats;
  return t;
}

}  // namespace

TEST_CASE("matching per-event predictions: repeats averaged or kept, trial_type, and errors that name the file") {
  test::TempDir d;
  write_events(d / "ev.tsv", {{0, "test", 3}, {4.5, "test", 5}, {9, "test", 3}, {13.5, "other", 7}, {18, "test", 5}, {22.5, "fix", -1}});
  write_rows(d / "pred.npy", numbered_rows(6) + Eigen::MatrixXd::Ones(6, 512));  // row e holds e + 1
  const std::vector<PredictionFile> files{{d / "pred.npy", d / "ev.tsv"}};
  std::vector<std::string> notes;
  auto note = [&](const std::string& s) { notes.push_back(s); };

  const EvalItems avg = match_predictions(files, 10, {}, note);
  CHECK(avg.stimulus == std::vector<int64_t>{3, 5, 7});
  CHECK(avg.presentations == std::vector<int>{2, 2, 1});
  CHECK(avg.predicted(0, 0) == doctest::Approx(2.0));  // (1 + 3) / 2
  CHECK(avg.predicted(1, 511) == doctest::Approx(3.5));  // (2 + 5) / 2
  CHECK(avg.predicted(2, 7) == doctest::Approx(4.0));
  CHECK(avg.matched == 5);
  CHECK(notes.at(0).find("5 presentations matched (one row per event)") != std::string::npos);

  const EvalItems each = match_predictions(files, 10, {.average = false}, note);
  CHECK(each.stimulus == std::vector<int64_t>{3, 5, 3, 7, 5});
  CHECK(each.predicted(3, 0) == doctest::Approx(4.0));
  CHECK_FALSE(each.averaged);

  const EvalItems test_only = match_predictions(files, 10, {.trial_type = "test"}, note);
  CHECK(test_only.stimulus == std::vector<int64_t>{3, 5});

  CHECK_THROWS_WITH_AS(match_predictions(files, 6, {}, note), doctest::Contains("ev.tsv: event 4 shows stim_index 7, but the stimulus latents have 6 rows"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(match_predictions(files, 10, {.trial_type = "nothing"}, note), doctest::Contains("no presentation matched"),
                       std::runtime_error);
  write_rows(d / "short.npy", numbered_rows(5));
  CHECK_THROWS_WITH_AS(match_predictions({{d / "short.npy", d / "ev.tsv"}}, 10, {.per = "event"}, note),
                       doctest::Contains("short.npy: 5 rows, but"), std::runtime_error);
  write_npy(d / "wide.npy", {2, 3}, std::vector<float>(6, 0.f));
  CHECK_THROWS_WITH_AS(match_predictions({{d / "wide.npy", d / "ev.tsv"}}, 10, {}, note),
                       doctest::Contains("wide.npy: predictions must be rows of 512 values, the array is 2 x 3"), std::runtime_error);
}

TEST_CASE("matching per-volume predictions: the volume at onset + lag, and run records with their TR and gaps") {
  test::TempDir d;
  write_events(d / "ev.tsv", {{0, "test", 1}, {6, "test", 2}, {12, "test", 1}, {27, "test", 2}});
  write_rows(d / "vol.npy", numbered_rows(20));
  const std::vector<PredictionFile> files{{d / "vol.npy", d / "ev.tsv"}};
  auto quiet = [](const std::string&) {};
  // TR 1.5 s, lag 4.5 s: volumes 3, 7, 11 and 21 (past the run's 20).
  const EvalItems e = match_predictions(files, 3, {.tr_s = 1.5, .lag_s = 4.5, .average = false}, quiet);
  CHECK(e.stimulus == std::vector<int64_t>{1, 2, 1});
  CHECK(e.predicted(0, 0) == 3.0);
  CHECK(e.predicted(1, 0) == 7.0);
  CHECK(e.predicted(2, 0) == 11.0);
  CHECK(e.unmatched == 1);
  // lag -1: the block response's peak.
  const EvalItems peak = match_predictions(files, 3, {.tr_s = 1.5, .average = false}, quiet);
  CHECK(peak.predicted(1, 0) == static_cast<double>(std::lround((6 + block_peak_delay(1.5)) / 1.5)));
  CHECK_THROWS_WITH_AS(match_predictions(files, 3, {}, quiet), doctest::Contains("vol.npy: per-volume predictions need the TR: set eval.tr"),
                       std::runtime_error);

  // A run record: volume 4 was not decoded, so latents.npy's rows are volumes 0-3, 5-9.
  const auto rec = d / "record";
  std::filesystem::create_directories(rec);
  {
    std::ofstream tsv(rec / "tr.tsv");
    tsv << "index\tsent_to_ready_ms\tdecoded\n";
    for (int v = 0; v < 10; ++v) tsv << v << "\t1.0\t" << (v == 4 ? 0 : 1) << "\n";
  }
  Eigen::MatrixXd rows(9, 512);
  for (int r = 0; r < 9; ++r) rows.row(r).setConstant(r < 4 ? r : r + 1);  // the volume's number
  write_rows(rec / "latents.npy", rows);
  std::ofstream(rec / "run.json") << R"({"run": "r", "tr_s": 2.0, "stages": []})";
  write_events(d / "ev2.tsv", {{4, "test", 0}, {10, "test", 1}, {8, "test", 2}});
  const EvalItems r = match_predictions({{rec, d / "ev2.tsv"}}, 3, {.lag_s = 0, .average = false}, quiet);
  CHECK(r.stimulus == std::vector<int64_t>{0, 1});
  CHECK(r.predicted(0, 0) == 2.0);  // onset 4 s / TR 2 s
  CHECK(r.predicted(1, 0) == 5.0);
  CHECK(r.unmatched == 1);          // volume 4: not decoded
  std::filesystem::remove(rec / "latents.npy");
  CHECK_THROWS_WITH_AS(match_predictions({{rec, d / "ev2.tsv"}}, 3, {}, quiet), doctest::Contains("no latents.npy in this run record"),
                       std::runtime_error);
}

TEST_CASE("identical predictions score 1 and 100 percent on every measure, far above chance") {
  const TestSet t = test_set(12, 2, 0.0, 5);
  const auto gen = make_generator({.kind = "procedural", .resolution = 64});
  const EvalResult r = evaluate(t.items, t.stimuli, gen.get(), nullptr, {}, {.draws = 100, .image_size = 64, .thumbnail = 32});
  REQUIRE(r.metrics.size() == 12);
  for (const Metric& m : r.metrics) {
    CAPTURE(m.key);
    CHECK(m.value == doctest::Approx(1.0).epsilon(1e-9));
    if (m.key == "image_ssim_paper") {  // main.py's SSIM at full size: no chance level computed
      CHECK(std::isnan(m.p));
      CHECK(m.items.size() == 12);
      continue;
    }
    CHECK(m.p == doctest::Approx(1.0 / 101));
    CHECK(m.chance < 0.95);
  }
  // Chance levels with closed forms: 1/(1+MSE) of two independent N(0, I) latents ~ 1/3,
  // pairwise identification 1/2, top-1 1/12, correlations 0.
  CHECK(metric(r, "latent_similarity_mse").chance == doctest::Approx(1.0 / 3).epsilon(0.03));
  CHECK(metric(r, "latent_similarity_l2").chance == doctest::Approx(1.0 / (1 + std::sqrt(1024.0))).epsilon(0.03));
  CHECK(std::abs(metric(r, "latent_r").chance) < 0.01);
  CHECK(std::abs(metric(r, "direction_r").chance) < 0.03);
  CHECK(metric(r, "latent_identification_pairwise").chance == doctest::Approx(0.5).epsilon(0.05));
  CHECK(metric(r, "latent_identification_top1").chance == doctest::Approx(1.0 / 12).epsilon(0.3));
  CHECK(metric(r, "image_identification_pairwise").chance == doctest::Approx(0.5).epsilon(0.1));
  CHECK(r.stimulus_thumbs.size() == 12);
  CHECK(r.reconstruction_thumbs.at(3) == r.stimulus_thumbs.at(3));
  CHECK(r.stimulus_thumbs.at(0).size() == 32 * 32 * 3);
}

TEST_CASE("a good decoder identifies every face, and random predictions sit at chance on every measure") {
  // Noise s.d. 0.5 per presentation, two averaged: r = 1 / sqrt(1 + 0.125).
  const TestSet good = test_set(36, 2, 0.5, 11);
  const EvalResult g = evaluate(good.items, good.stimuli, nullptr, nullptr, {}, {.draws = 200});
  CHECK(metric(g, "latent_identification_top1").value == 1.0);
  CHECK(metric(g, "latent_r").value == doctest::Approx(1 / std::sqrt(1.125)).epsilon(0.01));
  CHECK(metric(g, "direction_r").value == doctest::Approx(1 / std::sqrt(1.125)).epsilon(0.02));
  CHECK(metric(g, "latent_r").p < 0.01);

  TestSet random = test_set(36, 1, 0.0, 21);
  random.items.predicted = normal_rows(36, 100);  // unrelated to the stimuli
  const auto gen = make_generator({.kind = "procedural", .resolution = 64});
  const EvalResult r = evaluate(random.items, random.stimuli, gen.get(), nullptr, {}, {.draws = 200, .image_size = 64});
  for (const Metric& m : r.metrics) {
    CAPTURE(m.key);
    CAPTURE(m.value);
    CAPTURE(m.chance);
    if (m.key == "image_ssim_paper") {  // no chance level: below identical faces' 1, above unrelated noise's 0
      CHECK(m.value < 0.99);
      CHECK(m.value > 0.0);
      continue;
    }
    CHECK(std::abs(m.value - m.chance) < 4 * m.chance_sd);
    CHECK(m.p > 0.01);
  }
}

TEST_CASE("chance levels and p-values equal a direct computation over the prior draws") {
  const TestSet t = test_set(10, 1, 2.0, 31);  // a weak decoder: values near chance
  const int K = 60;
  const EvalResult r = evaluate(t.items, t.stimuli, nullptr, nullptr, {}, {.draws = K, .seed = 4});
  const Eigen::MatrixXd R = prior_draws(K, 4);
  // Null set k gives item i draw (k + i) mod K.
  for (const std::string key : {"latent_similarity_mse", "latent_identification_top1"}) {
    CAPTURE(key);
    std::vector<double> null;
    for (int k = 0; k < K; ++k) {
      double s = 0;
      for (int i = 0; i < 10; ++i) {
        const Eigen::VectorXd z = R.row((k + i) % K).transpose(), own = t.stimuli.row(t.items.stimulus[static_cast<size_t>(i)]).transpose();
        if (key == "latent_similarity_mse") {
          s += 1.0 / (1.0 + (z - own).squaredNorm() / 512);
        } else {
          bool best = true;
          for (int j = 0; j < 10; ++j)
            if (j != i && pearson(z, t.stimuli.row(t.items.stimulus[static_cast<size_t>(j)]).transpose()) >= pearson(z, own)) best = false;
          s += best ? 1 : 0;
        }
      }
      null.push_back(s / 10);
    }
    const Metric& m = metric(r, key);
    double mean = 0;
    int at_least = 0;
    for (double x : null) mean += x / K, at_least += x >= m.value ? 1 : 0;
    CHECK(m.chance == doctest::Approx(mean).epsilon(1e-9));
    CHECK(m.p == doctest::Approx((1.0 + at_least) / (K + 1)).epsilon(1e-12));
  }
  // Standard error over items, by hand.
  const Metric& lr = metric(r, "latent_r");
  double mean = 0, sq = 0;
  for (double x : lr.items) mean += x / 10;
  for (double x : lr.items) sq += (x - mean) * (x - mean);
  CHECK(lr.se == doctest::Approx(std::sqrt(sq / 9) / std::sqrt(10.0)));
}

TEST_CASE("feature similarity with a TorchScript network from python3-torch, attribute r from boundary files") {
  test::TempDir d;
  REQUIRE(test::run({test::python(), (test::source_dir() / "tests/integration/make_feature_net.py").string(), d.path().string()},
                    d / "make.log", 120s) == 0);
  FeatureNet net((d / "pool.pt").string(), "cpu", 64);
  CHECK(net.describe().find("192 features of 64x64 RGB") != std::string::npos);
  // The stand-in's features are 8 x 8 block means, channel by channel.
  std::vector<uint8_t> img(64 * 64 * 3);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      for (int c = 0; c < 3; ++c) img[static_cast<size_t>((y * 64 + x) * 3 + c)] = static_cast<uint8_t>((x * 3 + y + 40 * c) % 256);
  const Eigen::MatrixXd f = net.features({img, img});
  REQUIRE(f.rows() == 2);
  REQUIRE(f.cols() == 192);
  for (int c = 0; c < 3; ++c)
    for (int by = 0; by < 8; by += 3)
      for (int bx = 0; bx < 8; bx += 5) {
        double sum = 0;
        for (int y = by * 8; y < by * 8 + 8; ++y)
          for (int x = bx * 8; x < bx * 8 + 8; ++x) sum += img[static_cast<size_t>((y * 64 + x) * 3 + c)] / 255.0;
        CHECK(f(1, c * 64 + by * 8 + bx) == doctest::Approx(sum / 64).epsilon(1e-5));
      }
  CHECK_THROWS_WITH_AS(FeatureNet((d / "bad.pt").string(), "cpu", 64), doctest::Contains("bad.pt: forward on images [2, 3, 64, 64] gave shape [1, 12288], the contract is [2, ...]"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(FeatureNet((d / "none.pt").string(), "cpu", 64), doctest::Contains("none.pt: not a TorchScript module"), std::runtime_error);

  // Boundaries: [512] and [1, 512] load; anything else is refused naming the file.
  Eigen::VectorXd n1 = normal_rows(1, 3).row(0).transpose();
  write_rows(d / "gender_boundary.npy", n1.transpose());
  const Eigen::MatrixXd n2 = normal_rows(1, 4);
  std::vector<float> flat(512);
  for (int k = 0; k < 512; ++k) flat[static_cast<size_t>(k)] = static_cast<float>(n2(0, k));
  write_npy(d / "smile.npy", {512}, flat);
  write_npy(d / "two.npy", {2, 256}, flat);
  const std::vector<Boundary> bounds{load_boundary(d / "gender_boundary.npy"), load_boundary(d / "smile.npy")};
  CHECK(bounds[0].name == "gender_boundary");
  CHECK_THROWS_WITH_AS(load_boundary(d / "two.npy"), doctest::Contains("two.npy: a boundary must be 512 values"), std::runtime_error);

  const TestSet t = test_set(8, 2, 0.7, 41);
  const auto gen = make_generator({.kind = "procedural", .resolution = 64});
  const EvalResult same = evaluate({t.stimuli.middleRows(5, 8), t.items.stimulus, t.items.presentations}, t.stimuli, gen.get(), &net,
                                   bounds, {.draws = 30, .image_size = 64});
  CHECK(metric(same, "feature_similarity").value == doctest::Approx(1.0));
  CHECK(metric(same, "attribute_r_smile").value == doctest::Approx(1.0));
  const EvalResult noisy = evaluate(t.items, t.stimuli, gen.get(), &net, bounds, {.draws = 30, .image_size = 64});
  const Eigen::MatrixXd truth = t.stimuli.middleRows(5, 8);
  CHECK(metric(noisy, "attribute_r_gender_boundary").value ==
        doctest::Approx(pearson(t.items.predicted * bounds[0].normal, truth * bounds[0].normal)).epsilon(1e-9));
  CHECK(metric(noisy, "feature_similarity").value < 1.0);
  CHECK(noisy.features.find("pool.pt") != std::string::npos);
}

TEST_CASE("hyper eval writes the table, JSON, per-item values and a contact sheet, and names what is wrong") {
  test::TempDir d;
  const TestSet t = test_set(14, 1, 0.0, 51);
  write_rows(d / "stimuli.npy", t.stimuli);
  std::vector<Shown> shown;
  for (int rep = 0; rep < 2; ++rep)
    for (int f = 0; f < 14; ++f) shown.push_back({4.5 * static_cast<double>(shown.size()), "test", f + 5});
  write_events(d / "ev.tsv", shown);
  Eigen::MatrixXd pred(28, 512);
  const Eigen::MatrixXd noise = normal_rows(28, 52);
  for (int e = 0; e < 28; ++e) pred.row(e) = t.stimuli.row(shown[static_cast<size_t>(e)].stim) + 0.8 * noise.row(e);
  write_rows(d / "pred.npy", pred);
  const int rc = test::run(test::hyper_cmd({"eval", "--pred", (d / "pred.npy").string(), "--events", (d / "ev.tsv").string(), "--latents",
                                            (d / "stimuli.npy").string(), "--out", (d / "out").string(), "--generator", "procedural",
                                            "--resolution", "64", "--set", "eval.draws=100", "--set", "eval.image_size=64"}),
                           d / "eval.log", 240s);
  const std::string log = test::read_text(d / "eval.log");
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("# hyper eval: 14 faces (28 presentations averaged per face)") != std::string::npos);
  CHECK(log.find("| latent Pearson r | 0.") != std::string::npos);
  const auto j = nlohmann::json::parse(test::read_text(d / "out/eval.json"));
  CHECK(j.at("format") == "hyper-eval/1");
  CHECK(j.at("items") == 14);
  CHECK(j.at("metrics").at("latent_identification_top1").at("value").get<double>() == 1.0);
  CHECK(j.at("metrics").at("image_ssim").at("p").get<double>() < 0.05);
  CHECK(test::read_text(d / "out/eval.md") == log.substr(log.find("# hyper eval"), test::read_text(d / "out/eval.md").size()));
  const std::string items = test::read_text(d / "out/items.tsv");
  CHECK(std::count(items.begin(), items.end(), '\n') == 15);
  CHECK(items.rfind("item\tstimulus\tpresentations\tlatent_similarity_mse", 0) == 0);
  // The contact sheet: 12 columns of 128-pixel faces with 4-pixel gaps after a margin for the
  // row labels; two blocks (14 items), each an id line, two faces and a caption line; a title.
  int w = 0, h = 0, channels = 0;
  unsigned char* px = stbi_load((d / "out/contact_sheet.png").c_str(), &w, &h, &channels, 3);
  REQUIRE(px != nullptr);
  const int left = text_width("reconstructed") + 8, title = 3 * 14 + 4, block = 14 + 2 * 128 + 4 + 14;
  CHECK(w == left + 12 * 132 + 4);
  CHECK(h == title + 2 * block + 12 + 8);
  // Ink (dark pixels) in a box: where the title, the labels, the ids and the captions are.
  auto ink = [&](int x0, int y0, int x1, int y1) {
    int n = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) n += px[(y * w + x) * 3] < 128;
    return n;
  };
  CHECK(ink(4, 4, w, 28) > 100);                                             // the title
  CHECK(ink(4, 30, w, title) > 100);                                         // the line under it
  CHECK(ink(4, title + 4 + 14 + 50, left - 4, title + 4 + 14 + 78) > 20);   // "presented", beside the top row
  CHECK(ink(4, title + 4 + 14 + 182, left - 4, title + 4 + 14 + 210) > 20); // "reconstructed", beside the bottom row
  CHECK(ink(0, title + block + 12, left - 4, title + block + 12 + 14) == 0);  // no label in the gap between blocks
  for (int i = 0; i < 14; ++i) {
    CAPTURE(i);
    const int x0 = left + (i % 12) * 132, yb = title + 4 + (i / 12) * (block + 12);
    CHECK(ink(x0, yb, x0 + 128, yb + 13) > 10);                          // "#i stim s"
    CHECK(ink(x0, yb + 14 + 260, x0 + 128, yb + 14 + 260 + 13) > 10);  // "r 0.xx"
  }
  stbi_image_free(px);
  CHECK(items.find("\t") != std::string::npos);

  // What is wrong is named.
  CHECK(test::run(test::hyper_cmd({"eval", "--pred", (d / "pred.npy").string(), "--events", (d / "ev.tsv").string(), "--out",
                                   (d / "o2").string()}),
                  d / "e1.log") == 2);
  CHECK(test::read_text(d / "e1.log").find("eval.latents: which face each prediction belongs to") != std::string::npos);
  CHECK(test::read_text(d / "e1.log").find("--latents") != std::string::npos);
  CHECK(test::run(test::hyper_cmd({"eval", "--pred", (d / "pred.npy").string(), (d / "pred.npy").string(), "--events",
                                   (d / "ev.tsv").string(), "--latents", (d / "stimuli.npy").string(), "--out", (d / "o2").string()}),
                  d / "e2.log") == 2);
  CHECK(test::read_text(d / "e2.log").find("eval.events: 1 events files for 2 predictions") != std::string::npos);
  CHECK(test::run(test::hyper_cmd({"eval", "--pred", (d / "pred.npy").string(), "--events", (d / "ev.tsv").string(), "--latents",
                                   (d / "stimuli.npy").string(), "--out", (d / "o2").string(), "--generator", "pggan"}),
                  d / "e4.log") == 2);
  CHECK(test::read_text(d / "e4.log").find("generator.weights: hyper eval draws both faces") != std::string::npos);
  write_rows(d / "few.npy", normal_rows(10, 53));
  CHECK(test::run(test::hyper_cmd({"eval", "--pred", (d / "pred.npy").string(), "--events", (d / "ev.tsv").string(), "--latents",
                                   (d / "few.npy").string(), "--out", (d / "o2").string(), "--set", "eval.images=false"}),
                  d / "e3.log") == 1);
  CHECK(test::read_text(d / "e3.log").find("ev.tsv: event 6 shows stim_index 10, but the stimulus latents have 10 rows") != std::string::npos);
}

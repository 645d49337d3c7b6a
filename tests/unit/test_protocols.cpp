// The closed-loop protocols (plugins/feedback) against their formulas, computed here
// independently from the same latents; their settings' mistakes named.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "builtin.hpp"
#include "core/logging.hpp"
#include "core/registry.hpp"
#include "core/rng.hpp"
#include "feedback/protocol.hpp"
#include "generators/generator_settings.hpp"
#include "io/npy.hpp"
#include "support.hpp"

using namespace hyper;

namespace {

struct FeedbackSettings {
  PartRegistry parts;
  Schema schema;
  std::unique_ptr<Settings> st;
  FeedbackSettings() {
    register_builtin_parts(parts);
    declare_log_settings(schema);
    parts.declare(schema);
    declare_generator_settings(schema, parts.generator_names());
    st = std::make_unique<Settings>(schema);
  }
};

// Five latents: row i is (i+1) * e_i + 0.5 * e_7, so every cosine has a closed form.
std::vector<std::vector<double>> five_latents(const std::filesystem::path& file) {
  std::vector<std::vector<double>> rows(5, std::vector<double>(512, 0.0));
  std::vector<float> flat;
  for (int i = 0; i < 5; ++i) {
    rows[static_cast<size_t>(i)][static_cast<size_t>(i)] = i + 1;
    rows[static_cast<size_t>(i)][7] = 0.5;
    flat.insert(flat.end(), rows[static_cast<size_t>(i)].begin(), rows[static_cast<size_t>(i)].end());
  }
  write_npy(file, {5, 512}, flat);
  return rows;
}

double cos(const std::vector<double>& a, const std::vector<double>& b) {
  const double ab = std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
  return ab / std::sqrt(std::inner_product(a.begin(), a.end(), a.begin(), 0.0) * std::inner_product(b.begin(), b.end(), b.begin(), 0.0));
}

Tr decoded(const std::vector<double>& z) {
  Tr tr;
  for (size_t i = 0; i < 512; ++i) tr.latent[i] = static_cast<float>(z[i]);
  tr.decoded = true;
  return tr;
}

}  // namespace

TEST_CASE("target: the smoothed cosine to the target as a z-score against the other stimuli, the target shown first") {
  test::TempDir d;
  const auto rows = five_latents(d / "lat.npy");
  FeedbackSettings f;
  for (const auto& [k, v] : std::vector<std::pair<std::string, SettingValue>>{
           {"feedback.protocol", std::string("target")}, {"feedback.latents", (d / "lat.npy").string()},
           {"feedback.target", int64_t{1}}, {"feedback.smooth_trs", int64_t{2}}, {"feedback.target_trs", int64_t{1}}})
    f.st->apply_value(k, v, "test");
  // Chance: the cosines of rows 0, 2, 3, 4 with row 1 (population sd).
  std::vector<double> c;
  for (int i : {0, 2, 3, 4}) c.push_back(cos(rows[static_cast<size_t>(i)], rows[1]));
  const double mu = std::accumulate(c.begin(), c.end(), 0.0) / 4;
  double var = 0;
  for (double x : c) var += (x - mu) * (x - mu) / 4;
  const double sigma = std::sqrt(var);
  auto stage = make_feedback_stage(*f.st);
  REQUIRE(stage != nullptr);
  stage->start_run({});
  Tr a = decoded(rows[1]);  // the target itself
  stage->process(a);
  CHECK(a.has_feedback);
  CHECK(a.feedback == doctest::Approx((1.0 - mu) / sigma).epsilon(1e-5));
  CHECK(a.feedback_bar == doctest::Approx(std::clamp(((1.0 - mu) / sigma + 3) / 6, 0.0, 1.0)));
  CHECK(a.has_show);  // the first TR shows the target
  CHECK(a.show[1] == 2.0f);
  Tr b = decoded(rows[3]);
  stage->process(b);
  const double smoothed = (1.0 + cos(rows[3], rows[1])) / 2;  // the mean of the last two
  CHECK(b.feedback == doctest::Approx((smoothed - mu) / sigma).epsilon(1e-5));
  CHECK(!b.has_show);  // then the reconstruction
  Tr none;  // a TR not decoded: no feedback
  stage->process(none);
  CHECK(!none.has_feedback);
}

TEST_CASE("attribute: the projection on the direction, z-scored, moves the base face along it") {
  test::TempDir d;
  const auto rows = five_latents(d / "lat.npy");
  std::vector<float> dir(512, 0.0f);
  dir[2] = 3.0f;  // unit length: e_2
  write_npy(d / "dir.npy", {512}, dir);
  FeedbackSettings f;
  for (const auto& [k, v] : std::vector<std::pair<std::string, SettingValue>>{
           {"feedback.protocol", std::string("attribute")}, {"feedback.latents", (d / "lat.npy").string()},
           {"feedback.direction", (d / "dir.npy").string()}, {"feedback.base", int64_t{0}}, {"feedback.smooth_trs", int64_t{1}},
           {"feedback.gain", 0.5}})
    f.st->apply_value(k, v, "test");
  // Projections of the stimuli on e_2: 0, 0, 3, 0, 0.
  const double mu = 0.6, sigma = std::sqrt((4 * 0.36 + 2.4 * 2.4) / 5);
  auto stage = make_feedback_stage(*f.st);
  stage->start_run({});
  std::vector<double> z(512, 0.0);
  z[2] = 1.5;
  Tr tr = decoded(z);
  stage->process(tr);
  const double value = (1.5 - mu) / sigma;
  CHECK(tr.feedback == doctest::Approx(value).epsilon(1e-5));
  REQUIRE(tr.has_show);
  CHECK(tr.show[0] == doctest::Approx(1.0));  // the base (row 0) ...
  CHECK(tr.show[7] == doctest::Approx(0.5));
  CHECK(tr.show[2] == doctest::Approx(0.5 * value * sigma).epsilon(1e-5));  // ... moved along e_2
}

TEST_CASE("a protocol's mistakes name the setting: a target row beyond the latents, a direction of the wrong length, no protocol of that name") {
  test::TempDir d;
  five_latents(d / "lat.npy");
  write_npy(d / "short.npy", {300}, std::vector<float>(300, 1.0f));
  const auto error = [&](std::vector<std::pair<std::string, SettingValue>> values) {
    FeedbackSettings f;
    f.st->apply_value("feedback.latents", (d / "lat.npy").string(), "test");
    for (const auto& [k, v] : values) f.st->apply_value(k, v, "test");
    try {
      make_feedback_stage(*f.st);
    } catch (const SettingsError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error({{"feedback.protocol", std::string("target")}, {"feedback.target", int64_t{9}}})
            .find("feedback.target: row 9 is beyond") != std::string::npos);
  CHECK(error({{"feedback.protocol", std::string("attribute")}, {"feedback.direction", (d / "short.npy").string()}})
            .find("feedback.direction: " + (d / "short.npy").string() + " holds 300 values, a direction in the latent space has 512") !=
        std::string::npos);
  CHECK(error({{"feedback.protocol", std::string("smile")}}).find("feedback.protocol: no protocol named 'smile'") != std::string::npos);
}

namespace {

// The adaptive protocol against an oracle subject: what it decodes at each TR is the face
// that went up `lag` TRs before, scaled by 1 + max(0, s - 1) (s: sqrt(512) * cos to a hidden
// target, as the live twin's recognition), plus noise. Returns the likeness of every face shown.
std::vector<double> search(double exploit, uint64_t seed, double noise) {
  FeedbackSettings f;
  for (const auto& [k, v] : std::vector<std::pair<std::string, SettingValue>>{
           {"feedback.protocol", std::string("adaptive")}, {"feedback.exploit", exploit}, {"feedback.seed", static_cast<int64_t>(seed)},
           {"feedback.trials", int64_t{60}}, {"feedback.trial_trs", int64_t{3}}, {"feedback.lag_s", 4.5}})
    f.st->apply_value(k, v, "test");
  auto stage = make_feedback_stage(*f.st);
  stage->start_run(RunInfo{});
  Rng rng(seed, 99);
  std::vector<double> target(512);
  for (double& x : target) x = rng.normal();
  const auto likeness = [&](const std::array<float, 512>& z) {
    return std::sqrt(512.0) * cos(std::vector<double>(z.begin(), z.end()), target);
  };
  std::vector<std::array<float, 512>> screen;  // after each TR
  std::vector<double> shown;
  for (int n = 0; n < 200; ++n) {
    Tr tr;
    tr.tr_s = 1.5;
    tr.decoded = true;
    // The face that went up after TR n - 4 (lag 4.5 s = 3 TRs, on screen from the TR after it was chosen).
    const int from = n - 4;
    const double gain = from >= 0 ? 1 + std::max(0.0, likeness(screen[static_cast<size_t>(from)]) - 1) : 0;
    for (size_t i = 0; i < 512; ++i)
      tr.latent[i] = static_cast<float>((from >= 0 ? 0.3 * gain * screen[static_cast<size_t>(from)][i] : 0.0) + noise * rng.normal());
    stage->process(tr);
    REQUIRE(tr.has_show);
    REQUIRE(tr.has_feedback);
    screen.push_back(tr.show);
    if (shown.empty() || screen[screen.size() - 2] != tr.show) shown.push_back(likeness(tr.show));
  }
  return shown;
}

}  // namespace

TEST_CASE("adaptive: a new face every trial, then the face found, which is like a hidden target, more so than with random faces") {
  // Trials of 3 TRs: 60 faces, then the estimate (which changes while the last trials are scored).
  const std::vector<double> quiet = search(0.5, 1, 0.0);
  REQUIRE(quiet.size() >= 61);
  // A random face's likeness is about 0 +- 1; 60 trials carry only so much about a 512-d target
  // (with perfect relevance, random faces reach about 7): the face found is well beyond chance.
  CHECK(quiet.back() > 3);
  const double early = std::accumulate(quiet.begin(), quiet.begin() + 10, 0.0) / 10,
               late = std::accumulate(quiet.begin() + 50, quiet.begin() + 60, 0.0) / 10;
  CHECK(std::abs(early) < 1.5);
  CHECK(late > 1);  // the faces shown converge on the target
  // With noise, over 10 seeds: the adaptive search finds a closer face than random faces with the same update.
  int better = 0;
  double adaptive = 0, random = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const double a = search(0.5, seed, 1.0).back(), r = search(0.0, seed, 1.0).back();
    better += a > r, adaptive += a / 10, random += r / 10;
  }
  MESSAGE("face found, mean likeness over 10 seeds: adaptive " << adaptive << ", random " << random << "; adaptive closer in " << better);
  CHECK(random > 1);  // random faces find it too, more slowly
  CHECK(better >= 9);  // one-sided sign test p = 11/1024
}

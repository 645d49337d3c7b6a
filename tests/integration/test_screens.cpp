// The two screens at a scanner (README, "On screen"): the subject's window shows the face and
// the fixation cross only; with display.experimenter_screen the HUD and the face presented
// (display.truth) go to the experimenter's window. Run under SDL's offscreen driver, each
// presented screen captured. With HYPER_SCREENSHOTS=DIR set (tools/screenshots) the last
// captures and a contact sheet are copied there: the README's pictures.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>

#include <stb_image.h>

#include "sinks/screen_layout.hpp"
#include "presentation_support.hpp"
#include "support.hpp"
#include "twin_support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

struct Image {
  int w = 0, h = 0;
  std::vector<uint8_t> rgb;
  std::array<int, 3> at(int x, int y) const {
    const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)) * 3;
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

Image load(const std::filesystem::path& p) {
  Image im;
  int channels = 0;
  unsigned char* px = stbi_load(p.c_str(), &im.w, &im.h, &channels, 3);
  REQUIRE_MESSAGE(px != nullptr, p.string());
  im.rgb.assign(px, px + static_cast<size_t>(im.w) * static_cast<size_t>(im.h) * 3);
  stbi_image_free(px);
  return im;
}

std::filesystem::path last_png(const std::filesystem::path& dir) {
  std::filesystem::path last;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".png" && e.path() > last) last = e.path();
  return last;
}

// A decoder trained on the small twin's training run (a given penalty: one run, no cross-validation), as d/dec.safetensors.
void train_small_decoder(const test::TempDir& d) {
  REQUIRE(test::run(test::hyper_cmd({"train", "--dataset", (d / "twin").string(), "--out", (d / "dec.safetensors").string(), "--mode",
                                     "tr", "--penalty", "100", "--voxels", "1000", "--set", "preprocess.chain=[\"mask\"]"}),
                    d / "train.log", 120s) == 0);
}

constexpr std::array<int, 3> kGrey{128, 128, 128}, kRed{255, 0, 0}, kBlack{0, 0, 0};

}  // namespace

TEST_CASE("the subject's window shows the face and the cross only, the experimenter's carries the HUD and the face presented") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  train_small_decoder(d);
  const int rc = test::run(
      test::hyper_cmd({"stream", "--source", "nifti_run", "--set", "nifti_run.input=" + file.path.string(), "--set", "nifti_run.speed=20",
                       "--set", "nifti_run.count=60", "--decoder", (d / "dec.safetensors").string(), "--out", (d / "out").string(),
                       "--runs", "1", "--faces", "--generator", "procedural", "--resolution", "128", "--display", "--set",
                       "display.driver=offscreen", "--set", "display.capture=true", "--set", "display.experimenter_screen=1", "--set",
                       "display.truth=" + (d / "twin").string(), "--set", "display.width=800", "--set", "display.height=600", "--set",
                       "display.face_px=384"}),
      d / "stream.log", 120s);
  INFO(test::read_text(d / "stream.log"));
  REQUIRE(rc == 0);
  const auto rec = d / "out" / file.run_id;
  const Image subject = load(last_png(rec / "screen"));
  const Image experimenter = load(last_png(rec / "experimenter"));
  REQUIRE(subject.w == 800);
  REQUIRE(experimenter.w == 800);

  // The subject's: the face at the centre under the cross, nothing in the HUD's corner, no second face.
  const ScreenLayout s = layout_screen(800, 600, 384, false, false, "procedural stand-in");
  CHECK(s.decoded.w == 384);
  CHECK(subject.at(400, 300) == kRed);
  CHECK(subject.at(4, 4) == kGrey);
  CHECK(subject.at(150, 50) == kGrey);
  CHECK(subject.at(s.decoded.x - 20, 300) == kGrey);  // where the experimenter's view puts the face presented
  CHECK(subject.at(s.decoded.x + 60, 300) != kGrey);  // the face

  // The experimenter's: the HUD panel, the face presented left of the decoded one, no cross.
  const ScreenLayout e = layout_screen(800, 600, 384, true, true, "procedural stand-in");
  CHECK(experimenter.at(298, 2) == kBlack);
  int with_truth = 0;  // the faces presented at the time (none during a pause between faces)
  std::filesystem::path shown;
  for (const auto& f : std::filesystem::directory_iterator(rec / "experimenter"))
    if (load(f.path()).at(e.truth.x + e.truth.w / 2, e.truth.y + e.truth.h * 3 / 4) != kGrey) {
      ++with_truth;
      shown = std::max(shown, f.path());
    }
  CHECK(with_truth >= 10);
  CHECK(experimenter.at(e.fixation_x, e.fixation_y) != kRed);
  CHECK(experimenter.at(e.decoded.x + 10, e.decoded.y + e.decoded.h * 3 / 4) != kGrey);
  CHECK(!e.truth.overlaps(e.hud));

  // The same run scored: a contact sheet for the README.
  REQUIRE(test::run(test::hyper_cmd({"eval", "--pred", rec.string(), "--events", events_path(file.path).string(), "--latents",
                                     (d / "twin/stimuli/latents.npy").string(), "--out", (d / "eval").string(), "--generator",
                                     "procedural", "--resolution", "64", "--set", "eval.draws=20", "--set", "eval.sheet_size=96",
                                     "--set", "eval.sheet_items=8", "--set", "eval.sheet_columns=8"}),
                    d / "eval.log", 120s) == 0);
  CHECK(std::filesystem::exists(d / "eval/contact_sheet.png"));
  if (const char* dir = std::getenv("HYPER_SCREENSHOTS")) {
    std::filesystem::create_directories(dir);
    const auto over = std::filesystem::copy_options::overwrite_existing;
    std::filesystem::copy_file(rec / "screen" / shown.filename(), std::filesystem::path(dir) / "subject.png", over);
    std::filesystem::copy_file(shown, std::filesystem::path(dir) / "experimenter.png", over);
    std::filesystem::copy_file(d / "eval/contact_sheet.png", std::filesystem::path(dir) / "contact_sheet.png", over);
    MESSAGE("screenshots copied to " << dir);
  }
}

TEST_CASE("display.fixation_deg is the visual angle on the window as shown: fullscreen on a wider screen than display.width") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  test::random_decoder_file(file, "[\"mask\"]", d / "dec.safetensors");
  // SDL's offscreen driver shows "fullscreen" at 1024x768, wider than the 800 px window asked for.
  REQUIRE(test::run(test::hyper_cmd({"stream", "--source", "nifti_run", "--set", "nifti_run.input=" + file.path.string(), "--set",
                                     "nifti_run.speed=20", "--set", "nifti_run.count=3", "--decoder", (d / "dec.safetensors").string(),
                                     "--out", (d / "out").string(), "--runs", "1", "--faces", "--generator", "procedural", "--resolution",
                                     "64", "--display", "--fullscreen", "--set", "display.driver=offscreen", "--set", "display.capture=true",
                                     "--set", "display.width=800", "--set", "display.height=600", "--set", "display.fixation_deg=2", "--set",
                                     "display.screen_width_cm=40", "--set", "display.distance_cm=110"}),
                    d / "stream.log", 120s) == 0);
  const Image shown = load(last_png(d / "out" / file.run_id / "screen"));
  REQUIRE(shown.w == 1024);
  int red = 0;  // the cross's horizontal arm along the centre row
  for (int x = 0; x < shown.w; ++x) red += shown.at(x, shown.h / 2) == kRed;
  // 2 deg at 110 cm is 3.84 cm, of a 40 cm screen 1024 px wide: 98 px (800 px would give 77).
  CHECK(red == doctest::Approx(98).epsilon(0.03));
}

TEST_CASE("the target protocol's screen: the target first, then the reconstruction beside the thermometer, chance marked at half") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  train_small_decoder(d);
  const int rc = test::run(
      test::hyper_cmd({"stream", "--source", "nifti_run", "--set", "nifti_run.input=" + file.path.string(), "--set", "nifti_run.speed=20",
                       "--set", "nifti_run.count=30", "--decoder", (d / "dec.safetensors").string(), "--out", (d / "out").string(),
                       "--runs", "1", "--faces", "--generator", "procedural", "--resolution", "128", "--display", "--set",
                       "display.driver=offscreen", "--set", "display.capture=true", "--set", "display.width=640", "--set",
                       "display.height=480", "--set", "display.face_px=320", "--feedback", "target", "--set",
                       "feedback.latents=" + (d / "twin/stimuli/latents.npy").string(), "--set", "feedback.target=5"}),
      d / "stream.log", 120s);
  INFO(test::read_text(d / "stream.log"));
  REQUIRE(rc == 0);
  const auto rec = d / "out" / file.run_id;
  const auto feedback = test::tsv_rows(rec / "feedback.tsv");
  REQUIRE(feedback.size() == 31);
  // The bar: right of the face, a twelfth of its width, as tall as the face.
  const ScreenLayout l = layout_screen(640, 480, 320, false, false, "procedural stand-in");
  const int bx = l.decoded.x + l.decoded.w + l.decoded.w / 12 + 5, top = l.decoded.y, bottom = l.decoded.y + l.decoded.h;
  const std::filesystem::path last = last_png(rec / "screen");
  const Image shot = load(last);
  const int index = std::stoi(last.stem().string());
  const double bar = std::stod(feedback[static_cast<size_t>(index) + 1][3]);
  MESSAGE("the last screen, TR " << index << ": bar " << bar);
  CHECK(shot.at(bx, top + l.decoded.h / 2) == std::array<int, 3>{255, 255, 255});  // chance: the white line at half
  const int level = bottom - static_cast<int>(bar * l.decoded.h);
  if (level < bottom - 5) CHECK(shot.at(bx, bottom - 2) == std::array<int, 3>{60, 200, 90});  // filled from the bottom
  if (level > top + 5) CHECK(shot.at(bx, top + 2) == std::array<int, 3>{40, 40, 40});         // empty above its level
  CHECK(shot.at(l.fixation_x, l.fixation_y) == kRed);
  CHECK(shot.at(5, 5) == kGrey);
  if (const char* dir = std::getenv("HYPER_SCREENSHOTS"))
    std::filesystem::copy_file(last, std::filesystem::path(dir) / "feedback.png", std::filesystem::copy_options::overwrite_existing);
}

// Every saved fuzz input (tests/fuzz/corpus/<target>/: the seeds, and each crash the
// fuzzers found, kept as a regression) through its parser in this build: accepted or
// refused with an exception, never a crash (under the sanitizer build, never a bad read).
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "../fuzz/targets.hpp"
#include "sources/siemens_dicom.hpp"

TEST_CASE("every saved fuzz input goes through its parser: accepted or refused, never a crash") {
  const std::filesystem::path corpus = std::filesystem::path(HYPER_SOURCE_DIR) / "tests/fuzz/corpus";
  for (const auto& t : hyper::fuzz::targets()) {
    CAPTURE(t.name);
    int inputs = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(corpus / t.name, ec)) {
      std::ifstream in(e.path(), std::ios::binary);
      const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      CAPTURE(e.path().filename().string());
      CHECK_NOTHROW(t.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
      ++inputs;
    }
    CHECK(inputs > 0);  // every target has its seeds
  }
}

TEST_CASE("a DICOM file that makes GDCM abort costs its volume, not the process: it is read in a child") {
  const std::filesystem::path dir = std::filesystem::path(HYPER_SOURCE_DIR) / "tests/fuzz/corpus/dicom";
  int crashes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const auto r = hyper::read_siemens_dicom(e.path());
    if (e.path().filename() == "mosaic.dcm") {
      CHECK(std::holds_alternative<hyper::DicomVolume>(r));
      continue;
    }
    ++crashes;
    REQUIRE(std::holds_alternative<std::string>(r));
    CAPTURE(std::get<std::string>(r));
    const std::string& why = std::get<std::string>(r);
    CHECK((why.rfind("unreadable: ", 0) == 0 || why.rfind("incomplete: ", 0) == 0));  // refused, with the reason
  }
  CHECK(crashes >= 3);  // the inputs tools/fuzz found (an unknown VR, a CSA header, an implicit/explicit mix)
  // What the isolation costs: the seed read 50 times in a child and here.
  const auto time = [&](auto&& read) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 50; ++i) read(dir / "mosaic.dcm");
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 50;
  };
  const double child = time([](const auto& p) { return hyper::read_siemens_dicom(p); });
  const double here = time([](const auto& p) { return hyper::read_siemens_dicom_here(p); });
  MESSAGE("a mosaic read in a child: " << child << " ms, here: " << here << " ms");
}

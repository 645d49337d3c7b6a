// The NIfTI reader against nibabel (Debian's python3-nibabel) as the independent reference.
#include <doctest/doctest.h>

#include <fstream>

#include "io/nifti.hpp"
#include "io/npy.hpp"
#include "support.hpp"

using namespace hyper;

namespace {

// Reads `path` and compares every voxel of every volume with nibabel's values, exactly.
void check_against_nibabel(const std::filesystem::path& path, const std::filesystem::path& expected,
                           std::array<int64_t, 4> dims, DType dtype) {
  const NiftiRun run = read_nifti(path);
  CHECK(run.info.dims == dims);
  CHECK(run.info.dtype == dtype);
  CHECK(run.info.voxel_mm == std::array<double, 3>{3.0, 3.0, 3.5});
  CHECK(run.info.tr_s == doctest::Approx(1.5));
  CHECK(run.info.time_unit == "s");
  // tools/make_run.py's affine; sform is stored as float32.
  const std::array<double, 16> affine{-3, 0, 0, 90, 0, 3, 0, -126, 0, 0, 3.5, -72, 0, 0, 0, 1};
  for (size_t i = 0; i < 16; ++i) CHECK(run.info.affine[i] == doctest::Approx(affine[i]).epsilon(1e-6));

  const NpyArray ref = read_npy(expected);
  REQUIRE(ref.shape == std::vector<int64_t>{dims[3], dims[0] * dims[1] * dims[2]});
  int64_t mismatches = 0;
  for (int64_t t = 0; t < dims[3]; ++t) {
    const Volume v = run.volume(t);
    const float* r = ref.data.data() + t * v.voxel_count();
    for (int64_t i = 0; i < v.voxel_count(); ++i) mismatches += v.data[static_cast<size_t>(i)] != r[i];
  }
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("every voxel type, gzipped or not, NIfTI-1 and NIfTI-2, reads exactly as nibabel does") {
  test::TempDir d;
  struct Case {
    const char* dtype;
    DType type;
    const char* ext;
    bool nifti2;
  };
  const Case cases[] = {
      {"int16", DType::Int16, ".nii.gz", false},   {"uint16", DType::UInt16, ".nii.gz", false},
      {"int32", DType::Int32, ".nii.gz", false},   {"float32", DType::Float32, ".nii.gz", false},
      {"float64", DType::Float64, ".nii.gz", false}, {"int16", DType::Int16, ".nii", false},
      {"float32", DType::Float32, ".nii", true},   {"int16", DType::Int16, ".nii.gz", true},
      {"float64", DType::Float64, ".nii", true},
  };
  for (const auto& c : cases) {
    const std::string name = std::string(c.dtype) + (c.nifti2 ? "_n2" : "_n1") + c.ext;
    CAPTURE(name);
    std::vector<std::string> args{"--dims", "9", "7", "5", "4", "--dtype", c.dtype, "--expected",
                                  (d / (name + ".npy")).string()};
    if (c.nifti2) args.push_back("--nifti2");
    test::make_run(d / name, args);
    check_against_nibabel(d / name, d / (name + ".npy"), {9, 7, 5, 4}, c.type);
    CHECK(read_nifti_info(d / name).version == (c.nifti2 ? 2 : 1));
  }
}

TEST_CASE("integer runs carry the scanner scaling (scl_slope, scl_inter)") {
  test::TempDir d;
  test::make_run(d / "s.nii.gz", {"--dims", "6", "6", "4", "3", "--dtype", "int16"});
  const NiftiInfo info = read_nifti_info(d / "s.nii.gz");
  CHECK(info.slope != 1.0);  // nibabel scaled the float data into int16
}

TEST_CASE("the TR is read in its time unit") {
  test::TempDir d;
  test::make_run(d / "ms.nii", {"--dims", "4", "4", "4", "2", "--tr", "2.0", "--time-unit", "msec"});
  const NiftiInfo ms = read_nifti_info(d / "ms.nii");
  CHECK(ms.tr_s == doctest::Approx(2.0));
  CHECK(ms.time_unit == "ms");
  test::make_run(d / "none.nii", {"--dims", "4", "4", "4", "2", "--tr", "0"});
  CHECK(read_nifti_info(d / "none.nii").tr_s == 0.0);
}

TEST_CASE("written runs read back in nibabel with their values, affine and TR") {
  test::TempDir d;
  NiftiInfo info;
  info.dims = {5, 4, 3, 2};
  info.voxel_mm = {2, 2.5, 3};
  info.affine = {-2, 0, 0, 10, 0, 2.5, 0, -20, 0, 0, 3, 5, 0, 0, 0, 1};
  info.tr_s = 0.8;
  info.dtype = DType::Int16;
  info.slope = 0.25;
  info.inter = -3;
  std::vector<int16_t> raw(5 * 4 * 3 * 2);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<int16_t>(static_cast<int>(i) * 97 - 4000);
  const auto path = d / "w.nii.gz";
  write_nifti(path, info, {reinterpret_cast<const std::byte*>(raw.data()), raw.size() * 2});

  // Our reader, and nibabel as the reference.
  const NiftiRun back = read_nifti(path);
  CHECK(back.info.dims == info.dims);
  CHECK(back.volume(1).data[0] == static_cast<float>(raw[60] * 0.25 - 3));
  const std::string script =
      "import sys, nibabel as nib, numpy as np\n"
      "img = nib.load(sys.argv[1])\n"
      "raw = (np.arange(120) * 97 - 4000).astype(np.float64) * 0.25 - 3\n"
      "want = raw.reshape(5, 4, 3, 2, order='F')\n"
      "assert img.shape == (5, 4, 3, 2), img.shape\n"
      "assert np.array_equal(img.get_fdata(), want)\n"
      "assert abs(img.header.get_zooms()[3] - 0.8) < 1e-6\n"
      "assert img.header.get_xyzt_units() == ('mm', 'sec')\n"
      "aff = np.array([[-2, 0, 0, 10], [0, 2.5, 0, -20], [0, 0, 3, 5], [0, 0, 0, 1]])\n"
      "assert np.allclose(img.affine, aff), img.affine\n"
      "print('nibabel agrees')\n";
  std::ofstream(d / "check.py") << script;
  CHECK(test::run({test::python(), (d / "check.py").string(), path.string()}, d / "check.log") == 0);
  CHECK(test::read_text(d / "check.log").find("nibabel agrees") != std::string::npos);
}

TEST_CASE("unreadable files are reported with their name") {
  test::TempDir d;
  CHECK_THROWS_WITH_AS(read_nifti(d / "absent.nii.gz"), doctest::Contains("absent.nii.gz: no such file"),
                       std::runtime_error);
  std::ofstream(d / "junk.nii") << "this is not a NIfTI file at all, just some text padding it out to size";
  CHECK_THROWS_WITH_AS(read_nifti(d / "junk.nii"), doctest::Contains("junk.nii: not a readable NIfTI"),
                       std::runtime_error);
  // A gzipped run cut short: the header reads, the data does not.
  test::make_run(d / "cut.nii.gz", {"--dims", "16", "16", "8", "10"});
  const auto full = test::read_text(d / "cut.nii.gz");
  std::ofstream(d / "cut.nii.gz", std::ios::binary | std::ios::trunc) << full.substr(0, full.size() / 2);
  CHECK_THROWS_WITH_AS(read_nifti(d / "cut.nii.gz"), doctest::Contains("cut.nii.gz"), std::runtime_error);
}

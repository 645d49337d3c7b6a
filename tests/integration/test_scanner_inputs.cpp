// Real scanner inputs (README, "At the scanner: getting volumes in"): Pyneal Scanner's
// protocol spoken by a client written from its documentation (pyneal_scanner_client.py).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "builtin.hpp"
#include "core/registry.hpp"
#include "core/session.hpp"
#include "io/nifti.hpp"
#include "io/npy.hpp"
#include "sources/siemens_dicom.hpp"
#include "stream_support.hpp"
#include "support.hpp"
#include "twin_support.hpp"

using namespace hyper;
using namespace std::chrono_literals;

namespace {

struct Received {
  std::map<std::string, std::vector<const Tr*>> by_run;
  std::vector<std::unique_ptr<Tr>> trs;
  std::vector<RunEnd> ends;
  std::vector<std::string> order;  // "RUN INDEX" in arrival order
};

class KeepSink : public Sink {
 public:
  explicit KeepSink(Received& r) : r_(r) {}
  void on_tr(const Tr& tr) override {
    r_.trs.push_back(std::make_unique<Tr>(tr));
    r_.by_run[tr.run].push_back(r_.trs.back().get());
    r_.order.push_back(tr.run + " " + std::to_string(tr.index));
  }
  void on_run_end(const RunEnd& e) override { r_.ends.push_back(e); }

 private:
  Received& r_;
};

// A registered source (`name`, with `settings` as section.key=value) through the Session
// (an empty chain, `max_runs` runs) on a thread of its own while `deliver` plays the
// scanner's side; what reached the sinks.
std::unique_ptr<Received> run_source(const std::string& name, const std::vector<std::string>& settings, int64_t max_runs,
                                     const std::function<void()>& deliver) {
  PartRegistry parts;
  register_builtin_parts(parts);
  Schema schema;
  parts.declare(schema);
  Settings st(schema);
  for (const auto& a : settings) st.apply_assignment(a);
  Chain chain(parts, st);  // empty: the volumes as received
  Session session(chain, {.max_runs = max_runs});
  auto r = std::make_unique<Received>();
  session.add(std::make_shared<KeepSink>(*r));
  const auto source = parts.source(name).make(st);  // a watched folder is listed here: deliver after
  std::thread loop([&] { session.run(*source); });
  deliver();
  loop.join();
  return r;
}

// Every volume of `run` equals the client's record of what it sent, and carries the file's affine.
void check_volumes(const std::vector<const Tr*>& got, const std::filesystem::path& sent_npy, const NiftiInfo& info) {
  const NpyArray sent = read_npy(sent_npy);
  REQUIRE(static_cast<int64_t>(got.size()) == sent.shape[0]);
  for (size_t k = 0; k < got.size(); ++k) {
    CAPTURE(k);
    CHECK(got[k]->index == static_cast<int64_t>(k));
    REQUIRE(static_cast<int64_t>(got[k]->volume.data.size()) == sent.shape[1]);
    double worst = 0;
    for (size_t i = 0; i < got[k]->volume.data.size(); ++i) {
      const double want = sent.data[k * static_cast<size_t>(sent.shape[1]) + i];
      worst = std::max(worst, std::fabs(got[k]->volume.data[i] - want) / std::max(1.0, std::fabs(want)));
    }
    CHECK(worst < 1e-6);
    for (size_t i = 0; i < 16; ++i) CHECK(got[k]->volume.affine[i] == doctest::Approx(info.affine[i]).epsilon(1e-6));
    CHECK(got[k]->volume.dims == std::array<int64_t, 3>{info.dims[0], info.dims[1], info.dims[2]});
  }
}

}  // namespace

TEST_CASE("Pyneal Scanner's protocol: hello echoed, every volume in order and exact, bad messages answered and counted, a second session") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  const NiftiInfo info = read_nifti_info(file.path);
  const int port = test::free_tcp_port();

  const std::string client = (test::source_dir() / "tests/integration/pyneal_scanner_client.py").string();
  // stream.run_timeout ends session 2's run: generous for a loaded machine.
  const auto received = run_source("pyneal", {"stream.endpoint=" + test::loopback(port), "stream.tr=1.5", "stream.run_id=pyn",
                                              "stream.run_timeout=3"},
                                   2, [&] {
    // Session 1: float64 (Siemens, GE), the TR in ms (as the simulator sends it), malformed
    // messages before the third volume, volumes 6 and 5 swapped.
    CHECK(test::run({test::python(), client, test::loopback(port), file.path.string(), (d / "sent1.npy").string(), "--count", "12",
                     "--bad", "--swap", "5", "--tr-field", "1500"},
                    d / "client1.log", 60s) == 0);
    // Session 2 on the same socket: uint16 (Philips), another hello text; its run ends by time-out.
    CHECK(test::run({test::python(), client, test::loopback(port), file.path.string(), (d / "sent2.npy").string(), "--count", "6",
                     "--dtype", "uint16", "--hello", "hello from pyneal_scanner sim", "--tr-field", "1.5"},
                    d / "client2.log", 60s) == 0);
  });
  Received& r = *received;
  const std::string clients = test::read_text(d / "client1.log") + test::read_text(d / "client2.log");
  INFO(clients);

  REQUIRE(r.by_run.count("pyn") == 1);
  REQUIRE(r.by_run.count("pyn.2") == 1);  // the run id given again: recorded apart
  check_volumes(r.by_run["pyn"], d / "sent1.npy", info);
  check_volumes(r.by_run["pyn.2"], d / "sent2.npy", info);
  REQUIRE(r.ends.size() == 2);
  CHECK(r.ends[0].ended_by == "new_session");
  CHECK(r.ends[0].received == 12);
  CHECK(r.ends[0].dropped == 5);
  const auto s1 = nlohmann::json::parse(r.ends[0].summary_json);
  CHECK(s1["reordered"] == 1);
  for (const char* reason : {"frames", "bad_json", "size", "dtype", "field_missing"}) CHECK(s1["dropped"][reason] == 1);
  CHECK(s1["complete"] == false);  // five messages could not be read
  CHECK(r.ends[1].ended_by == "timeout");
  CHECK(r.ends[1].received == 6);
  CHECK(r.ends[1].dropped == 0);
}

TEST_CASE("hyper stream --protocol pyneal --tr: the run record of a Pyneal session, STOP after --run-volumes, and its settings errors") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  const int port = test::free_tcp_port();
  test::Process stream(test::hyper_cmd({"stream", "--protocol", "pyneal", "--endpoint", test::loopback(port), "--tr", "1.5",
                                        "--run-volumes", "8", "--run-id", "scan01", "--out", (d / "out").string(), "--runs", "1"}),
                       d / "stream.log");
  // The client stops when told (STOP after volume 7) although the file has more.
  CHECK(test::run({test::python(), (test::source_dir() / "tests/integration/pyneal_scanner_client.py").string(), test::loopback(port),
                   file.path.string(), (d / "sent.npy").string(), "--tr-field", "2.0"},
                  d / "client.log", 60s) == 0);
  CHECK(stream.wait(60s) == 0);
  const std::string log = test::read_text(d / "stream.log");
  INFO(log);
  CHECK(read_npy(d / "sent.npy").shape[0] == 8);
  const auto s = nlohmann::json::parse(test::read_text(d / "out/scan01/summary.json"));
  CHECK(s["received"] == 8);
  CHECK(s["complete"] == true);
  CHECK(log.find("the sender's TR is '2.0', stream.tr is 1.5 s") != std::string::npos);

  CHECK(test::run(test::hyper_cmd({"stream", "--protocol", "pyneal", "--endpoint", test::loopback(port)}), d / "notr.log") == 2);
  CHECK(test::read_text(d / "notr.log").find("give the TR with --tr SECONDS") != std::string::npos);
  CHECK(test::run(test::hyper_cmd({"stream", "--protocol", "pyneal", "--endpoint", "tcp://0.0.0.0:" + std::to_string(port), "--tr", "1.5"}),
                  d / "remote.log") == 2);
  CHECK(test::read_text(d / "remote.log").find("pass --allow-remote") != std::string::npos);
}

namespace {

// `make_mosaic.py RUN OUT --series S --count C`: Siemens real-time export files of a run.
void make_mosaics(const test::TempDir& d, const std::filesystem::path& run, const std::filesystem::path& out, int series, int count) {
  REQUIRE(test::run({test::python(), (test::source_dir() / "tests/integration/make_mosaic.py").string(), run.string(), out.string(),
                     "--series", std::to_string(series), "--count", std::to_string(count)},
                    d / "mosaic.log", 120s) == 0);
}

std::filesystem::path mosaic_name(const std::filesystem::path& dir, int series, int volume) {
  return dir / fmt::format("001_{:06d}_{:06d}.dcm", series, volume);
}

// The NIfTI's volume t as the export stores it: rounded and clipped to uint16.
std::vector<float> as_exported(const NiftiRun& run, int64_t t) {
  std::vector<float> v = run.volume(t).data;
  for (float& x : v) x = std::clamp(std::nearbyint(x), 0.0f, 65535.0f);
  return v;
}

}  // namespace

TEST_CASE("Siemens mosaics and XA enhanced files read as the voxels and the affine that dcm2niix and nibabel find: axial and oblique left-handed") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  // An oblique, left-handed grid with 13 slices (not a square number of tiles) and non-square voxels.
  REQUIRE(test::run({test::python(), "-c",
                     "import nibabel as nib, numpy as np\n"
                     "a, b = np.radians(10), np.radians(5)\n"
                     "rx = np.array([[1,0,0],[0,np.cos(a),-np.sin(a)],[0,np.sin(a),np.cos(a)]])\n"
                     "rz = np.array([[np.cos(b),-np.sin(b),0],[np.sin(b),np.cos(b),0],[0,0,1]])\n"
                     "A = np.eye(4); A[:3,:3] = rz @ rx @ np.diag([-2.5, 3.0, 3.5]); A[:3,3] = [40, -60, -20]\n"
                     "x = np.random.default_rng(3).integers(0, 4000, (40, 36, 13, 2)).astype(np.int16)\n"
                     "nib.save(nib.Nifti1Image(x, A), '" + (d / "oblique.nii.gz").string() + "')\n"},
                    d / "oblique.log") == 0);
  // Mosaics (VB/VD/VE) and enhanced multi-frame files (XA), each axial and oblique left-handed.
  for (const auto& [run, tag] : {std::pair{file.path, std::string("axial")}, std::pair{d / "oblique.nii.gz", std::string("oblique")},
                                 std::pair{file.path, std::string("xa-axial")}, std::pair{d / "oblique.nii.gz", std::string("xa-oblique")}}) {
    CAPTURE(tag);
    const bool xa = tag.rfind("xa-", 0) == 0;
    if (xa)
      REQUIRE(test::run({test::python(), (test::source_dir() / "tests/integration/make_enhanced.py").string(), run.string(), (d / tag).string(),
                         "--series", "1", "--count", "2"},
                        d / "enhanced.log", 120s) == 0);
    else
      make_mosaics(d, run, d / tag, 1, 2);
    const auto got = read_siemens_dicom(mosaic_name(d / tag, 1, 2));
    REQUIRE(std::holds_alternative<DicomVolume>(got));
    const DicomVolume& v = std::get<DicomVolume>(got);
    const NiftiRun nifti = read_nifti(run);
    CHECK(v.series == 1);
    CHECK(v.instance == 2);
    CHECK(v.volume.dims == std::array<int64_t, 3>{nifti.info.dims[0], nifti.info.dims[1], nifti.info.dims[2]});
    CHECK(v.volume.data == as_exported(nifti, 1));
    // Against the reference readers on the same file: every voxel's world position within 1e-3 mm.
    std::vector<float> affine(v.volume.affine.begin(), v.volume.affine.end());
    write_npy(d / "aff.npy", {4, 4}, affine);
    write_npy(d / "data.npy", {static_cast<int64_t>(v.volume.data.size())}, v.volume.data);
    const auto& dims = v.volume.dims;
    REQUIRE(test::run({test::python(), (test::source_dir() / "tests/integration/check_dicom_geometry.py").string(),
                       mosaic_name(d / tag, 1, 2).string(), (d / "aff.npy").string(), (d / "data.npy").string(), std::to_string(dims[0]),
                       std::to_string(dims[1]), std::to_string(dims[2])},
                      d / "check.log", 120s) == 0);
    const std::string out = test::read_text(d / "check.log");
    INFO(out);
    const auto j = nlohmann::json::parse(out.substr(out.find('{')));
    CHECK(j["dcm2niix_mm"].get<double>() < 1e-3);
    CHECK(j["dcm2niix_values_equal"] == true);
    if (!xa) {  // Debian's nibabel 5.0 misplaces the slices of enhanced files (fixed upstream in nibabel PR #1340)
      CHECK(j["nibabel_mm"].get<double>() < 1e-3);
      CHECK(j["nibabel_values_equal"] == true);
    }
  }
  // What is not a mosaic, or not yet whole, is named.
  std::ofstream(d / "text.dcm") << "not a DICOM file";
  CHECK(std::get<std::string>(read_siemens_dicom(d / "text.dcm")).rfind("incomplete", 0) == 0);
  const std::string whole = test::read_text(mosaic_name(d / "axial", 1, 1));
  std::ofstream(d / "cut.dcm", std::ios::binary) << whole.substr(0, whole.size() * 2 / 3);
  CHECK(std::get<std::string>(read_siemens_dicom(d / "cut.dcm")).rfind("incomplete", 0) == 0);
}

TEST_CASE("a watched export folder: slow and renamed files, an old series and a text file, a file that never completes, two out of order") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  const NiftiRun nifti = read_nifti(file.path);
  make_mosaics(d, file.path, d / "stage2", 2, 12);
  make_mosaics(d, file.path, d / "stage1", 1, 1);
  const auto w = d / "export";
  std::filesystem::create_directories(w);
  std::filesystem::copy_file(mosaic_name(d / "stage1", 1, 1), mosaic_name(w, 1, 1));  // an earlier series, there before the start
  std::ofstream(w / "notes.txt") << "left by the console";

  const auto received = run_source("watch", {"watch.dir=" + w.string(), "stream.tr=1.5", "stream.run_volumes=12", "watch.complete_ms=600"}, 1, [&] {
    auto bytes = [&](int v) { return test::read_text(mosaic_name(d / "stage2", 2, v)); };
    auto pause = [] { std::this_thread::sleep_for(60ms); };
    // 1: renamed into place; 2: written in three chunks, as over a share; 4 before 3; 9 cut short for good.
    std::ofstream(w / "incoming.part", std::ios::binary) << bytes(1);
    std::filesystem::rename(w / "incoming.part", mosaic_name(w, 2, 1));
    pause();
    {
      const std::string b = bytes(2);
      std::ofstream out(mosaic_name(w, 2, 2), std::ios::binary);
      for (int c = 0; c < 3; ++c) {
        out << b.substr(b.size() * c / 3, b.size() * (c + 1) / 3 - b.size() * c / 3) << std::flush;
        std::this_thread::sleep_for(100ms);
      }
    }
    for (int v : {4, 3, 5, 6, 7, 8}) {
      std::ofstream(mosaic_name(w, 2, v), std::ios::binary) << bytes(v);
      pause();
    }
    std::ofstream(mosaic_name(w, 2, 9), std::ios::binary) << bytes(9).substr(0, bytes(9).size() / 2);
    std::ofstream(w / "scanner.log") << "a text file mid-run";
    std::this_thread::sleep_for(800ms);  // past watch.complete_ms: 9 is given up within the run
    for (int v : {10, 11, 12}) {
      std::ofstream(mosaic_name(w, 2, v), std::ios::binary) << bytes(v);
      pause();
    }
  });
  Received& r = *received;
  REQUIRE(r.by_run.size() == 1);
  REQUIRE(r.by_run.count("series-2") == 1);
  const auto& got = r.by_run["series-2"];
  std::vector<int64_t> indices;
  for (const Tr* tr : got) indices.push_back(tr->index);
  CHECK(indices == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11});
  for (const Tr* tr : got) {
    CAPTURE(tr->index);
    CHECK(tr->volume.data == as_exported(nifti, tr->index));
    CHECK(tr->tr_s == 1.5);
  }
  REQUIRE(r.ends.size() == 1);
  CHECK(r.ends[0].ended_by == "count");
  CHECK(r.ends[0].missing == 1);
  const auto s = nlohmann::json::parse(r.ends[0].summary_json);
  CHECK(s["dropped"]["incomplete"] == 1);
  CHECK(s["reordered"].get<int64_t>() >= 1);
  CHECK(s["complete"] == false);
}

TEST_CASE("hyper bridge -> hyper stream over tcp loopback gives the record hyper stream --watch gives") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  make_mosaics(d, file.path, d / "stage", 5, 8);
  test::random_decoder_file(file, "[\"mask\"]", d / "dec.safetensors");
  // Files there before the watcher's first listing belong to an earlier series: deliver once it listens.
  auto deliver = [&](const std::filesystem::path& w, const std::filesystem::path& log, const std::string& ready) {
    for (int i = 0; i < 600 && test::read_text(log).find(ready) == std::string::npos; ++i) std::this_thread::sleep_for(50ms);
    for (int v = 1; v <= 8; ++v) {
      std::filesystem::copy_file(mosaic_name(d / "stage", 5, v), mosaic_name(w, 5, v));
      std::this_thread::sleep_for(50ms);
    }
  };
  std::filesystem::create_directories(d / "wa");
  std::filesystem::create_directories(d / "wb");
  const std::string dec = (d / "dec.safetensors").string();
  {
    test::Process watch(test::hyper_cmd({"stream", "--watch", (d / "wa").string(), "--tr", "1.5", "--run-volumes", "8", "--decoder", dec,
                                         "--out", (d / "a").string(), "--runs", "1"}),
                        d / "a.log");
    deliver(d / "wa", d / "a.log", "listening to the export folder");
    CHECK(watch.wait(60s) == 0);
  }
  {
    const int port = test::free_tcp_port();
    test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--decoder", dec, "--out", (d / "b").string(),
                                          "--runs", "1"}),
                         d / "b.log");
    test::Process bridge(test::hyper_cmd({"bridge", "--watch", (d / "wb").string(), "--tr", "1.5", "--run-volumes", "8", "--endpoint",
                                          test::loopback(port), "--runs", "1"}),
                         d / "bridge.log");
    deliver(d / "wb", d / "bridge.log", "bridge: the export folder");
    CHECK(bridge.wait(60s) == 0);
    CHECK(stream.wait(60s) == 0);
  }
  const std::string logs = test::read_text(d / "a.log") + test::read_text(d / "b.log") + test::read_text(d / "bridge.log");
  INFO(logs);
  const auto a = nlohmann::json::parse(test::read_text(d / "a/series-5/summary.json"));
  const auto b = nlohmann::json::parse(test::read_text(d / "b/series-5/summary.json"));
  CHECK(a["received"] == 8);
  CHECK(b["received"] == 8);
  CHECK(a["complete"] == true);
  CHECK(b["complete"] == true);
  CHECK(a["decoded"] == 8);
  CHECK(test::read_text(d / "a/series-5/latents.npy") == test::read_text(d / "b/series-5/latents.npy"));  // the same volumes, bit for bit
}

TEST_CASE("a watched folder of 3D NIfTI files, one a volume: numbered in order, gzipped or not, values and affine kept") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  const NiftiRun nifti = read_nifti(file.path);
  // Written by nibabel, one 3D file a volume (as some export tools do), into a staging folder.
  REQUIRE(test::run({test::python(), "-c",
                     "import nibabel as nib, numpy as np, os\n"
                     "img = nib.load('" + file.path.string() + "')\n"
                     "d = np.asanyarray(img.dataobj)\n"
                     "os.makedirs('" + (d / "stage").string() + "')\n"
                     "for t in range(6):\n"
                     "    ext = '.nii.gz' if t % 2 else '.nii'\n"
                     "    nib.save(nib.Nifti1Image(d[..., t], img.affine, img.header), '" + (d / "stage").string() + "/vol%04d%s' % (t + 1, ext))\n"},
                    d / "nii.log") == 0);
  const auto w = d / "export";
  std::filesystem::create_directories(w);
  // A 3D file has no TR of its own: stream.tr.
  const auto received = run_source("watch", {"watch.dir=" + w.string(), "stream.run_volumes=6", "stream.tr=1.5"}, 1, [&] {
    for (int t = 1; t <= 6; ++t) {
      const std::string name = fmt::format("vol{:04d}{}", t, (t - 1) % 2 ? ".nii.gz" : ".nii");
      std::filesystem::copy_file(d / "stage" / name, w / name);
      std::this_thread::sleep_for(40ms);
    }
  });
  Received& r = *received;
  REQUIRE(r.by_run.count("nifti") == 1);
  const auto& got = r.by_run["nifti"];
  REQUIRE(got.size() == 6);
  for (size_t k = 0; k < got.size(); ++k) {
    CAPTURE(k);
    CHECK(got[k]->index == static_cast<int64_t>(k));
    // The file's own values (nibabel chose each file's scaling when it wrote it).
    const NiftiRun one = read_nifti(d / "stage" / fmt::format("vol{:04d}{}", k + 1, k % 2 ? ".nii.gz" : ".nii"));
    CHECK(got[k]->volume.data == one.volume(0).data);
    for (size_t i = 0; i < 16; ++i) CHECK(got[k]->volume.affine[i] == doctest::Approx(nifti.info.affine[i]));
    CHECK(got[k]->tr_s == doctest::Approx(1.5));
  }
  CHECK(r.ends.at(0).ended_by == "count");
}

TEST_CASE("hyper stream --out records every volume as received as a BIDS run: nibabel reads it during the run, after a kill, and at the end") {
  test::TempDir d;
  const RunFile file = test::small_twin(d);
  // What nibabel reads of a recording, compared with the replayed run's first volumes:
  // "VOLUMES MAXDIFF AFFINE_MAXDIFF".
  auto check = [&](const std::filesystem::path& recording) {
    REQUIRE(test::run({test::python(), "-c",
                       "import nibabel as nib, numpy as np, sys\n"
                       "r = nib.load('" + recording.string() + "'); s = nib.load('" + file.path.string() + "')\n"
                       "a = np.asarray(r.dataobj, dtype=np.float32)\n"
                       "a = a[..., None] if a.ndim == 3 else a\n"
                       "n = a.shape[3]\n"
                       "b = s.get_fdata()[..., :n].astype(np.float32)\n"
                       "print(n, float(np.abs(a - b).max()), float(np.abs(r.affine - s.affine).max()))\n"},
                      d / "nib.log") == 0);
    std::istringstream in(test::read_text(d / "nib.log"));
    int64_t n = 0;
    double diff = 1, affine = 1;
    in >> n >> diff >> affine;
    CHECK(diff == 0.0);
    CHECK(affine < 1e-4);
    return n;
  };
  const auto func = d / "out/sub-01/func";
  const int port = test::free_tcp_port();
  // Killed mid-run: what is on disk is a valid NIfTI of the volumes received so far.
  {
    test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port), "--out", (d / "out").string(), "--set",
                                          "preprocess.chain=[\"realign\"]"}),  // realign changes volumes in place: the recording must not see it
                         d / "stream.log");
    test::Process replay(test::hyper_cmd({"replay", "--input", file.path.string(), "--endpoint", test::loopback(port), "--speed", "10",
                                          "--count", "40"}),
                         d / "replay.log");
    const auto nii = func / "sub-01_task-faces_run-01_bold.nii";
    for (int i = 0; i < 400 && !(std::filesystem::exists(nii) && std::filesystem::file_size(nii) > 352 + 5 * 32 * 32 * 16 * 4); ++i)
      std::this_thread::sleep_for(25ms);
    const int64_t during = check(nii);  // while it grows
    CHECK(during >= 5);
    stream.signal(SIGKILL);
    stream.wait(10s);
    replay.signal(SIGINT);
    replay.wait(30s);
    const int64_t after_kill = check(nii);
    CHECK(after_kill >= during);
    CHECK(after_kill < 40);
  }
  // A whole run: gzipped at its end, the sidecar complete, the next run number.
  {
    const int port2 = test::free_tcp_port();
    test::Process stream(test::hyper_cmd({"stream", "--endpoint", test::loopback(port2), "--out", (d / "out").string(), "--runs", "1",
                                          "--set", "preprocess.chain=[\"realign\"]"}),
                         d / "stream2.log");
    REQUIRE(test::run(test::hyper_cmd({"replay", "--input", file.path.string(), "--endpoint", test::loopback(port2), "--speed", "max",
                                       "--count", "20"}),
                      d / "replay2.log") == 0);
    REQUIRE(stream.wait(60s) == 0);
  }
  CHECK(std::filesystem::exists(func / "sub-01_task-faces_run-01_bold.nii"));  // the killed one stays as it was
  CHECK(check(func / "sub-01_task-faces_run-02_bold.nii.gz") == 20);
  CHECK(!std::filesystem::exists(func / "sub-01_task-faces_run-02_bold.nii"));
  const auto side = nlohmann::json::parse(test::read_text(func / "sub-01_task-faces_run-02_bold.json"));
  CHECK(side["RepetitionTime"] == 1.5);
  CHECK(side["TaskName"] == "faces");
  CHECK(side["HyperRT"]["recording_complete"] == true);
  CHECK(side["HyperRT"]["t_recv_ns"].size() == 20);
  CHECK(side["HyperRT"]["missing_volumes"].empty());
}

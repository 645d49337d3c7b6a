// Writes the fuzz targets' seed inputs (tests/fuzz/corpus/<target>/), each a small valid
// input made by the project's own writers, so the fuzzers start from what parses:
//   hyper_fuzz_seeds OUT_DIR       (tools/fuzz --seeds regenerates them; they are committed)
// The DICOM seed is made by tests/integration/make_mosaic.py (pydicom), as the tests make theirs.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <spdlog/fmt/fmt.h>

#include "decoders/decoder.hpp"
#include "io/files.hpp"
#include "io/nifti.hpp"
#include "io/npy.hpp"
#include "io/safetensors.hpp"
#include "net/protocol.hpp"

using namespace hyper;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::string& bytes) {
  ensure_dir(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string frames(std::initializer_list<std::string> parts) {  // as tests/fuzz/targets.cpp splits them
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : std::string("\x00|\xff|", 4)) + p;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hyper_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  // hyper1: a volume (2x2x2 int16), run_start, run_end, a heartbeat.
  VolumeHeader h;
  h.run = "run-01";
  h.index = 3;
  h.n_volumes = 10;
  h.tr_s = 1.5;
  h.dims = {2, 2, 2};
  h.voxel_mm = {3, 3, 3};
  h.dtype = DType::Int16;
  h.scl_slope = 2;
  h.affine = diagonal_affine(h.voxel_mm);
  const std::string payload(16, '\x01');
  h.payload_bytes = payload.size();
  put(out / "hyper1/volume", frames({"vol", encode_volume_header(h), payload}));
  put(out / "hyper1/run_start", frames({"ctl", encode_control({.type = ControlType::RunStart, .run = "run-01", .count = 10, .tr_s = 1.5})}));
  put(out / "hyper1/run_end", frames({"ctl", encode_control({.type = ControlType::RunEnd, .run = "run-01", .volumes_sent = 10})}));
  put(out / "hyper1/heartbeat", frames({"ctl", encode_control({.type = ControlType::Heartbeat, .seq = 7})}));
  // nifti: NIfTI-1 and NIfTI-2, 3x2x2x2 int16 and float32.
  ensure_dir(out / "nifti");
  for (const int version : {1, 2}) {
    NiftiInfo info;
    info.dims = {3, 2, 2, 2};
    info.voxel_mm = {2, 2, 3};
    info.affine = diagonal_affine(info.voxel_mm);
    info.tr_s = 1.5;
    info.dtype = version == 1 ? DType::Int16 : DType::Float32;
    info.version = version;
    const std::vector<std::byte> data(24 * dtype_size(info.dtype), std::byte{2});
    write_nifti(out / fmt::format("nifti/v{}.nii", version), info, data);
  }
  // npy: float32 2x3, int64 4.
  ensure_dir(out / "npy");
  write_npy(out / "npy/f32.npy", {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  write_npy(out / "npy/i64.npy", {4}, std::vector<int64_t>{1, 2, 3, 4});
  // safetensors: two tensors and metadata.
  ensure_dir(out / "safetensors");
  TensorFile f;
  const float w[6] = {1, 2, 3, 4, 5, 6};
  const int64_t ix[2] = {7, 8};
  f.tensors["w"] = tensor_f32({2, 3}, w);
  f.tensors["ix"] = tensor_i64({2}, ix);
  f.metadata["format"] = "fuzz";
  write_safetensors(out / "safetensors/two.safetensors", f);
  // decoder: 3 voxels of a 2x2x2 grid.
  Decoder d;
  d.dims = {2, 2, 2};
  d.tr_s = 1.5;
  d.voxels = {0, 3, 5};
  d.feature_mean = {0, 0, 0};
  d.feature_sd = {1, 1, 1};
  d.weights = Eigen::MatrixXf::Constant(3, 512, 0.01f);
  d.intercept = Eigen::VectorXf::Zero(512);
  d.mode = "tr";
  d.preprocessing = "[preprocess]\nchain = [\"mask\"]\n";
  ensure_dir(out / "decoder");
  save_decoder(out / "decoder/small.safetensors", d);
  // settings: a file of every type, and --set lines.
  put(out / "settings/file.toml", "[a]\nflag = true\ncount = 5\nspeed = \"max\"\nmode = \"tr\"\n[b]\nname = \"x\"\nchain = [\"mask\", \"detrend\"]\n"
                                  "[[run]]\nkind = \"present\"\n");
  put(out / "settings/sets", "a.count=7\na.speed=2.5\nb.chain=[\"a\",\"b\"]\nb.name=tcp://127.0.0.1:5555\n");
  // pyneal: the JSON header, a newline, the payload (2x2x2 int16).
  put(out / "pyneal/volume", R"({"volIdx": 0, "dtype": "int16", "shape": [2, 2, 2], "affine": "[[3,0,0,0],[0,3,0,0],[0,0,3,0],[0,0,0,1]]", "TR": 1500})"
                             "\n" + std::string(16, '\x02'));
  std::printf("seeds written to %s\n", out.c_str());
  return 0;
}

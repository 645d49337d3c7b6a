#pragma once
// The tensors of a PGGAN generator in our weights file (format "hyper-pggan/1"): genforce's
// names and shapes (design/pggan.md), stored as trained (unscaled; the equalised-learning-
// rate scale is folded in at load). Block i (resolution 4 * 2^i) has layer{2i} and
// layer{2i+1} and the toRGB output{i}; layer0 is the dense 4x4 layer stored as a 4x4 conv.

#include <cstdint>
#include <string>
#include <vector>

namespace hyper {

struct PgganTensor {
  std::string name;
  std::vector<int64_t> shape;
  double gain = 0;     // the equalised-learning-rate gain (0 for biases)
  int64_t fan_in = 0;  // and fan-in: scale = gain / sqrt(fan_in)
};

// The official channel counts for a maximum resolution: min(16384 / res, 512) per level.
std::vector<int64_t> pggan_official_channels(int max_resolution);

// Every tensor of a generator with these channel counts (one per level from 4x4).
std::vector<PgganTensor> pggan_layout(const std::vector<int64_t>& channels, int64_t latent_dim = 512);

}  // namespace hyper

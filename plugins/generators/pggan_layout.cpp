#include "generators/pggan_layout.hpp"

#include <algorithm>
#include <cmath>

namespace hyper {

std::vector<int64_t> pggan_official_channels(int max_resolution) {
  std::vector<int64_t> c;
  for (int res = 4; res <= max_resolution; res *= 2) c.push_back(std::min(16384 / res, 512));
  return c;
}

std::vector<PgganTensor> pggan_layout(const std::vector<int64_t>& channels, int64_t latent_dim) {
  const double lrelu_gain = std::sqrt(2.0);
  std::vector<PgganTensor> t;
  auto conv = [&](const std::string& name, int64_t out, int64_t in, int64_t k, double gain) {
    t.push_back({name + ".conv.weight", {out, in, k, k}, gain, in * k * k});
    t.push_back({name + ".wscale.bias", {out}, 0, 0});
  };
  for (size_t i = 0; i < channels.size(); ++i) {
    const int64_t c = channels[i];
    const std::string a = "layer" + std::to_string(2 * i), b = "layer" + std::to_string(2 * i + 1);
    if (i == 0) conv(a, c, latent_dim, 4, lrelu_gain);  // dense: fan-in latent x 16 with gain sqrt(2)
    else conv(a, c, channels[i - 1], 3, lrelu_gain);    // (= the official fan-in 512, gain sqrt(2)/4)
    conv(b, c, c, 3, lrelu_gain);
    conv("output" + std::to_string(i), 3, c, 1, 1.0);
  }
  return t;
}

}  // namespace hyper

#pragma once
// Image similarity as the HYPER paper measured it (README, "hyper eval"): on grayscale
// (luminance) images, Pearson correlation and SSIM (Wang et al. 2004: Gaussian window,
// sigma 1.5, 11 wide, K1 0.01, K2 0.03, population covariances, the mean over the image
// less a 5-pixel border: scikit-image's structural_similarity with gaussian_weights=True,
// use_sample_covariance=False). Used by `hyper eval` (plugins/eval/evaluation).

#include <cstdint>
#include <vector>

namespace hyper {

// A grayscale image, row-major.
struct Gray {
  int width = 0, height = 0;
  std::vector<double> v;
};

// ITU-R BT.601 luma of 8-bit RGB (3 bytes per pixel), in [0, 1].
Gray luminance(const std::vector<uint8_t>& rgb, int width, int height);

// Resampling with a triangle filter widened by the shrink factor (PIL's BILINEAR: plain
// bilinear when enlarging, antialiased when shrinking a 1024-pixel face to 224).
Gray resize(const Gray& g, int width, int height);
// The same for 8-bit RGB (3 bytes per pixel), channel by channel.
std::vector<uint8_t> resize_rgb(const std::vector<uint8_t>& rgb, int width, int height, int to_width, int to_height);

// Nearest-neighbour resampling of 8-bit RGB as PIL's NEAREST does it (what Keras' load_img
// with a target_size does, hence what the paper's feature network saw): source pixel
// int(s/2 + k s) for output pixel k, s = in / out, the sum accumulated as PIL accumulates it.
std::vector<uint8_t> resize_rgb_nearest(const std::vector<uint8_t>& rgb, int width, int height, int to_width, int to_height);

double pearson(const Gray& a, const Gray& b);

// An image with the Gaussian-window statistics SSIM needs of it alone, computed once when
// one image is compared with many (each pair then filters only the product).
struct SsimImage {
  Gray g;
  std::vector<double> mu, mean_sq;  // windowed mean and windowed mean of the square
};
SsimImage prepare_ssim(const Gray& g);

// Mean SSIM; throws std::invalid_argument for different sizes or images under 11 x 11.
double ssim(const SsimImage& a, const SsimImage& b, double data_range = 1.0);
double ssim(const Gray& a, const Gray& b, double data_range = 1.0);

// SSIM as the paper's main.py called scikit-image, structural_similarity(a, b,
// multichannel=True) with its defaults, on 8-bit RGB (3 bytes per pixel): per channel, a 7 x 7
// uniform window, sample covariances (x 49/48), data range 255, K1 0.01, K2 0.03, the mean
// over the image less a 3-pixel border; then the mean of the three channels. Throws
// std::invalid_argument for different sizes or images under 7 x 7.
double ssim_rgb_uniform(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int width, int height);

}  // namespace hyper

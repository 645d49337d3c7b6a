#pragma once
// PNG files (stb_image): written atomically (a reader never sees half a file), read as RGB;
// and JPEG bytes for the dashboard (several times faster to make than a PNG).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hyper {

// 8-bit RGB, row-major, 3 bytes per pixel, as the bytes of a PNG file.
std::string encode_png(int width, int height, const std::vector<uint8_t>& rgb);
// ... as the bytes of a JPEG file (quality 1..100).
std::string encode_jpeg(int width, int height, const std::vector<uint8_t>& rgb, int quality = 85);
// The PNG written to a file. Throws naming the file.
void write_png(const std::filesystem::path& path, int width, int height, const std::vector<uint8_t>& rgb);

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};
RgbImage read_png(const std::filesystem::path& path);  // any PNG as 8-bit RGB; throws naming the file

}  // namespace hyper

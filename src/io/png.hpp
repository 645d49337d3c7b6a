#pragma once
// PNG writing (stb_image_write), atomically: a reader never sees half a file.

#include <cstdint>
#include <filesystem>
#include <vector>

namespace hyper {

// 8-bit RGB, row-major, 3 bytes per pixel. Throws naming the file.
void write_png(const std::filesystem::path& path, int width, int height, const std::vector<uint8_t>& rgb);

}  // namespace hyper

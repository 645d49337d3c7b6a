#include "io/png.hpp"

#include <stdexcept>
#include <string>

#include <stb_image.h>
#include <stb_image_write.h>

#include "io/files.hpp"

namespace hyper {

namespace {

void check_rgb(int width, int height, const std::vector<uint8_t>& rgb, const char* what) {
  if (width <= 0 || height <= 0 || rgb.size() != static_cast<size_t>(width) * static_cast<size_t>(height) * 3)
    throw std::invalid_argument(std::string(what) + " encoding: " + std::to_string(rgb.size()) + " bytes are not a " +
                                std::to_string(width) + "x" + std::to_string(height) + " RGB image");
}

void append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

}  // namespace

std::string encode_png(int width, int height, const std::vector<uint8_t>& rgb) {
  check_rgb(width, height, rgb, "PNG");
  std::string bytes;
  if (!stbi_write_png_to_func(append, &bytes, width, height, 3, rgb.data(), width * 3)) throw std::runtime_error("PNG encoding failed");
  return bytes;
}

std::string encode_jpeg(int width, int height, const std::vector<uint8_t>& rgb, int quality) {
  check_rgb(width, height, rgb, "JPEG");
  std::string bytes;
  if (!stbi_write_jpg_to_func(append, &bytes, width, height, 3, rgb.data(), quality)) throw std::runtime_error("JPEG encoding failed");
  return bytes;
}

void write_png(const std::filesystem::path& path, int width, int height, const std::vector<uint8_t>& rgb) {
  std::string bytes;
  try {
    bytes = encode_png(width, height, rgb);
  } catch (const std::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
  write_file_atomic(path, bytes);
}

RgbImage read_png(const std::filesystem::path& path) {
  RgbImage img;
  int channels = 0;
  unsigned char* px = stbi_load(path.c_str(), &img.width, &img.height, &channels, 3);
  if (!px) throw std::runtime_error(path.string() + ": not a readable image (" + stbi_failure_reason() + ")");
  img.rgb.assign(px, px + static_cast<size_t>(img.width) * static_cast<size_t>(img.height) * 3);
  stbi_image_free(px);
  return img;
}

}  // namespace hyper

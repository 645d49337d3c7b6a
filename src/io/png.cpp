#include "io/png.hpp"

#include <stdexcept>
#include <string>

#include <stb_image_write.h>

#include "io/files.hpp"

namespace hyper {

void write_png(const std::filesystem::path& path, int width, int height, const std::vector<uint8_t>& rgb) {
  std::string bytes;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &bytes, width, height, 3, rgb.data(), width * 3))
    throw std::runtime_error(path.string() + ": PNG encoding failed");
  write_file_atomic(path, bytes);
}

}  // namespace hyper

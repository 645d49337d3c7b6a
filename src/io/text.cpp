#include "io/text.hpp"

#include <math.h>  // before stb_easy_font.h, which includes it inside the namespace below
#include <stdlib.h>

#include <algorithm>

namespace stb {
#include <stb_easy_font.h>
}

namespace hyper {

namespace {
// stb_easy_font draws ASCII 32-126 (its table has nothing else): the rest shows as '?'.
std::string printable(std::string s) {
  for (char& c : s)
    if (c != '\n' && (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126)) c = '?';
  return s;
}
}  // namespace

std::vector<TextRect> text_rects(const std::string& s, int x, int y, int scale) {
  std::vector<char> buffer(std::max<size_t>(1024, s.size() * 300));  // stb_easy_font: ~270 bytes a character at most
  std::string copy = printable(s);
  const int quads = stb::stb_easy_font_print(0, 0, copy.data(), nullptr, buffer.data(), static_cast<int>(buffer.size()));
  std::vector<TextRect> rects(static_cast<size_t>(quads));
  const auto* v = reinterpret_cast<const float*>(buffer.data());  // 4 vertices of x, y, z, colour (16 bytes) per quad
  for (int q = 0; q < quads; ++q) {
    const float* a = v + q * 16;
    const float* c = a + 8;  // the opposite corner
    rects[static_cast<size_t>(q)] = {x + scale * static_cast<int>(a[0]), y + scale * static_cast<int>(a[1]),
                                     scale * static_cast<int>(c[0] - a[0]), scale * static_cast<int>(c[1] - a[1])};
  }
  return rects;
}

int text_width(const std::string& s, int scale) {
  std::string copy = printable(s);
  return scale * stb::stb_easy_font_width(copy.data());
}

void draw_text(std::vector<uint8_t>& rgb, int width, int height, int x, int y, const std::string& s,
               std::array<uint8_t, 3> colour, int scale) {
  for (const TextRect& r : text_rects(s, x, y, scale))
    for (int yy = std::max(0, r.y); yy < std::min(height, r.y + r.h); ++yy)
      for (int xx = std::max(0, r.x); xx < std::min(width, r.x + r.w); ++xx)
        std::copy(colour.begin(), colour.end(), rgb.begin() + (static_cast<std::ptrdiff_t>(yy) * width + xx) * 3);
}

}  // namespace hyper

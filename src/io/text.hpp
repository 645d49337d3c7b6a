#pragma once
// Text as filled rectangles (stb_easy_font: no font file to ship or find), for the HUD on
// screen and for the labels of the pictures HYPER-RT writes (contact sheets).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hyper {

struct TextRect {
  int x = 0, y = 0, w = 0, h = 0;
};

// The rectangles that draw `s` with its top-left corner at (x, y): about 6 px a character
// and 12 px a line, times `scale`.
std::vector<TextRect> text_rects(const std::string& s, int x = 0, int y = 0, int scale = 1);
int text_width(const std::string& s, int scale = 1);

// Draws `s` into an RGB image (width x height, 3 bytes a pixel), clipped to it.
void draw_text(std::vector<uint8_t>& rgb, int width, int height, int x, int y, const std::string& s,
               std::array<uint8_t, 3> colour, int scale = 1);

}  // namespace hyper

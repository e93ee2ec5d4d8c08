#pragma once
// A small RGB raster for the examples' pictures: paste tiles into grids,
// draw labels (stb_easy_font's quads) and save as PNG (stb_image_write, from
// Debian's libstb-dev). Nothing here is an encoder of our own.

#include <cstdint>
#include <string>
#include <vector>

namespace voxgrad::examples {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

inline constexpr Rgb kWhite{255, 255, 255};
inline constexpr Rgb kBlack{0, 0, 0};

class Image {
 public:
  Image() = default;
  /// width x height pixels of colour `fill`; sizes must be >= 1.
  Image(int width, int height, Rgb fill = kWhite);

  int width() const {
    return width_;
  }
  int height() const {
    return height_;
  }
  Rgb get(int x, int y) const;
  /// Ignores pixels outside the image (handy for clipped drawing).
  void set(int x, int y, Rgb c);
  void fill_rect(int x, int y, int w, int h, Rgb c);
  /// Copies `src` with its top-left corner at (x, y), clipped.
  void paste(const Image& src, int x, int y);
  /// Nearest-neighbour enlargement by an integer factor >= 1.
  Image scaled(int factor) const;
  /// Draws `text` (ASCII) with its top-left at (x, y), `scale` pixels per
  /// font unit (the font is ~7 units tall).
  void draw_text(int x, int y, const std::string& text, Rgb c, int scale = 1);
  /// Width in pixels of `text` drawn at `scale`.
  static int text_width(const std::string& text, int scale = 1);

  const uint8_t* data() const {
    return pixels_.data();
  }

 private:
  int width_ = 0, height_ = 0;
  std::vector<uint8_t> pixels_;  // row-major RGB
};

/// Tiles laid out row by row, `columns` per row, `gap` pixels apart on a
/// background of `bg`; every tile must have the size of the first.
Image tile_grid(
    const std::vector<Image>& tiles, int columns, int gap, Rgb bg = kWhite);

/// Writes a PNG atomically (voxgrad::AtomicFile); throws voxgrad::Error
/// naming the path and the reason when it cannot, leaving any previous file.
void write_png(const std::string& path, const Image& image);

}  // namespace voxgrad::examples

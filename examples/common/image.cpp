#include "image.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>

#include "voxgrad/core/atomic_file.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/quote.hpp"

// stb is C written for many compilers; its headers are not clean under our
// warning set (-Wold-style-cast, -Wcast-align, ...), so silence it here only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-function"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO_WARNINGS
#include <stb/stb_easy_font.h>
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace voxgrad::examples {

Image::Image(int width, int height, Rgb fill) : width_(width), height_(height) {
  VOXGRAD_CHECK(
      width >= 1 && height >= 1, "Image: width and height must be >= 1 (got ",
      width, " x ", height, ")");
  pixels_.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = fill.r;
    pixels_[i + 1] = fill.g;
    pixels_[i + 2] = fill.b;
  }
}

Rgb Image::get(int x, int y) const {
  VOXGRAD_ASSERT(x >= 0 && x < width_ && y >= 0 && y < height_);
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width_) +
                    static_cast<size_t>(x)) *
                   3;
  return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
}

void Image::set(int x, int y, Rgb c) {
  if (x < 0 || x >= width_ || y < 0 || y >= height_)
    return;
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width_) +
                    static_cast<size_t>(x)) *
                   3;
  pixels_[i] = c.r;
  pixels_[i + 1] = c.g;
  pixels_[i + 2] = c.b;
}

void Image::fill_rect(int x, int y, int w, int h, Rgb c) {
  for (int yy = std::max(y, 0); yy < std::min(y + h, height_); ++yy)
    for (int xx = std::max(x, 0); xx < std::min(x + w, width_); ++xx)
      set(xx, yy, c);
}

void Image::paste(const Image& src, int x, int y) {
  for (int yy = 0; yy < src.height(); ++yy)
    for (int xx = 0; xx < src.width(); ++xx)
      set(x + xx, y + yy, src.get(xx, yy));
}

Image Image::scaled(int factor) const {
  VOXGRAD_CHECK(
      factor >= 1, "Image::scaled: factor must be >= 1 (got ", factor, ")");
  Image out(width_ * factor, height_ * factor);
  for (int y = 0; y < out.height(); ++y)
    for (int x = 0; x < out.width(); ++x)
      out.set(x, y, get(x / factor, y / factor));
  return out;
}

void Image::draw_text(int x, int y, const std::string& text, Rgb c, int scale) {
  // stb_easy_font emits axis-aligned quads (4 vertices of 16 bytes: x, y, z
  // floats and 4 colour bytes); filling each quad's box draws the glyphs.
  std::string buf = text;
  std::vector<char> verts(buf.size() * 300 + 64);
  const int quads = stb_easy_font_print(
      0, 0, buf.data(), nullptr, verts.data(), static_cast<int>(verts.size()));
  for (int q = 0; q < quads; ++q) {
    float v[4][4];
    std::copy_n(verts.data() + q * 64, 64, reinterpret_cast<char*>(v));
    const int x0 = static_cast<int>(v[0][0]) * scale;
    const int y0 = static_cast<int>(v[0][1]) * scale;
    const int x1 = static_cast<int>(v[2][0]) * scale;
    const int y1 = static_cast<int>(v[2][1]) * scale;
    fill_rect(x + x0, y + y0, x1 - x0, y1 - y0, c);
  }
}

int Image::text_width(const std::string& text, int scale) {
  std::string buf = text;
  return stb_easy_font_width(buf.data()) * scale;
}

Image tile_grid(const std::vector<Image>& tiles, int columns, int gap, Rgb bg) {
  VOXGRAD_CHECK(!tiles.empty(), "tile_grid: no tiles");
  VOXGRAD_CHECK(
      columns >= 1, "tile_grid: columns must be >= 1 (got ", columns, ")");
  const int tw = tiles[0].width(), th = tiles[0].height();
  const int n = static_cast<int>(tiles.size());
  const int rows = (n + columns - 1) / columns;
  const int cols = std::min(columns, n);
  Image out(cols * tw + (cols + 1) * gap, rows * th + (rows + 1) * gap, bg);
  for (int i = 0; i < n; ++i) {
    const Image& t = tiles[static_cast<size_t>(i)];
    VOXGRAD_CHECK(
        t.width() == tw && t.height() == th, "tile_grid: tile ", i, " is ",
        t.width(), " x ", t.height(), ", expected ", tw, " x ", th,
        " like tile 0");
    out.paste(
        t, gap + (i % columns) * (tw + gap), gap + (i / columns) * (th + gap));
  }
  return out;
}

void write_png(const std::string& path, const Image& image) {
  // stb encodes into memory and hands the bytes to a callback, which writes
  // them through AtomicFile: write errors are seen (stbi_write_png's own
  // fwrite ignores them), and a failure leaves the previous picture.
  AtomicFile file(path, "write_png");
  struct Sink {
    AtomicFile* file;
    std::exception_ptr error;
  } sink{&file, nullptr};
  const int ok = stbi_write_png_to_func(
      [](void* context, void* data, int size) {
        auto* s = static_cast<Sink*>(context);
        if (s->error || size <= 0)
          return;
        try {  // no exception may unwind through stb's C frames
          s->file->write(
              {static_cast<const uint8_t*>(data), static_cast<size_t>(size)});
        } catch (...) {
          s->error = std::current_exception();
        }
      },
      &sink, image.width(), image.height(), 3, image.data(), image.width() * 3);
  if (sink.error)
    std::rethrow_exception(sink.error);
  VOXGRAD_CHECK(
      ok != 0, "write_png: cannot write ", quote(path),
      ": stb could not encode the ", image.width(), " x ", image.height(),
      " picture (out of memory?)");
  file.commit();
}

}  // namespace voxgrad::examples

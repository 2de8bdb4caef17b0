#pragma once
// Test images made at test time, with libvips itself or by hand (a PNG written with zlib),
// and the tools to look into what process_image() wrote: JPEG markers, exiftool, VmHWM.

#include "media/images.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <vips/vips.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace parley::media::test_images {

struct image_unref {
  void operator()(VipsImage* image) const { g_object_unref(image); }
};
using image_ptr = std::unique_ptr<VipsImage, image_unref>;

inline std::string vips_reason() {
  char* text = vips_error_buffer_copy();
  std::string message = text != nullptr ? text : "";
  g_free(text);
  return message;
}

/// A `width` × `height` image of `bands` 8-bit bands (3: sRGB, 4: sRGB + alpha, 1: grey) with
/// a gradient and some texture, so that JPEG has something to encode. `alpha` is the alpha
/// channel's value (of every pixel but the first row, which is opaque), when there is one.
/// `step` > 1 rounds every value down to a multiple of it: few colours, quick to save as GIF.
inline image_ptr make_image(int width, int height, int bands = 3, int alpha = 255, int seed = 0,
                            int step = 1) {
  initialise_image_library();
  std::vector<unsigned char> pixels(static_cast<std::size_t>(width) * height * bands);
  std::size_t index = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int band = 0; band < bands; ++band) {
        int value = 0;
        if (bands % 2 == 0 && band == bands - 1) {
          value = y == 0 ? 255 : alpha;
        } else if (band == 0) {
          value = x * 255 / std::max(1, width - 1);
        } else if (band == 1) {
          value = y * 255 / std::max(1, height - 1);
        } else {
          value = (x * 7 + y * 13 + seed * 31 + ((x / 8 + y / 8) % 2) * 90) % 256;
        }
        pixels[index++] = static_cast<unsigned char>(value / step * step);
      }
    }
  }
  VipsImage* raw = vips_image_new_from_memory_copy(pixels.data(), pixels.size(), width, height,
                                                   bands, VIPS_FORMAT_UCHAR);
  if (raw == nullptr) {
    throw std::runtime_error("vips_image_new_from_memory_copy: " + vips_reason());
  }
  image_ptr plain(raw);
  VipsImage* typed = nullptr;
  const auto interpretation = bands <= 2 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
  if (vips_copy(plain.get(), &typed, "interpretation", interpretation, nullptr) != 0) {
    throw std::runtime_error("vips_copy: " + vips_reason());
  }
  return image_ptr(typed);
}

/// `frames` images of one size stacked into one animation (page-height, delay, loop).
inline image_ptr make_animation(int width, int height, int frames) {
  std::vector<image_ptr> pages;
  std::vector<VipsImage*> raw;
  for (int frame = 0; frame < frames; ++frame) {
    pages.push_back(make_image(width, height, 3, 255, frame, 64));
    raw.push_back(pages.back().get());
  }
  VipsImage* joined = nullptr;
  if (vips_arrayjoin(raw.data(), &joined, frames, "across", 1, nullptr) != 0) {
    throw std::runtime_error("vips_arrayjoin: " + vips_reason());
  }
  image_ptr animation(joined);
  vips_image_set_int(animation.get(), "page-height", height);
  std::vector<int> delays(static_cast<std::size_t>(frames), 100);
  vips_image_set_array_int(animation.get(), "delay", delays.data(), frames);
  vips_image_set_int(animation.get(), "loop", 0);
  return animation;
}

inline void expect_saved(int status) {
  if (status != 0) {
    throw std::runtime_error("saving a test image: " + vips_reason());
  }
}

inline std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Keeps the first `fraction` of a file.
inline void truncate_file(const std::string& path, double fraction) {
  const auto bytes = read_file(path);
  write_file(path, bytes.substr(0, static_cast<std::size_t>(bytes.size() * fraction)));
}

/// A valid 8-bit grey PNG of `width` × `height` black pixels, written by hand: the IDAT is one
/// deflate piece for `rows_per_piece` rows (ending in a full flush, so that it stands alone),
/// repeated. A 30,000 × 30,000 PNG is then under 1 MB on disk and quick to make.
inline void write_black_png(const std::string& path, std::uint32_t width, std::uint32_t height,
                            std::uint32_t rows_per_piece) {
  if (height % rows_per_piece != 0) {
    throw std::invalid_argument("height must be a multiple of rows_per_piece");
  }
  const auto big_endian = [](std::uint32_t value) {
    return std::string{static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                       static_cast<char>(value >> 8), static_cast<char>(value)};
  };
  const auto chunk = [&big_endian](const std::string& type, const std::string& data) {
    std::string body = type + data;
    const auto crc =
        crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
    return big_endian(static_cast<std::uint32_t>(data.size())) + body +
           big_endian(static_cast<std::uint32_t>(crc));
  };

  z_stream stream{};
  if (deflateInit2(&stream, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::vector<unsigned char> raw(static_cast<std::size_t>(width + 1) * rows_per_piece, 0);
  std::vector<unsigned char> out(raw.size() + 1024);
  stream.next_in = raw.data();
  stream.avail_in = static_cast<uInt>(raw.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FULL_FLUSH);
  const std::string piece(reinterpret_cast<char*>(out.data()), out.size() - stream.avail_out);
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  const std::string last(reinterpret_cast<char*>(out.data()), out.size() - stream.avail_out);
  deflateEnd(&stream);

  // Adler-32 of n zero bytes: A = 1, B = n (mod 65521).
  const std::uint64_t total = static_cast<std::uint64_t>(width + 1) * height;
  const auto adler = static_cast<std::uint32_t>(((total % 65521) << 16) | 1);
  std::string idat = "\x78\xDA";
  for (std::uint32_t index = 0; index < height / rows_per_piece; ++index) {
    idat += piece;
  }
  idat += last + big_endian(adler);

  std::string png = "\x89PNG\r\n\x1A\n";
  png += chunk("IHDR",
               big_endian(width) + big_endian(height) + std::string("\x08\x00\x00\x00\x00", 5));
  png += chunk("IDAT", idat);
  png += chunk("IEND", "");
  write_file(path, png);
}

/// Runs a shell command; its exit status and what it printed (stdout and stderr).
struct command_result {
  int status = -1;
  std::string output;
};
inline command_result run_command(const std::string& command, const std::string& output_file) {
  const int status = std::system((command + " >" + output_file + " 2>&1").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(output_file)};
}

/// The APPn segments of a JPEG file, as (marker, first bytes of the payload).
struct jpeg_segment {
  int marker = 0;
  std::string payload;
};
inline std::vector<jpeg_segment> jpeg_app_segments(const std::string& jpeg) {
  std::vector<jpeg_segment> segments;
  if (jpeg.size() < 4 || jpeg.compare(0, 2, "\xFF\xD8") != 0) {
    throw std::runtime_error("not a JPEG");
  }
  std::size_t offset = 2;
  while (offset + 4 <= jpeg.size()) {
    if (static_cast<unsigned char>(jpeg[offset]) != 0xFF) {
      throw std::runtime_error("JPEG marker expected at " + std::to_string(offset));
    }
    const int marker = static_cast<unsigned char>(jpeg[offset + 1]);
    if (marker == 0xFF) {
      ++offset; // fill byte
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) {
      break; // start of scan: no more metadata segments before the image data
    }
    const std::size_t length = (static_cast<unsigned char>(jpeg[offset + 2]) << 8) |
                               static_cast<unsigned char>(jpeg[offset + 3]);
    if (length < 2 || offset + 2 + length > jpeg.size()) {
      throw std::runtime_error("bad JPEG segment length");
    }
    if (marker >= 0xE0 && marker <= 0xEF) {
      segments.push_back({marker, jpeg.substr(offset + 4, std::min<std::size_t>(length - 2, 32))});
    } else if (marker == 0xFE) {
      segments.push_back({marker, jpeg.substr(offset + 4, std::min<std::size_t>(length - 2, 32))});
    }
    offset += 2 + length;
  }
  return segments;
}

/// The process's peak resident set (VmHWM), in kB.
inline long peak_resident_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) {
      return std::stol(line.substr(6));
    }
  }
  throw std::runtime_error("no VmHWM in /proc/self/status");
}

} // namespace parley::media::test_images

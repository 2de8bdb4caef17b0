#include "media/images.hpp"

#include "common/log.hpp"
#include "media/sniff.hpp"

#include <spdlog/spdlog.h>

#include <vips/vips.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace parley::media {

namespace {

struct image_unref {
  void operator()(VipsImage* image) const { g_object_unref(image); }
};
using image_ptr = std::unique_ptr<VipsImage, image_unref>;

// Takes (and clears) libvips's error buffer. It is shared by every thread, so with two images
// failing at once a message may carry the other's reason too: the messages are for logs only.
std::string take_vips_error() {
  char* text = vips_error_buffer_copy();
  std::string message = text != nullptr ? text : "";
  g_free(text);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  for (char& c : message) {
    if (c == '\n') {
      c = ' ';
    }
  }
  return message.empty() ? std::string("no reason given") : message;
}

// The loaders that may run; every other one is blocked. Names checked against libvips 8.14.1
// (its GIF loader is libnsgif's, hence "Nsgif"). Blocking a class blocks its subclasses
// (…File, …Buffer, …Source).
constexpr std::array allowed_loaders{"VipsForeignLoadJpeg", "VipsForeignLoadPng",
                                     "VipsForeignLoadWebp", "VipsForeignLoadNsgif"};

// libvips reports what it gets past (a damaged tile it skipped, …) as GLib warnings on stderr:
// they go to the server's log instead, at debug level, as one structured line each.
void log_vips_message(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer) {
  const bool warning =
      (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) != 0;
  spdlog::debug("media.vips domain={} level={} message={}", domain != nullptr ? domain : "",
                warning ? "warning" : "info", log::quoted(message != nullptr ? message : ""));
}

std::once_flag started;
std::string startup_failure; // written once under `started`

void start_vips() {
  g_log_set_handler("VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK & ~G_LOG_LEVEL_ERROR),
                    log_vips_message, nullptr);
  if (vips_init("parley") != 0) {
    startup_failure = "libvips cannot start: " + take_vips_error();
    return;
  }
  vips_cache_set_max(0); // no operation cache: nothing decoded is kept after a call
  vips_cache_set_max_mem(0);
  vips_cache_set_max_files(0);
  vips_concurrency_set(1);
  vips_block_untrusted_set(TRUE);
  vips_operation_block_set("VipsForeignLoad", TRUE);
  for (const char* name : allowed_loaders) {
    vips_operation_block_set(name, FALSE);
  }
}

// Frees libvips's per-thread buffers when a job ends on one of our (non-vips) threads.
struct thread_buffers_release {
  thread_buffers_release() = default;
  thread_buffers_release(const thread_buffers_release&) = delete;
  thread_buffers_release& operator=(const thread_buffers_release&) = delete;
  ~thread_buffers_release() { vips_thread_shutdown(); }
};

std::unexpected<image_error> fail(image_error_code code, std::string message) {
  return std::unexpected(image_error{code, std::move(message)});
}

std::unexpected<image_error> vips_failure(image_error_code code, std::string_view what) {
  return fail(code, std::string(what) + ": " + take_vips_error());
}

std::optional<image_format> read_signature(const std::filesystem::path& input) {
  std::ifstream file(input, std::ios::binary);
  std::array<char, 16> head{};
  file.read(head.data(), head.size());
  return image_signature(std::string_view(head.data(), static_cast<std::size_t>(file.gcount())));
}

// Walks a GIF's blocks (screen descriptor, colour tables, extensions, images, trailer)
// without decoding anything: true when every block is whole and the trailer is there.
// libnsgif (libvips's GIF loader) decodes a GIF cut in the middle of a frame without an error,
// filling the rest in, so truncation is caught here instead.
bool gif_is_whole(const std::filesystem::path& input) {
  std::ifstream file(input, std::ios::binary);
  const std::string gif{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  const auto byte = [&gif](std::size_t at) { return static_cast<unsigned char>(gif[at]); };
  const auto colour_table = [](unsigned char flags) -> std::size_t {
    return (flags & 0x80) != 0 ? 3U * (2U << (flags & 0x07)) : 0U;
  };
  if (gif.size() < 13) {
    return false;
  }
  std::size_t at = 13 + colour_table(byte(10));
  const auto skip_sub_blocks = [&]() {
    while (at < gif.size()) {
      const std::size_t length = byte(at++);
      if (length == 0) {
        return true;
      }
      at += length;
    }
    return false;
  };
  bool any_image = false;
  while (at < gif.size()) {
    switch (byte(at++)) {
    case 0x3B: // trailer
      return any_image;
    case 0x21: // extension: label, sub-blocks
      if (++at > gif.size() || !skip_sub_blocks()) {
        return false;
      }
      break;
    case 0x2C: { // image: descriptor, local colour table, LZW code size, sub-blocks
      if (at + 9 > gif.size()) {
        return false;
      }
      at += 9 + colour_table(byte(at + 8));
      if (++at > gif.size() || !skip_sub_blocks()) {
        return false;
      }
      any_image = true;
      break;
    }
    default:
      return false;
    }
  }
  return false; // ended before the trailer
}

// Reads the header only: the pixels are decoded on first use.
image_ptr open_image(const std::filesystem::path& input, image_format format) {
  const char* path = input.c_str();
  VipsImage* image = nullptr;
  int status = -1;
  switch (format) {
  case image_format::jpeg:
    status = vips_jpegload(path, &image, "fail_on", VIPS_FAIL_ON_ERROR, nullptr);
    break;
  case image_format::png:
    status = vips_pngload(path, &image, "fail_on", VIPS_FAIL_ON_ERROR, nullptr);
    break;
  case image_format::webp: // the first frame of an animation
    status = vips_webpload(path, &image, "fail_on", VIPS_FAIL_ON_ERROR, nullptr);
    break;
  case image_format::gif: // every frame, stacked top to bottom ("page-height" tall each)
    status = vips_gifload(path, &image, "n", -1, "fail_on", VIPS_FAIL_ON_ERROR, nullptr);
    break;
  }
  if (status != 0) {
    if (image != nullptr) {
      g_object_unref(image);
    }
    return nullptr;
  }
  return image_ptr(image);
}

// Applies a libvips operation `(in, &out, …)`; null on failure (reason in the error buffer).
template <class Operation> image_ptr apply(VipsImage* in, Operation operation) {
  VipsImage* out = nullptr;
  if (operation(in, &out) != 0) {
    if (out != nullptr) {
      g_object_unref(out);
    }
    return nullptr;
  }
  return image_ptr(out);
}

// Upright, 8-bit sRGB or grey, without an alpha channel that hides nothing.
std::expected<image_ptr, image_error> normalise(image_ptr image, int pages) {
  if (pages == 1) { // EXIF orientation; the tag goes with it
    image = apply(image.get(),
                  [](VipsImage* in, VipsImage** out) { return vips_autorot(in, out, nullptr); });
    if (!image) {
      return vips_failure(image_error_code::internal, "autorotate");
    }
  }
  if (vips_image_get_typeof(image.get(), VIPS_META_ICC_NAME) != 0) {
    auto converted = apply(image.get(), [](VipsImage* in, VipsImage** out) {
      return vips_icc_transform(in, out, "srgb", "embedded", TRUE, "depth", 8, nullptr);
    });
    if (converted) {
      image = std::move(converted);
    } else {
      vips_error_clear(); // a broken profile: use the pixels as they are
    }
  }
  const VipsInterpretation interpretation = vips_image_get_interpretation(image.get());
  const bool grey =
      interpretation == VIPS_INTERPRETATION_B_W || interpretation == VIPS_INTERPRETATION_GREY16;
  image = apply(image.get(), [grey](VipsImage* in, VipsImage** out) {
    return vips_colourspace(in, out, grey ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB,
                            nullptr);
  });
  if (image && vips_image_get_format(image.get()) != VIPS_FORMAT_UCHAR) {
    image = apply(image.get(), [](VipsImage* in, VipsImage** out) {
      return vips_cast(in, out, VIPS_FORMAT_UCHAR, "shift", TRUE, nullptr);
    });
  }
  if (!image) {
    return vips_failure(image_error_code::internal, "colour conversion");
  }
  if (pages == 1 && vips_image_hasalpha(image.get())) {
    const int colour_bands = vips_image_get_bands(image.get()) - 1;
    auto alpha = apply(image.get(), [colour_bands](VipsImage* in, VipsImage** out) {
      return vips_extract_band(in, out, colour_bands, nullptr);
    });
    double minimum = 0;
    if (!alpha || vips_min(alpha.get(), &minimum, nullptr) != 0) {
      return vips_failure(image_error_code::internal, "alpha");
    }
    if (minimum >= 255) {
      image = apply(image.get(), [colour_bands](VipsImage* in, VipsImage** out) {
        return vips_extract_band(in, out, 0, "n", colour_bands, nullptr);
      });
      if (!image) {
        return vips_failure(image_error_code::internal, "alpha");
      }
    }
  }
  return image;
}

// A copy without any metadata but what an animation needs to be saved.
image_ptr without_metadata(VipsImage* in) {
  auto copy =
      apply(in, [](VipsImage* source, VipsImage** out) { return vips_copy(source, out, nullptr); });
  if (!copy) {
    return nullptr;
  }
  static constexpr std::array<std::string_view, 5> kept{"page-height", "delay", "loop", "gif-delay",
                                                        "gif-loop"};
  gchar** fields = vips_image_get_fields(copy.get());
  for (gchar** field = fields; *field != nullptr; ++field) {
    if (std::find(kept.begin(), kept.end(), std::string_view(*field)) == kept.end()) {
      vips_image_remove(copy.get(), *field); // no-op for the header's own fields (width, …)
    }
  }
  g_strfreev(fields);
  return copy;
}

enum class encoding { jpeg, png, gif };

std::string_view mime_of(encoding format) {
  switch (format) {
  case encoding::jpeg:
    return "image/jpeg";
  case encoding::png:
    return "image/png";
  case encoding::gif:
    return "image/gif";
  }
  return "application/octet-stream";
}

bool save(VipsImage* image, encoding format, const std::filesystem::path& path, int quality) {
  const char* file = path.c_str();
  switch (format) {
  case encoding::jpeg:
    return vips_jpegsave(image, file, "Q", quality, "strip", TRUE, "optimize_coding", TRUE,
                         nullptr) == 0;
  case encoding::png:
    return vips_pngsave(image, file, "strip", TRUE, "compression", 6, nullptr) == 0;
  case encoding::gif:
    return vips_gifsave(image, file, "strip", TRUE, nullptr) == 0;
  }
  return false;
}

int frame_height(VipsImage* image, int pages) {
  return vips_image_get_height(image) / pages;
}

std::expected<image_info, image_error> process(const std::filesystem::path& input,
                                               const image_limits& limits,
                                               const std::filesystem::path& output,
                                               const std::filesystem::path& thumbnail_output) {
  const auto format = read_signature(input);
  if (!format) {
    return fail(image_error_code::not_an_image, "not a JPEG, PNG, WebP or GIF image");
  }
  if (*format == image_format::gif && !gif_is_whole(input)) {
    return fail(image_error_code::undecodable, "undecodable image: truncated or malformed GIF");
  }
  image_ptr image = open_image(input, *format);
  if (!image) {
    return vips_failure(image_error_code::undecodable, "undecodable image");
  }

  // The header only so far: refuse a decompression bomb before a pixel is decoded.
  const int width = vips_image_get_width(image.get());
  const int total_height = vips_image_get_height(image.get());
  const int page_height = vips_image_get_page_height(image.get());
  const int pages =
      page_height > 0 && total_height % page_height == 0 ? total_height / page_height : 1;
  const auto pixels = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(total_height);
  if (pixels > limits.max_pixels) {
    return fail(image_error_code::over_pixel_limit,
                "over the pixel limit: " + std::to_string(width) + " x " +
                    std::to_string(total_height / pages) + " x " + std::to_string(pages) +
                    " page(s) = " + std::to_string(pixels) + " pixels, more than " +
                    std::to_string(limits.max_pixels));
  }

  // Decode every pixel once, now: a truncated or corrupt image fails here, as the client's
  // fault, and what follows reads the decoded pixels.
  double average = 0;
  if (vips_avg(image.get(), &average, nullptr) != 0) {
    return vips_failure(image_error_code::undecodable, "undecodable image (corrupt or truncated)");
  }

  auto normal = normalise(std::move(image), pages);
  if (!normal) {
    return std::unexpected(std::move(normal.error()));
  }
  image_ptr clean = without_metadata(normal->get());
  if (!clean) {
    return vips_failure(image_error_code::internal, "copy");
  }

  encoding target = encoding::png;
  if (pages > 1) {
    target = encoding::gif;
  } else if ((*format == image_format::jpeg || *format == image_format::webp) &&
             !vips_image_hasalpha(clean.get())) {
    target = encoding::jpeg;
  }
  if (!save(clean.get(), target, output, limits.jpeg_quality)) {
    return vips_failure(image_error_code::internal, "writing the image");
  }

  const int edge = limits.thumbnail_edge;
  auto thumbnail = apply(clean.get(), [edge](VipsImage* in, VipsImage** out) {
    return vips_thumbnail_image(in, out, edge, "height", edge, "size", VIPS_SIZE_DOWN, "no_rotate",
                                TRUE, nullptr);
  });
  if (!thumbnail) {
    return vips_failure(image_error_code::internal, "thumbnail");
  }
  if (!save(thumbnail.get(), target, thumbnail_output, limits.jpeg_quality)) {
    return vips_failure(image_error_code::internal, "writing the thumbnail");
  }

  image_info info;
  info.width = vips_image_get_width(clean.get());
  info.height = frame_height(clean.get(), pages);
  info.pages = pages;
  info.mime = mime_of(target);
  info.thumbnail_width = vips_image_get_width(thumbnail.get());
  info.thumbnail_height = frame_height(thumbnail.get(), pages);
  info.thumbnail_mime = info.mime;
  return info;
}

} // namespace

void initialise_image_library() {
  std::call_once(started, start_vips);
  if (!startup_failure.empty()) {
    throw std::runtime_error(startup_failure);
  }
}

std::expected<image_info, image_error>
process_image(const std::filesystem::path& input, const image_limits& limits,
              const std::filesystem::path& output, const std::filesystem::path& thumbnail_output) {
  try {
    initialise_image_library();
  } catch (const std::exception& failure) {
    return fail(image_error_code::internal, failure.what());
  }
  const thread_buffers_release release;
  auto result = process(input, limits, output, thumbnail_output);
  if (!result) {
    std::error_code ignored;
    std::filesystem::remove(output, ignored);
    std::filesystem::remove(thumbnail_output, ignored);
  }
  return result;
}

} // namespace parley::media

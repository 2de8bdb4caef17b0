#pragma once
// Decoding and re-encoding uploaded images with libvips (8.14): the only place that touches
// their pixels. Blocking and CPU-bound: run it on the media worker pool (workers.hpp), never on
// an I/O thread.
//
// Contract of process_image(input, limits, output, thumbnail_output):
//   - The format comes from the file's first bytes (sniff.hpp's signatures), never from a name;
//     anything but JPEG, PNG, WebP or GIF is `not_an_image` and never reaches libvips.
//   - libvips is initialised once (thread-safe) with every loader blocked but
//     VipsForeignLoadJpeg, VipsForeignLoadPng, VipsForeignLoadWebp and VipsForeignLoadNsgif
//     (libvips's GIF loader), and with vips_block_untrusted_set(TRUE): the ImageMagick,
//     poppler, librsvg, … loaders that Debian's libvips links can never run. The format's own
//     loader is called directly, with fail_on=error: a truncated or corrupt image fails. A GIF
//     is first walked block by block (read whole; uploads are bounded): one cut short, which
//     libnsgif would decode anyway, filling in the rest, is `undecodable`.
//   - The header alone is read first; width × height × pages (the pages that would be decoded)
//     over `limits.max_pixels` is refused (`over_pixel_limit`) before any pixel is decoded.
//   - Then every pixel is decoded once (`undecodable` if that fails), the image is rotated
//     upright by its EXIF orientation, converted to 8-bit sRGB (or 8-bit grey) through its
//     embedded ICC profile when it has one (a profile that does not work is ignored), and every
//     piece of metadata is dropped (EXIF, GPS, XMP, IPTC, ICC, comments): the saver is also
//     told to strip. An alpha channel that is opaque everywhere is dropped.
//   - Output: JPEG for JPEG input and for WebP without transparency (photos); PNG for PNG, for
//     anything with transparency and for a single-frame GIF; an animated GIF stays an animated
//     GIF (libvips's cgif saver), frames and delays kept. Animated WebP: its first frame. WebP
//     is never written (libvips's WebP saver keeps GPS even when told to strip).
//   - Thumbnail: long edge at most `limits.thumbnail_edge` (never upscaled), in the same format
//     as the output (an animated GIF's thumbnail is animated too).
//   - On failure neither output file is left behind.
// Resource bounds: libvips's operation cache is off and it uses one thread per operation; an
// image of more than 100 MB decoded is kept in a temporary file (libvips's disc threshold,
// under TMPDIR), not in memory. libvips's GLib warnings go to the log (spdlog, debug level,
// `media.vips`) instead of stderr. Thread-safe; several images may be processed at once.

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>

namespace parley::media {

struct image_limits {
  std::uint64_t max_pixels = 50'000'000; ///< width × height × pages, checked before decoding
  int thumbnail_edge = 800;              ///< long edge of the thumbnail, at most
  int jpeg_quality = 85;
};

struct image_info {
  int width = 0;    ///< after autorotation; one frame's for an animation
  int height = 0;   ///< after autorotation; one frame's for an animation
  int pages = 1;    ///< frames kept (1 unless an animated GIF)
  std::string mime; ///< of the re-encoded image: image/jpeg, image/png or image/gif
  int thumbnail_width = 0;
  int thumbnail_height = 0;
  std::string thumbnail_mime;
};

enum class image_error_code {
  not_an_image,     ///< not a JPEG, PNG, WebP or GIF signature (bad_image)
  undecodable,      ///< the loader refused it, or decoding failed: corrupt, truncated (bad_image)
  over_pixel_limit, ///< width × height × pages over the limit (bad_image)
  internal,         ///< libvips could not start, an output could not be written, …
};

struct image_error {
  image_error_code code = image_error_code::internal;
  std::string message; ///< says which of the above, with libvips's reason; for logs

  /// The client's fault: the endpoint answers `422 bad_image`.
  [[nodiscard]] bool bad_image() const { return code != image_error_code::internal; }
};

/// Initialises libvips once (see above); later calls return at once. Throws std::runtime_error
/// when libvips cannot start. process_image() calls it; a server may call it at start-up.
void initialise_image_library();

/// Decodes `input`, writes the cleaned image to `output` and its thumbnail to
/// `thumbnail_output` (both replaced if they exist). See the contract above.
[[nodiscard]] std::expected<image_info, image_error>
process_image(const std::filesystem::path& input, const image_limits& limits,
              const std::filesystem::path& output, const std::filesystem::path& thumbnail_output);

} // namespace parley::media

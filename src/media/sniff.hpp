#pragma once
// What an uploaded file is, from its bytes alone: never from its name or a declared type.
//
// Images are recognised by their signatures only (JPEG FF D8 FF; PNG's 8-byte signature;
// GIF87a / GIF89a; RIFF....WEBP); `detected::image` is set only then, and the bytes still have
// to decode (images.hpp) before they are treated as an image. Everything else is a file:
// libmagic names its type (magic_open(MAGIC_MIME_TYPE) on the first 4 KiB; compressed contents
// are not looked into), falling back to `application/octet-stream`, also when libmagic says
// image/jpeg, png, webp or gif for bytes without the signature: `mime` names one of those four
// only together with `image`. An SVG or HTML file is never an image here, whatever libmagic
// calls it (`image/svg+xml` is then a file's mime): the endpoint serves files as attachments.
//
// Thread-safe. libmagic's database is loaded once, on first use, and used under a mutex.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace parley::media {

enum class image_format { jpeg, png, webp, gif };

struct detected {
  std::optional<image_format> image; ///< Set only when the bytes carry that image's signature.
  std::string mime;                  ///< `image/jpeg`… for images; libmagic's answer otherwise.
};

/// How many leading bytes sniff() looks at; more are allowed and ignored.
inline constexpr std::size_t sniff_bytes = 4096;

/// The image format whose signature `head` starts with, or nothing. Pure; no libmagic.
[[nodiscard]] std::optional<image_format> image_signature(std::string_view head);

/// The mime type of an image format (`image/jpeg`, `image/png`, `image/webp`, `image/gif`).
[[nodiscard]] std::string_view mime_of(image_format format);

/// Detects the type of a file from its first bytes (`head`: the first sniff_bytes of the file,
/// or all of it when shorter). Throws std::runtime_error only when libmagic cannot be loaded at
/// all (a broken installation); an answer libmagic cannot give is `application/octet-stream`.
[[nodiscard]] detected sniff(std::string_view head);

} // namespace parley::media

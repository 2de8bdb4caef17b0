// Fuzz target for the media layer's parsers of untrusted input: sniff() (the bytes of an
// upload) and decode_filename() / content_disposition() (the X-Filename header). Every
// invariant that the headers promise is checked; a broken one aborts.
//
// Built twice with clang++ -fsanitize=fuzzer,address,undefined (tests/media/CMakeLists.txt):
// with PARLEY_FUZZ_FILENAME_ONLY (fast: many runs) and with PARLEY_FUZZ_SNIFF_ONLY (libmagic
// takes about a millisecond a call: fewer runs). Also linked into parley_media_test, which
// replays the seed corpus and mutations of it deterministically through media_fuzz.hpp.

#include "media_fuzz.hpp"

#include "common/text.hpp"
#include "media/filename.hpp"
#include "media/sniff.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void require(bool holds, const char* invariant, std::string_view value) {
  if (!holds) {
    std::fprintf(stderr, "media fuzz: invariant broken: %s (%zu bytes)\n", invariant, value.size());
    std::abort();
  }
}

void check_name(const std::string& name) {
  using namespace parley;
  require(text::is_valid_utf8(name), "name is valid UTF-8", name);
  require(!name.empty() && name.size() <= media::max_filename_bytes, "name is 1..255 bytes", name);
  require(name != "." && name != "..", "name is not . or ..", name);
  require(name.front() != '.' && name.front() != ' ', "no leading dot or space", name);
  require(name.find_first_of("/\\") == std::string::npos, "no / or \\", name);
  require(name.find('\0') == std::string::npos, "no NUL", name);
  require(!text::has_control_characters(name), "no C0, DEL or C1", name);
  require(!text::has_bidi_controls(name), "no bidi controls", name);
  require(media::sanitize_filename(name) == name, "sanitising is idempotent", name);
}

void check_disposition(const std::string& value) {
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    require(byte >= 0x20 && byte < 0x7F, "Content-Disposition is printable ASCII", value);
  }
  constexpr std::string_view opening = "attachment; filename=\"";
  constexpr std::string_view middle = "\"; filename*=UTF-8''";
  require(value.starts_with(opening), "disposition first", value);
  const auto closing = value.find('"', opening.size()); // the name has no quote in it
  require(closing != std::string::npos && value.compare(closing, middle.size(), middle) == 0,
          "the quoted fallback, then filename*", value);
  require(value.find('\\') == std::string::npos, "no backslash", value);
  const std::string_view encoded = std::string_view(value).substr(closing + middle.size());
  require(!encoded.empty(), "a name in filename*", value);
  constexpr std::string_view attr_chars = "!#$&+-.^_`|~";
  for (std::size_t at = 0; at < encoded.size(); ++at) {
    const char c = encoded[at];
    const bool alphanumeric =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '%') {
      const auto hex = [](char digit) {
        return (digit >= '0' && digit <= '9') || (digit >= 'A' && digit <= 'F');
      };
      require(at + 2 < encoded.size(), "a whole %XX", value);
      require(hex(encoded[at + 1]) && hex(encoded[at + 2]), "upper-case hex in %XX", value);
      at += 2;
    } else {
      require(alphanumeric || attr_chars.find(c) != std::string_view::npos,
              "only attr-chars and %XX in filename*", value);
    }
  }
}

// The signatures, spelled out again independently of sniff.cpp.
bool has_signature(std::string_view bytes, parley::media::image_format format) {
  using parley::media::image_format;
  switch (format) {
  case image_format::jpeg:
    return bytes.size() >= 3 && bytes.substr(0, 3) == "\xFF\xD8\xFF";
  case image_format::png:
    return bytes.size() >= 8 && bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1A\n", 8);
  case image_format::gif:
    return bytes.size() >= 6 && (bytes.substr(0, 6) == "GIF87a" || bytes.substr(0, 6) == "GIF89a");
  case image_format::webp:
    return bytes.size() >= 12 && bytes.substr(0, 4) == "RIFF" && bytes.substr(8, 4) == "WEBP";
  }
  return false;
}

void check_sniff(std::string_view bytes) {
  using parley::media::image_format;
  const auto found = parley::media::sniff(bytes);
  require(!found.mime.empty(), "a mime type", bytes);
  bool any_signature = false;
  for (const auto format :
       {image_format::jpeg, image_format::png, image_format::gif, image_format::webp}) {
    if (has_signature(bytes, format)) {
      any_signature = true;
      require(found.image == format, "an image is reported by its signature", bytes);
      require(found.mime == parley::media::mime_of(format), "an image's mime", bytes);
    }
  }
  if (!any_signature) {
    require(!found.image, "no image without a signature", bytes);
    require(found.mime != "image/jpeg" && found.mime != "image/png" && found.mime != "image/gif" &&
                found.mime != "image/webp",
            "no image mime without a signature", bytes);
  }
}

} // namespace

namespace parley::media::fuzz {

void check_filename_input(std::string_view input) {
  check_name(decode_filename(input));
  check_name(sanitize_filename(input));
  check_disposition(content_disposition("attachment", input));
}

void check_sniff_input(std::string_view input) {
  check_sniff(input);
}

} // namespace parley::media::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
#ifndef PARLEY_FUZZ_SNIFF_ONLY
  parley::media::fuzz::check_filename_input(input);
#endif
#ifndef PARLEY_FUZZ_FILENAME_ONLY
  parley::media::fuzz::check_sniff_input(input);
#endif
  return 0;
}

#include "media/filename.hpp"

#include "common/text.hpp"

#include <unicode/utf8.h>

#include <cstdint>
#include <utility>

namespace parley::media {

namespace {

constexpr std::string_view fallback_name = "file";
constexpr std::size_t max_kept_extension = 32;

using text::hex_value;

std::string percent_decode(std::string_view input) {
  std::string output;
  output.reserve(input.size());
  for (std::size_t index = 0; index < input.size(); ++index) {
    if (input[index] == '%' && index + 2 < input.size()) {
      const int high = hex_value(input[index + 1]);
      const int low = hex_value(input[index + 2]);
      if (high >= 0 && low >= 0) {
        output.push_back(static_cast<char>(high * 16 + low));
        index += 2;
        continue;
      }
    }
    output.push_back(input[index]); // a bad escape stays a literal '%'
  }
  return output;
}

bool is_dropped(UChar32 c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) ||      // C0, DEL, C1
         c == 0x061C || c == 0x200E || c == 0x200F || // ALM, LRM, RLM
         (c >= 0x202A && c <= 0x202E) ||              // embeddings and overrides
         (c >= 0x2066 && c <= 0x2069);                // isolates
}

void append_code_point(std::string& output, UChar32 c) {
  char buffer[U8_MAX_LENGTH];
  std::int32_t length = 0;
  U8_APPEND_UNSAFE(buffer, length, c);
  output.append(buffer, static_cast<std::size_t>(length));
}

// Length of the longest prefix of valid UTF-8 `text` that fits in `limit` bytes.
std::size_t cut_point(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) {
    return text.size();
  }
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut; // text[cut] continues a code point: cut before its lead byte
  }
  return cut;
}

// Calls `visit(code_point)` for each code point of `text`, U+FFFD for each ill-formed sequence.
template <class Visit> void for_each_code_point(std::string_view text, Visit visit) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto length = static_cast<std::int32_t>(text.size());
  std::int32_t offset = 0;
  while (offset < length) {
    UChar32 c = 0;
    U8_NEXT(bytes, offset, length, c);
    visit(c < 0 ? 0xFFFD : c);
  }
}

// RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" /
// "`" / "|" / "~".
bool is_attr_char(unsigned char c) {
  constexpr std::string_view punctuation = "!#$&+-.^_`|~";
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (c != 0 && punctuation.find(static_cast<char>(c)) != std::string_view::npos);
}

} // namespace

std::string sanitize_filename(std::string_view name) {
  std::string cleaned;
  cleaned.reserve(name.size());
  for_each_code_point(name, [&cleaned](UChar32 c) {
    if (is_dropped(c)) {
      return;
    }
    if (c == '/' || c == '\\') {
      c = '_';
    }
    if (cleaned.empty() && (c == '.' || c == ' ')) {
      return; // leading dots and spaces
    }
    append_code_point(cleaned, c);
  });

  if (cleaned.size() > max_filename_bytes) {
    const auto dot = cleaned.rfind('.');
    std::string_view extension;
    if (dot != std::string::npos && dot > 0 && cleaned.size() - dot <= max_kept_extension) {
      extension = std::string_view(cleaned).substr(dot);
    }
    const std::string_view stem =
        std::string_view(cleaned).substr(0, cleaned.size() - extension.size());
    std::string cut(stem.substr(0, cut_point(stem, max_filename_bytes - extension.size())));
    cut += extension;
    cleaned = std::move(cut);
  }
  if (cleaned.empty()) {
    return std::string(fallback_name);
  }
  return cleaned;
}

std::string decode_filename(std::string_view header_value) {
  return sanitize_filename(percent_decode(header_value));
}

std::string content_disposition(std::string_view disposition, std::string_view name) {
  static constexpr char hex[] = "0123456789ABCDEF";
  const std::string clean = sanitize_filename(name);
  std::string value = disposition == "inline" ? "inline" : "attachment";
  value += "; filename=\"";
  for_each_code_point(clean, [&value](UChar32 c) {
    const bool plain = c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '%';
    value.push_back(plain ? static_cast<char>(c) : '_');
  });
  value += "\"; filename*=UTF-8''";
  for (const char byte : clean) {
    const auto c = static_cast<unsigned char>(byte);
    if (is_attr_char(c)) {
      value.push_back(byte);
    } else {
      value.push_back('%');
      value.push_back(hex[c >> 4]);
      value.push_back(hex[c & 0x0F]);
    }
  }
  return value;
}

} // namespace parley::media

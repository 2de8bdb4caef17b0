#include "common/text.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace parley::text {

bool is_valid_utf8(std::string_view input) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(input.data());
  const std::size_t size = input.size();
  std::size_t index = 0;
  while (index < size) {
    // Eight ASCII bytes at a time: most of what clients send (frames, ids, bodies) is ASCII.
    if (index + 8 <= size) {
      std::uint64_t word = 0;
      std::memcpy(&word, bytes + index, sizeof word);
      if ((word & 0x8080808080808080U) == 0) {
        index += 8;
        continue;
      }
    }
    const unsigned char lead = bytes[index];
    if (lead < 0x80) {
      ++index;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07;
    } else {
      return false;
    }
    if (index + length > size) {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const unsigned char continuation = bytes[index + k];
      if ((continuation & 0xC0) != 0x80) {
        return false;
      }
      code_point = (code_point << 6) | (continuation & 0x3F);
    }
    static constexpr std::array<std::uint32_t, 5> minimum{0, 0, 0x80, 0x800, 0x10000};
    if (code_point < minimum[length] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    index += length;
  }
  return true;
}

std::size_t code_point_count(std::string_view input) {
  std::size_t count = 0;
  for (const char byte : input) {
    if ((static_cast<unsigned char>(byte) & 0xC0) != 0x80) {
      ++count;
    }
  }
  return count;
}

namespace {

// Length of the white-space character at the start of `input`, or 0.
std::size_t leading_space(std::string_view input) {
  if (input.empty()) {
    return 0;
  }
  const auto first = static_cast<unsigned char>(input[0]);
  if (first == ' ' || (first >= '\t' && first <= '\r')) {
    return 1;
  }
  // U+00A0 NO-BREAK SPACE, U+2000..U+200B, U+202F, U+205F, U+3000, U+FEFF
  if (input.starts_with("\xC2\xA0")) {
    return 2;
  }
  if (input.size() >= 3 && first == 0xE2 && static_cast<unsigned char>(input[1]) == 0x80) {
    const auto third = static_cast<unsigned char>(input[2]);
    if ((third >= 0x80 && third <= 0x8B) || third == 0xAF) {
      return 3;
    }
  }
  if (input.starts_with("\xE2\x81\x9F") || input.starts_with("\xE3\x80\x80") ||
      input.starts_with("\xEF\xBB\xBF")) {
    return 3;
  }
  return 0;
}

// Length of the white-space character at the end of `input`, or 0.
std::size_t trailing_space(std::string_view input) {
  for (std::size_t length = 1; length <= 3 && length <= input.size(); ++length) {
    const auto tail = input.substr(input.size() - length);
    if (leading_space(tail) == length) {
      return length;
    }
  }
  return 0;
}

} // namespace

std::string_view trim(std::string_view input) {
  while (const std::size_t length = leading_space(input)) {
    input.remove_prefix(length);
  }
  while (const std::size_t length = trailing_space(input)) {
    input.remove_suffix(length);
  }
  return input;
}

bool has_control_characters(std::string_view input) {
  for (std::size_t index = 0; index < input.size(); ++index) {
    const auto byte = static_cast<unsigned char>(input[index]);
    if (byte < 0x20 || byte == 0x7F) {
      return true;
    }
    // C1 controls U+0080..U+009F are encoded as C2 80..C2 9F.
    if (byte == 0xC2 && index + 1 < input.size()) {
      const auto next = static_cast<unsigned char>(input[index + 1]);
      if (next >= 0x80 && next <= 0x9F) {
        return true;
      }
    }
  }
  return false;
}

bool has_bidi_controls(std::string_view input) {
  for (std::size_t index = 0; index + 2 < input.size(); ++index) {
    if (static_cast<unsigned char>(input[index]) != 0xE2) {
      continue;
    }
    const auto second = static_cast<unsigned char>(input[index + 1]);
    const auto third = static_cast<unsigned char>(input[index + 2]);
    if ((second == 0x80 && third >= 0xAA && third <= 0xAE) ||
        (second == 0x81 && third >= 0xA6 && third <= 0xA9)) {
      return true;
    }
  }
  return false;
}

int hex_value(char digit) {
  if (digit >= '0' && digit <= '9') {
    return digit - '0';
  }
  if (digit >= 'a' && digit <= 'f') {
    return digit - 'a' + 10;
  }
  if (digit >= 'A' && digit <= 'F') {
    return digit - 'A' + 10;
  }
  return -1;
}

std::string ascii_lower(std::string_view input) {
  std::string result(input);
  for (char& character : result) {
    if (character >= 'A' && character <= 'Z') {
      character = static_cast<char>(character - 'A' + 'a');
    }
  }
  return result;
}

} // namespace parley::text

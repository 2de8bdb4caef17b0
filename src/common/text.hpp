#pragma once
// Small text helpers shared by every layer.

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::text {

/// True when `input` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view input);

/// Number of Unicode code points in valid UTF-8 `input`.
[[nodiscard]] std::size_t code_point_count(std::string_view input);

/// `input` without leading and trailing white space (ASCII and the common Unicode spaces).
[[nodiscard]] std::string_view trim(std::string_view input);

/// True when `input` contains a C0/C1 control character or DEL (tab and newline included).
[[nodiscard]] bool has_control_characters(std::string_view input);

/// True when `input` contains a bidirectional embedding, override or isolate (U+202A–U+202E,
/// U+2066–U+2069): characters that can make a name display as something else.
[[nodiscard]] bool has_bidi_controls(std::string_view input);

/// The value of the hexadecimal digit `digit` (0–15, either case), -1 when it is not one.
[[nodiscard]] int hex_value(char digit);

/// Lower-case ASCII copy.
[[nodiscard]] std::string ascii_lower(std::string_view input);

} // namespace parley::text

#pragma once
// What counts as one reaction emoji (API.md "Reactions"): one extended grapheme cluster of at
// most 32 bytes that starts with an Extended_Pictographic code point, or is a flag (two
// regional indicators) or a keycap sequence. Segmentation and properties come from ICU.

#include <string>
#include <string_view>

namespace parley::chat {

inline constexpr std::size_t k_max_emoji_bytes = 32;

/// True when `text` (any bytes) is exactly one reaction emoji. No normalisation.
[[nodiscard]] bool is_one_emoji(std::string_view text);

/// The first `count` user-perceived characters (extended grapheme clusters) of valid UTF-8
/// `text`, so a preview never cuts a flag, an accent or a family emoji in half; `text` itself
/// when it is not longer.
[[nodiscard]] std::string first_characters(std::string_view text, std::size_t count);

} // namespace parley::chat

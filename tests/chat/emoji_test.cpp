// Which strings are one reaction emoji (API.md "Reactions"), decided with ICU's grapheme
// segmentation and emoji properties.

#include "chat/emoji.hpp"

#include <gtest/gtest.h>

namespace parley::chat {
namespace {

TEST(emoji, one_pictographic_grapheme_is_an_emoji) {
  for (const char* emoji : {"👍", "❤", "❤️", "😂", "🎉", "👍🏽", "👩‍👩‍👧‍👦", "🏳️‍🌈", "©️", "⌚"}) {
    EXPECT_TRUE(is_one_emoji(emoji)) << emoji;
  }
}

TEST(emoji, flags_and_keycaps_are_emoji) {
  for (const char* emoji : {"🇫🇷", "🇯🇵", "1️⃣", "#️⃣", "*️⃣"}) {
    EXPECT_TRUE(is_one_emoji(emoji)) << emoji;
  }
}

TEST(emoji, several_graphemes_or_text_are_not) {
  for (const char* text : {"👍👍", "🇫🇷🇯🇵", "a", "1", "#", "ok", "👍 ", " 👍", "🇫", "é", ":)", "\u200d",
                           "\xef\xb8\x8f" /* a lone variation selector */}) {
    EXPECT_FALSE(is_one_emoji(text)) << text;
  }
  EXPECT_FALSE(is_one_emoji(""));
}

TEST(emoji, invalid_utf8_and_long_strings_are_refused) {
  EXPECT_FALSE(is_one_emoji("\xf0\x9f\x91"));     // truncated 👍
  EXPECT_FALSE(is_one_emoji("\xed\xa0\x80"));     // an encoded surrogate
  EXPECT_FALSE(is_one_emoji(std::string(100, 'a')));
  // One grapheme, but over 32 bytes: a family of skin-toned people joined by ZWJ.
  const std::string long_family = "👩🏽‍👩🏽‍👧🏽‍👦🏽";
  ASSERT_GT(long_family.size(), k_max_emoji_bytes);
  EXPECT_FALSE(is_one_emoji(long_family));
  std::string zwj_chain = "👍";
  for (int index = 0; index < 30; ++index) {
    zwj_chain += "\u200d👍";
  }
  EXPECT_FALSE(is_one_emoji(zwj_chain));
}

} // namespace
} // namespace parley::chat

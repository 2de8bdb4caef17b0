#include "common/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::text {
namespace {

TEST(text, accepts_well_formed_utf8) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
}

TEST(text, rejects_malformed_utf8) {
  EXPECT_FALSE(is_valid_utf8("\xC3"));             // truncated
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));         // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));     // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\x80"));             // lone continuation
  EXPECT_FALSE(is_valid_utf8("\xFF"));
}

// ASCII is checked eight bytes at a time: a character, good or bad, at every offset of a long
// ASCII text (inside a word, across words, in the tail shorter than a word) is seen.
TEST(text, checks_every_offset_of_long_ascii_text) {
  for (std::size_t length = 0; length <= 40; ++length) {
    for (std::size_t at = 0; at <= length; ++at) {
      const std::string before(at, 'a');
      const std::string after(length - at, 'b');
      EXPECT_TRUE(is_valid_utf8(before + "\xC3\xA9" + after)) << length << " " << at;
      EXPECT_TRUE(is_valid_utf8(before + "\xF0\x9F\x98\x80" + after)) << length << " " << at;
      EXPECT_FALSE(is_valid_utf8(before + "\x80" + after)) << length << " " << at;
      EXPECT_FALSE(is_valid_utf8(before + "\xE2\x82" + after)) << length << " " << at;
      EXPECT_FALSE(is_valid_utf8(before + "\xED\xA0\x80" + after)) << length << " " << at;
    }
  }
}

TEST(text, counts_code_points_not_bytes) {
  EXPECT_EQ(code_point_count("abc"), 3U);
  EXPECT_EQ(code_point_count("\xC3\xA9\xF0\x9F\x98\x80"), 2U);
}

TEST(text, trims_ascii_and_unicode_spaces) {
  EXPECT_EQ(trim("  Alice \t\n"), "Alice");
  EXPECT_EQ(trim("\xC2\xA0" "Bob\xE3\x80\x80"), "Bob");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(trim("a b"), "a b");
}

TEST(text, finds_control_characters) {
  EXPECT_TRUE(has_control_characters("a\nb"));
  EXPECT_TRUE(has_control_characters("a\x7F"));
  EXPECT_TRUE(has_control_characters("a\xC2\x85"));
  EXPECT_FALSE(has_control_characters("caf\xC3\xA9"));
}

TEST(text, finds_bidirectional_overrides_and_isolates) {
  EXPECT_TRUE(has_bidi_controls("evil\xE2\x80\xAEgnp.exe")); // U+202E
  EXPECT_TRUE(has_bidi_controls("\xE2\x81\xA6x"));            // U+2066
  EXPECT_FALSE(has_bidi_controls("\xE2\x80\x94 dash"));       // U+2014 is fine
  EXPECT_FALSE(has_bidi_controls("\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D"));
}

} // namespace
} // namespace parley::text

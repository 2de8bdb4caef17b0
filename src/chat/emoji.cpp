#include "chat/emoji.hpp"

#include "common/text.hpp"

#include <unicode/brkiter.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf16.h>

#include <memory>

namespace parley::chat {
namespace {

// One character (grapheme cluster) break iterator per thread: creating one loads ICU's rules.
icu::BreakIterator* grapheme_iterator() {
  thread_local std::unique_ptr<icu::BreakIterator> iterator = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> made(
        icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
    return U_SUCCESS(status) ? std::move(made) : nullptr;
  }();
  return iterator.get();
}

} // namespace

bool is_one_emoji(std::string_view text) {
  if (text.empty() || text.size() > k_max_emoji_bytes || !text::is_valid_utf8(text)) {
    return false;
  }
  const auto unicode = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<std::int32_t>(text.size())));
  auto* iterator = grapheme_iterator();
  if (iterator == nullptr) {
    return false;
  }
  iterator->setText(unicode);
  if (iterator->first() != 0 || iterator->next() != unicode.length()) {
    return false; // not exactly one grapheme cluster
  }
  const UChar32 first = unicode.char32At(0);
  if (u_hasBinaryProperty(first, UCHAR_EXTENDED_PICTOGRAPHIC)) {
    return true;
  }
  const auto* units = unicode.getBuffer();
  const auto length = unicode.length();
  if (u_hasBinaryProperty(first, UCHAR_REGIONAL_INDICATOR)) {
    // A flag: exactly two regional indicators.
    const std::int32_t second_at = U16_LENGTH(first);
    if (second_at >= length) {
      return false;
    }
    const UChar32 second = unicode.char32At(second_at);
    return u_hasBinaryProperty(second, UCHAR_REGIONAL_INDICATOR) &&
           second_at + U16_LENGTH(second) == length;
  }
  return u_stringHasBinaryProperty(units, length, UCHAR_EMOJI_KEYCAP_SEQUENCE) != 0;
}

std::string first_characters(std::string_view text, std::size_t count) {
  if (text::code_point_count(text) <= count) {
    return std::string(text);
  }
  const auto unicode = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<std::int32_t>(text.size())));
  auto* iterator = grapheme_iterator();
  std::int32_t end = 0;
  if (iterator == nullptr) {
    end = unicode.moveIndex32(0, static_cast<std::int32_t>(count));
  } else {
    iterator->setText(unicode);
    end = iterator->first();
    for (std::size_t taken = 0; taken < count; ++taken) {
      const std::int32_t next = iterator->next();
      if (next == icu::BreakIterator::DONE) {
        break;
      }
      end = next;
    }
  }
  std::string out;
  unicode.tempSubString(0, end).toUTF8String(out);
  return out;
}

} // namespace parley::chat

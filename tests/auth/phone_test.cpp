#include "auth/phone.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace parley::auth {
namespace {

using namespace std::string_view_literals;

std::string name_of(phone_error error) {
  switch (error) {
  case phone_error::empty:
    return "empty";
  case phone_error::invalid_characters:
    return "invalid_characters";
  case phone_error::unknown_region:
    return "unknown_region";
  case phone_error::invalid_country_code:
    return "invalid_country_code";
  case phone_error::too_short:
    return "too_short";
  case phone_error::too_long:
    return "too_long";
  case phone_error::invalid_number:
    return "invalid_number";
  }
  return "unnamed phone_error";
}

/// The E.164 string, or "error: <name>", so that a failed expectation reads plainly.
std::string shown(const std::expected<std::string, phone_error>& result) {
  return result ? *result : "error: " + name_of(result.error());
}

std::string shown(phone_error error) {
  return "error: " + name_of(error);
}

std::string normalized(std::string_view input, std::string_view region) {
  return shown(normalize_phone(input, region));
}

/// `input` with every byte outside printable ASCII as \xNN, for failure traces.
std::string escaped(std::string_view input) {
  std::string result;
  for (const char character : input) {
    const auto byte = static_cast<unsigned char>(character);
    if (byte >= 0x20 && byte < 0x7F) {
      result.push_back(character);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", byte);
      result += hex;
    }
  }
  return '"' + result + '"';
}

struct accepted_case {
  std::string_view input;
  std::string_view region;
  std::string_view expected;
};

struct rejected_case {
  std::string_view input;
  std::string_view region;
  phone_error expected;
};

// One mobile number per region, written the way people there write it. Numbers are the
// example numbers of libphonenumber's metadata.
struct region_example {
  std::string_view region;
  std::string_view national;
  std::string_view international;
  std::string_view expected;
};

constexpr region_example region_examples[] = {
    {"US", "(201) 555-0123", "+1 201 555 0123", "+12015550123"},
    {"CA", "1 506 234 5678", "+1 506-234-5678", "+15062345678"},
    {"GB", "07400 123456", "+44 7400 123456", "+447400123456"},
    {"IE", "085 012 3456", "+353 85 012 3456", "+353850123456"},
    {"FR", "06 12 34 56 78", "+33 6 12 34 56 78", "+33612345678"},
    {"DE", "0151 23456789", "+49 151 23456789", "+4915123456789"},
    {"ES", "612 34 56 78", "+34 612 34 56 78", "+34612345678"},
    {"IT", "312 345 6789", "+39 312 345 6789", "+393123456789"},
    {"NL", "06-12345678", "+31 6 12345678", "+31612345678"},
    {"BE", "0450 00 12 34", "+32 450 00 12 34", "+32450001234"},
    {"CH", "078 123 45 67", "+41 78 123 45 67", "+41781234567"},
    {"AT", "0664 123456", "+43 664 123456", "+43664123456"},
    {"SE", "070-123 45 67", "+46 70 123 45 67", "+46701234567"},
    {"NO", "406 12 345", "+47 406 12 345", "+4740612345"},
    {"DK", "34 41 23 45", "+45 34 41 23 45", "+4534412345"},
    {"FI", "041 2345678", "+358 41 2345678", "+358412345678"},
    {"PL", "512 345 678", "+48 512 345 678", "+48512345678"},
    {"PT", "912 345 678", "+351 912 345 678", "+351912345678"},
    {"GR", "691 234 5678", "+30 691 234 5678", "+306912345678"},
    {"RU", "8 (912) 345-67-89", "+7 912 345-67-89", "+79123456789"},
    {"KZ", "8 (771) 000 9998", "+7 771 000 9998", "+77710009998"},
    {"UA", "050 123 4567", "+380 50 123 4567", "+380501234567"},
    {"TR", "0501 234 56 78", "+90 501 234 56 78", "+905012345678"},
    {"IL", "050-234-5678", "+972 50-234-5678", "+972502345678"},
    {"IN", "08123 456789", "+91 81234 56789", "+918123456789"},
    {"CN", "131 2345 6789", "+86 131 2345 6789", "+8613123456789"},
    {"JP", "090-1234-5678", "+81 90-1234-5678", "+819012345678"},
    {"KR", "010-2000-0000", "+82 10-2000-0000", "+821020000000"},
    {"SG", "8123 4567", "+65 8123 4567", "+6581234567"},
    {"HK", "5123 4567", "+852 5123 4567", "+85251234567"},
    {"AU", "0412 345 678", "+61 412 345 678", "+61412345678"},
    {"NZ", "021 123 4567", "+64 21 123 4567", "+64211234567"},
    {"BR", "(11) 96123-4567", "+55 11 96123-4567", "+5511961234567"},
    {"MX", "222 123 4567", "+52 222 123 4567", "+522221234567"},
    {"AR", "011 2345-6789", "+54 11 2345-6789", "+541123456789"},
    {"ZA", "071 123 4567", "+27 71 123 4567", "+27711234567"},
    {"NG", "0802 123 4567", "+234 802 123 4567", "+2348021234567"},
    {"KE", "0712 123456", "+254 712 123456", "+254712123456"},
    {"EG", "010 01234567", "+20 10 01234567", "+201001234567"},
    {"AE", "050 123 4567", "+971 50 123 4567", "+971501234567"},
    {"SA", "051 234 5678", "+966 51 234 5678", "+966512345678"},
};

constexpr accepted_case accepted_cases[] = {
    // E.164 and its punctuation.
    {"+14155550123", "US", "+14155550123"},
    {"+1 (415) 555-0123", "US", "+14155550123"},
    {"+1.415.555.0123", "US", "+14155550123"},
    {"+1-415-555-0123", "US", "+14155550123"},
    {"  +1 415 555 0123  ", "US", "+14155550123"},
    {"+ 1 415 555 0123", "US", "+14155550123"},
    {"+1 (415 555-0123", "US", "+14155550123"},
    {"+44 20 7946 0958", "US", "+442079460958"},
    {"+44 (0)20 7946 0958", "GB", "+442079460958"},
    {"+44 020 7946 0958", "US", "+442079460958"},
    {"+49 (0)30 123456", "DE", "+4930123456"},
    {"+39 06 1234 5678", "IT", "+390612345678"},
    {"+54 9 11 2345-6789", "AR", "+5491123456789"},
    {"+86 10 1234 5678", "CN", "+861012345678"},
    {"+7 812 123-45-67", "RU", "+78121234567"},
    // Non-breaking spaces (U+00A0), as pasted from web pages and word processors.
    {"+1\u00A0415\u00A0555\u00A00123", "US", "+14155550123"},
    {"\u00A0+33\u00A06\u00A012\u00A034\u00A056\u00A078\u00A0", "FR", "+33612345678"},
    // "00" international prefix.
    {"0044 20 7946 0958", "US", "+442079460958"},
    {"001 415 555 0123", "GB", "+14155550123"},
    {"00 39 06 1234 5678", "FR", "+390612345678"},
    {"00-49-30-123456", "", "+4930123456"},
    // National formats.
    {"(415) 555-0123", "US", "+14155550123"},
    {"415.555.0123", "US", "+14155550123"},
    {"1 (415) 555-0123", "US", "+14155550123"},
    {"1-415-555-0123", "CA", "+14155550123"},
    {"020 7946 0958", "GB", "+442079460958"},
    {"(020) 7946 0958", "GB", "+442079460958"},
    {"20 7946 0958", "GB", "+442079460958"},
    {"030 123456", "DE", "+4930123456"},
    {"030 12345678", "DE", "+493012345678"},
    {"06 1234 5678", "IT", "+390612345678"},
    {"01 23 45 67 89", "FR", "+33123456789"},
    {"8 812 123-45-67", "RU", "+78121234567"},
    {"812 123-45-67", "RU", "+78121234567"},
    {"(011) 96123-4567", "BR", "+5511961234567"},
    {"010 1234 5678", "CN", "+861012345678"},
    {"03-1234-5678", "JP", "+81312345678"},
    {"02 9876 5432", "AU", "+61298765432"},
    {"+376 312 345", "AU", "+376312345"}, // Andorra: not in the table, checked against E.164
};

constexpr rejected_case rejected_cases[] = {
    // Empty and blank.
    {"", "US", phone_error::empty},
    {"   ", "US", phone_error::empty},
    {"\u00A0 \u00A0", "US", phone_error::empty},
    // Punctuation and no digits.
    {"+", "US", phone_error::too_short},
    {"()-.", "US", phone_error::too_short},
    {"+ ( )", "US", phone_error::too_short},
    // Letters and extensions.
    {"1-800-FLOWERS", "US", phone_error::invalid_characters},
    {"+1 415 555 O123", "US", phone_error::invalid_characters},
    {"+1 415 555 0123 x123", "US", phone_error::invalid_characters},
    {"+1 415 555 0123 ext. 5", "US", phone_error::invalid_characters},
    {"+1 415 555 0123;ext=5", "US", phone_error::invalid_characters},
    {"+1 415 555 0123#5", "US", phone_error::invalid_characters},
    {"+1 415 555 0123,5", "US", phone_error::invalid_characters},
    {"tel:+14155550123", "US", phone_error::invalid_characters},
    // Misplaced or repeated "+".
    {"++1 415 555 0123", "US", phone_error::invalid_characters},
    {"+1 +415 555 0123", "US", phone_error::invalid_characters},
    {"1+415 555 0123", "US", phone_error::invalid_characters},
    {"(+1) 415 555 0123", "US", phone_error::invalid_characters},
    {"+14155550123+", "US", phone_error::invalid_characters},
    // Other characters, other Unicode and broken UTF-8.
    {"+1\t415 555 0123", "US", phone_error::invalid_characters},
    {"+1 415 555 0123\n", "US", phone_error::invalid_characters},
    {"+1 415\0 555 0123"sv, "US", phone_error::invalid_characters},
    {"030/123456", "DE", phone_error::invalid_characters},
    {"+1 415_555_0123", "US", phone_error::invalid_characters},
    {"415\u2013555\u20130123", "US", phone_error::invalid_characters},      // en dash
    {"\uFF0B\uFF11 415 555 0123", "US", phone_error::invalid_characters},   // full-width + and 1
    {"\u0664\u0661\u0665 555 0123", "EG", phone_error::invalid_characters}, // Arabic-Indic digits
    {"+1\u2009415 555 0123", "US", phone_error::invalid_characters},        // thin space
    {"\xFF\xFE+14155550123", "US", phone_error::invalid_characters},
    {"+14155550123\xC2", "US", phone_error::invalid_characters}, // truncated U+00A0
    {"+1\xC0\xA0"
     "4155550123",
     "US", phone_error::invalid_characters}, // overlong space
    {"+1\xA0"
     "4155550123",
     "US", phone_error::invalid_characters}, // lone continuation
    // Calling codes.
    {"+0 415 555 0123", "US", phone_error::invalid_country_code},
    {"+00 44 20 7946 0958", "US", phone_error::invalid_country_code},
    {"000 44 20 7946 0958", "US", phone_error::invalid_country_code},
    {"+289 123 4567", "US", phone_error::invalid_country_code},
    {"00 289 123 4567", "US", phone_error::invalid_country_code},
    {"+800 1234 5678", "US", phone_error::invalid_country_code}, // non-geographic freephone
    {"+42", "US", phone_error::too_short},                       // a code not finished
    {"00", "US", phone_error::too_short},
    // Too short and too long, international.
    {"+1", "US", phone_error::too_short},
    {"+1 415 555 012", "US", phone_error::too_short},
    {"+1 415 555 01234", "US", phone_error::too_long},
    {"+44 20 7946 09", "US", phone_error::too_short},
    {"+44 20 7946 09581", "US", phone_error::too_long},
    {"+33 6 12 34 56 7", "US", phone_error::too_short},
    {"+33 6 12 34 56 789", "US", phone_error::too_long},
    {"+49 30 1234 5678 9012", "US", phone_error::too_long}, // 14 digits: past E.164's 15
    {"+376 12", "US", phone_error::too_short},
    {"+376 1234 5678 90123", "US", phone_error::too_long},
    {"+82 2 123 456", "US", phone_error::invalid_number}, // Korea has no 7-digit numbers
    // Too short and too long, national.
    {"415 555 012", "US", phone_error::too_short},
    {"555 0123", "US", phone_error::too_short},
    {"1 415 555 01234", "US", phone_error::too_long},
    {"020 7946", "GB", phone_error::too_short},
    {"020 7946 09581", "GB", phone_error::too_long},
    {"0", "GB", phone_error::too_short},
    {"030 1", "DE", phone_error::too_short},
    {"06 12 34 56 7", "FR", phone_error::too_short},
    {"06 123", "IT", phone_error::too_short},
    {"0412 345 6789", "AU", phone_error::too_long},
    // NANP area and exchange codes starting with 0 or 1.
    {"+1 015 555 0123", "US", phone_error::invalid_number},
    {"+1 115 555 0123", "US", phone_error::invalid_number},
    {"+1 415 055 0123", "US", phone_error::invalid_number},
    {"+1 415 155 0123", "US", phone_error::invalid_number},
    {"(015) 555-0123", "US", phone_error::invalid_number},
    {"(115) 555-0123", "US", phone_error::invalid_number},
    {"1 (015) 555-0123", "US", phone_error::invalid_number},
    {"415 155 0123", "CA", phone_error::invalid_number},
    // National input needs a known region.
    {"020 7946 0958", "ZZ", phone_error::unknown_region},
    {"(415) 555-0123", "", phone_error::unknown_region},
    {"(415) 555-0123", "us", phone_error::unknown_region},
    {"(415) 555-0123", "USA", phone_error::unknown_region},
};

TEST(normalize_phone, accepts_every_input_in_the_accepted_table) {
  for (const auto& [input, region, expected] : accepted_cases) {
    SCOPED_TRACE(escaped(input) + " with region " + std::string{region});
    EXPECT_EQ(normalized(input, region), expected);
  }
}

TEST(normalize_phone, rejects_every_input_in_the_rejected_table_with_its_error) {
  for (const auto& [input, region, expected] : rejected_cases) {
    SCOPED_TRACE(escaped(input) + " with region " + std::string{region});
    EXPECT_EQ(normalized(input, region), shown(expected));
  }
}

TEST(normalize_phone, accepts_a_national_number_of_every_region) {
  for (const auto& example : region_examples) {
    SCOPED_TRACE(std::string{example.region} + " " + std::string{example.national});
    EXPECT_EQ(normalized(example.national, example.region), example.expected);
  }
}

TEST(normalize_phone, accepts_an_international_number_of_every_region_whatever_the_default) {
  for (const auto& example : region_examples) {
    SCOPED_TRACE(std::string{example.international});
    EXPECT_EQ(normalized(example.international, example.region), example.expected);
    EXPECT_EQ(normalized(example.international, "ZZ"), example.expected);
  }
}

TEST(normalize_phone, gives_back_its_own_output_unchanged) {
  std::vector<std::string_view> outputs;
  for (const auto& example : region_examples) {
    outputs.push_back(example.expected);
  }
  for (const auto& accepted : accepted_cases) {
    outputs.push_back(accepted.expected);
  }
  for (const std::string_view output : outputs) {
    EXPECT_EQ(normalized(output, "US"), output);
  }
}

TEST(normalize_phone, accepts_e164_with_common_punctuation) {
  EXPECT_EQ(normalized("+1 (415) 555-0123", "US"), "+14155550123");
  EXPECT_EQ(normalized("+44 20 7946 0958", "US"), "+442079460958");
  EXPECT_EQ(normalized("+33.6.12.34.56.78", "US"), "+33612345678");
}

TEST(normalize_phone, reads_a_leading_00_as_plus) {
  EXPECT_EQ(normalized("0044 20 7946 0958", "GB"), "+442079460958");
  EXPECT_EQ(normalized("00 1 415 555 0123", "DE"), "+14155550123");
}

TEST(normalize_phone, treats_non_breaking_spaces_as_spaces) {
  EXPECT_EQ(normalized("+44\u00A020\u00A07946\u00A00958", "US"), "+442079460958");
  EXPECT_EQ(normalized("\u00A0\u00A0", "US"), shown(phone_error::empty));
}

TEST(normalize_phone, drops_the_trunk_prefix_of_a_national_number) {
  EXPECT_EQ(normalized("020 7946 0958", "GB"), "+442079460958");
  EXPECT_EQ(normalized("030 123456", "DE"), "+4930123456");
  EXPECT_EQ(normalized("06 12 34 56 78", "FR"), "+33612345678");
  EXPECT_EQ(normalized("8 912 345 67 89", "RU"), "+79123456789");
}

TEST(normalize_phone, accepts_a_national_number_typed_without_its_trunk_prefix) {
  EXPECT_EQ(normalized("20 7946 0958", "GB"), "+442079460958");
  EXPECT_EQ(normalized("6 12 34 56 78", "FR"), "+33612345678");
}

TEST(normalize_phone, drops_a_trunk_prefix_written_after_the_calling_code) {
  EXPECT_EQ(normalized("+44 (0)20 7946 0958", "US"), "+442079460958");
  EXPECT_EQ(normalized("+49 (0) 30 123456", "US"), "+4930123456");
  EXPECT_EQ(normalized("+7 8 912 345 67 89", "US"), "+79123456789");
}

TEST(normalize_phone, keeps_the_leading_zero_of_italian_numbers) {
  EXPECT_EQ(normalized("06 1234 5678", "IT"), "+390612345678");
  EXPECT_EQ(normalized("+39 06 1234 5678", "US"), "+390612345678");
  EXPECT_EQ(normalized("0039 02 1234 5678", "US"), "+390212345678");
}

TEST(normalize_phone, accepts_nanp_national_numbers_with_or_without_a_leading_one) {
  EXPECT_EQ(normalized("(415) 555-0123", "US"), "+14155550123");
  EXPECT_EQ(normalized("1 (415) 555-0123", "US"), "+14155550123");
  EXPECT_EQ(normalized("1-416-555-0123", "CA"), "+14165550123");
  EXPECT_EQ(normalized("+1 1 415 555 0123", "US"), "+14155550123");
}

TEST(normalize_phone, keeps_a_russian_area_code_that_starts_with_the_trunk_digit) {
  EXPECT_EQ(normalized("812 123 45 67", "RU"), "+78121234567");
  EXPECT_EQ(normalized("8 812 123 45 67", "RU"), "+78121234567");
  EXPECT_EQ(normalized("+7 812 123 45 67", "US"), "+78121234567");
}

TEST(normalize_phone, shares_calling_codes_between_regions) {
  EXPECT_EQ(normalized("+1 416 555 0123", "CA"), "+14165550123");
  EXPECT_EQ(normalized("+1 416 555 0123", "US"), "+14165550123");
  EXPECT_EQ(normalized("+7 771 000 9998", "RU"), "+77710009998");
  EXPECT_EQ(normalized("8 771 000 9998", "KZ"), "+77710009998");
}

TEST(normalize_phone, ignores_the_default_region_for_international_input) {
  EXPECT_EQ(normalized("+44 20 7946 0958", ""), "+442079460958");
  EXPECT_EQ(normalized("+44 20 7946 0958", "ZZ"), "+442079460958");
  EXPECT_EQ(normalized("0044 20 7946 0958", "not a region"), "+442079460958");
}

TEST(normalize_phone, rejects_empty_and_blank_input) {
  EXPECT_EQ(normalized("", "US"), shown(phone_error::empty));
  EXPECT_EQ(normalized(" \u00A0 ", "US"), shown(phone_error::empty));
}

TEST(normalize_phone, rejects_letters_so_no_vanity_numbers) {
  EXPECT_EQ(normalized("1-800-FLOWERS", "US"), shown(phone_error::invalid_characters));
  EXPECT_EQ(normalized("+1 415 CALL NOW", "US"), shown(phone_error::invalid_characters));
}

TEST(normalize_phone, rejects_extensions) {
  EXPECT_EQ(normalized("+1 415 555 0123 x123", "US"), shown(phone_error::invalid_characters));
  EXPECT_EQ(normalized("(415) 555-0123 ext. 7", "US"), shown(phone_error::invalid_characters));
  EXPECT_EQ(normalized("+1 415 555 0123;ext=7", "US"), shown(phone_error::invalid_characters));
}

TEST(normalize_phone, rejects_a_plus_that_is_repeated_or_not_first) {
  EXPECT_EQ(normalized("++14155550123", "US"), shown(phone_error::invalid_characters));
  EXPECT_EQ(normalized("1+4155550123", "US"), shown(phone_error::invalid_characters));
  EXPECT_EQ(normalized("(+1) 415 555 0123", "US"), shown(phone_error::invalid_characters));
}

TEST(normalize_phone, rejects_a_lone_plus_as_too_short) {
  EXPECT_EQ(normalized("+", "US"), shown(phone_error::too_short));
  EXPECT_EQ(normalized(" + ", "US"), shown(phone_error::too_short));
}

TEST(normalize_phone, rejects_calling_codes_that_no_country_has) {
  EXPECT_EQ(normalized("+0 20 7946 0958", "US"), shown(phone_error::invalid_country_code));
  EXPECT_EQ(normalized("+289 1234 5678", "US"), shown(phone_error::invalid_country_code));
  EXPECT_EQ(normalized("+999 1234 5678", "US"), shown(phone_error::invalid_country_code));
}

TEST(normalize_phone, checks_calling_codes_outside_the_table_against_e164_only) {
  EXPECT_EQ(normalized("+376 312 345", "US"), "+376312345");               // Andorra
  EXPECT_EQ(normalized("+683 7290", "US"), "+6837290");                    // Niue, 4 digits
  EXPECT_EQ(normalized("+683 729", "US"), shown(phone_error::too_short));  // 3 digits
  EXPECT_EQ(normalized("+36 1234 5678 9012 3", "US"), "+361234567890123"); // 15 in all
  EXPECT_EQ(normalized("+36 1234 5678 9012 34", "US"), shown(phone_error::too_long));
}

TEST(normalize_phone, rejects_nanp_area_and_exchange_codes_starting_with_0_or_1) {
  for (const std::string_view input : {"+1 015 555 0123", "+1 115 555 0123", "+1 415 055 0123",
                                       "+1 415 155 0123", "(015) 555-0123", "(115) 555-0123"}) {
    SCOPED_TRACE(input);
    EXPECT_EQ(normalized(input, "US"), shown(phone_error::invalid_number));
  }
}

TEST(normalize_phone, rejects_lengths_outside_the_regions_plan) {
  EXPECT_EQ(normalized("+1 415 555 012", "US"), shown(phone_error::too_short));
  EXPECT_EQ(normalized("+1 415 555 01234", "US"), shown(phone_error::too_long));
  EXPECT_EQ(normalized("020 7946 095", "GB"), "+44207946095"); // 9 digits: GB allows them
  EXPECT_EQ(normalized("020 7946", "GB"), shown(phone_error::too_short));
  EXPECT_EQ(normalized("06 12 34 56 789", "FR"), shown(phone_error::too_long));
}

TEST(normalize_phone, rejects_a_length_the_plan_skips) {
  // Korea has 5-, 6- and 8- to 11-digit numbers, none of 7.
  EXPECT_EQ(normalized("02 123 456", "KR"), shown(phone_error::invalid_number));
  EXPECT_EQ(normalized("02 1234 5678", "KR"), "+82212345678");
}

TEST(normalize_phone, caps_every_region_at_fifteen_e164_digits) {
  // Germany's plan allows 15-digit national numbers; E.164 allows 15 digits in all.
  EXPECT_EQ(normalized("+49 30 1234 5678 901", "US"), "+493012345678901");
  EXPECT_EQ(normalized("+49 30 1234 5678 9012", "US"), shown(phone_error::too_long));
}

TEST(normalize_phone, rejects_national_input_for_an_unknown_region) {
  EXPECT_EQ(normalized("020 7946 0958", "ZZ"), shown(phone_error::unknown_region));
  EXPECT_EQ(normalized("020 7946 0958", "gb"), shown(phone_error::unknown_region));
  EXPECT_EQ(normalized("020 7946 0958", ""), shown(phone_error::unknown_region));
}

TEST(normalize_phone, rejects_invalid_utf8_and_stray_bytes) {
  EXPECT_EQ(normalized("\xFF\xFE\xFD", "US"), shown(phone_error::invalid_characters));
  EXPECT_EQ(normalized("+1 415 555 0123\xC2", "US"), shown(phone_error::invalid_characters));
  EXPECT_EQ(normalized("+1 415\0 555 0123"sv, "US"), shown(phone_error::invalid_characters));
  EXPECT_EQ(normalized("+1 415 555 0123\x7F", "US"), shown(phone_error::invalid_characters));
}

TEST(normalize_phone, reports_a_character_error_before_a_length_error) {
  EXPECT_EQ(normalized("+1 415 x", "US"), shown(phone_error::invalid_characters));
  EXPECT_EQ(normalized(std::string(100, '5') + "x", "US"), shown(phone_error::invalid_characters));
}

TEST(normalize_phone, handles_very_long_input) {
  EXPECT_EQ(normalized("+1" + std::string(100'000, '5'), "US"), shown(phone_error::too_long));
  EXPECT_EQ(normalized(std::string(100'000, '5'), "US"), shown(phone_error::too_long));
  EXPECT_EQ(normalized(std::string(100'000, ' ') + "+1 415 555 0123", "US"), "+14155550123");
}

TEST(is_known_region, knows_every_region_of_the_table) {
  for (const auto& example : region_examples) {
    EXPECT_TRUE(is_known_region(example.region)) << example.region;
  }
}

TEST(is_known_region, rejects_unknown_lower_case_and_malformed_codes) {
  for (const std::string_view region : {"ZZ", "us", "Us", "USA", "U", "", " US", "XK"}) {
    EXPECT_FALSE(is_known_region(region)) << '"' << region << '"';
  }
}

TEST(describe, gives_every_error_a_distinct_sentence) {
  const phone_error errors[] = {
      phone_error::empty,          phone_error::invalid_characters,
      phone_error::unknown_region, phone_error::invalid_country_code,
      phone_error::too_short,      phone_error::too_long,
      phone_error::invalid_number,
  };
  std::set<std::string_view> sentences;
  for (const phone_error error : errors) {
    const std::string_view sentence = describe(error);
    SCOPED_TRACE(name_of(error));
    EXPECT_TRUE(sentence.starts_with("The ") || sentence.starts_with("Phone "));
    EXPECT_TRUE(sentence.ends_with("."));
    sentences.insert(sentence);
  }
  EXPECT_EQ(sentences.size(), std::size(errors));
}

TEST(describe, says_too_short_plainly) {
  EXPECT_EQ(describe(phone_error::too_short), "The phone number is too short.");
}

} // namespace
} // namespace parley::auth

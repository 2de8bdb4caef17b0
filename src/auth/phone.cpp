#include "auth/phone.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace parley::auth {
namespace {

constexpr std::size_t k_e164_max_digits = 15;
// Used for calling codes the table has no lengths for. The shortest national numbers in
// service are four digits (Niue, Tokelau, Saint Helena).
constexpr std::size_t k_fallback_min_national_digits = 4;
// Digits beyond this are only counted: the answer is `too_long` whatever they are.
constexpr std::size_t k_max_kept_digits = k_e164_max_digits + 4;

/// The national significant number lengths a plan allows: bit n set means n digits.
class length_set {
public:
  constexpr length_set(std::initializer_list<std::size_t> lengths) {
    for (const std::size_t length : lengths) {
      bits_ |= std::uint32_t{1} << length;
    }
  }

  static constexpr length_set range(std::size_t shortest, std::size_t longest) {
    length_set result{};
    for (std::size_t length = shortest; length <= longest; ++length) {
      result.bits_ |= std::uint32_t{1} << length;
    }
    return result;
  }

  [[nodiscard]] constexpr bool contains(std::size_t length) const {
    return length < 32 && (bits_ >> length & 1U) != 0;
  }
  [[nodiscard]] constexpr std::size_t shortest() const {
    return static_cast<std::size_t>(std::countr_zero(bits_));
  }
  [[nodiscard]] constexpr std::size_t longest() const {
    return 31 - static_cast<std::size_t>(std::countl_zero(bits_));
  }
  [[nodiscard]] constexpr length_set operator|(length_set other) const {
    length_set result{};
    result.bits_ = bits_ | other.bits_;
    return result;
  }

private:
  std::uint32_t bits_ = 0;
};

enum class trunk_prefix_rule {
  /// National numbers never start with the prefix, so a leading one is always dropped.
  always_dropped,
  /// National numbers may start with the prefix's digit (Russia's 812, or a NANP area code
  /// like "141" that must be reported as invalid rather than short): drop it only when what
  /// is left has an allowed length.
  dropped_when_length_fits,
};

struct trunk_prefix {
  std::string_view digits; // empty when the region dials national numbers without one
  trunk_prefix_rule rule;
  [[nodiscard]] constexpr bool operator==(const trunk_prefix&) const = default;
};

constexpr trunk_prefix no_trunk_prefix{"", trunk_prefix_rule::always_dropped};
constexpr trunk_prefix trunk_zero{"0", trunk_prefix_rule::always_dropped};
constexpr trunk_prefix trunk_one_nanp{"1", trunk_prefix_rule::dropped_when_length_fits};
constexpr trunk_prefix trunk_eight{"8", trunk_prefix_rule::dropped_when_length_fits};

struct region_plan {
  std::string_view region; // ISO 3166-1 alpha-2
  int calling_code;
  trunk_prefix trunk;
  length_set lengths; // of the national significant number, trunk prefix excluded
};

// Lengths: libphonenumber's resources/PhoneNumberMetadata.xml (commit f7e3e88), the union of the
// fixedLine, mobile, voip and personalNumber possible lengths, capped so that code + number <= 15
// digits.
constexpr std::array region_plans{
    region_plan{"AE", 971, trunk_zero, {8, 9}},
    region_plan{"AR", 54, trunk_zero, {10, 11}}, // mobiles: +54 9 …
    region_plan{"AT", 43, trunk_zero, length_set::range(4, 13)},
    region_plan{"AU", 61, trunk_zero, {9}},
    region_plan{"BE", 32, trunk_zero, {8, 9}},
    region_plan{"BR", 55, trunk_zero, {10, 11}},
    region_plan{"CA", 1, trunk_one_nanp, {10}},
    region_plan{"CH", 41, trunk_zero, {9}},
    region_plan{"CN", 86, trunk_zero, length_set::range(7, 11)},
    region_plan{"DE", 49, trunk_zero, length_set::range(5, 13)}, // plan allows 15; E.164 not
    region_plan{"DK", 45, no_trunk_prefix, {8}},
    region_plan{"EG", 20, trunk_zero, {8, 9, 10}},
    region_plan{"ES", 34, no_trunk_prefix, {9}},
    region_plan{"FI", 358, trunk_zero, length_set::range(5, 10)},
    region_plan{"FR", 33, trunk_zero, {9}},
    region_plan{"GB", 44, trunk_zero, {9, 10}},
    region_plan{"GR", 30, no_trunk_prefix, {10}},
    region_plan{"HK", 852, no_trunk_prefix, {8}},
    region_plan{"IE", 353, trunk_zero, {7, 8, 9, 10}},
    region_plan{"IL", 972, trunk_zero, {8, 9, 11, 12}},
    region_plan{"IN", 91, trunk_zero, {10}},
    region_plan{"IT", 39, no_trunk_prefix, length_set::range(6, 12)}, // keeps its leading 0
    region_plan{"JP", 81, trunk_zero, {9, 10}},
    region_plan{"KE", 254, trunk_zero, {7, 8, 9}},
    region_plan{"KR", 82, trunk_zero, {5, 6, 8, 9, 10, 11}},
    region_plan{"KZ", 7, trunk_eight, {10}},
    region_plan{"MX", 52, no_trunk_prefix, {10}},
    region_plan{"NG", 234, trunk_zero, {10}},
    region_plan{"NL", 31, trunk_zero, {9, 11}},
    region_plan{"NO", 47, no_trunk_prefix, {8}},
    region_plan{"NZ", 64, trunk_zero, {8, 9, 10}},
    region_plan{"PL", 48, no_trunk_prefix, {7, 9}},
    region_plan{"PT", 351, no_trunk_prefix, {9}},
    region_plan{"RU", 7, trunk_eight, {10}},
    region_plan{"SA", 966, trunk_zero, {9}},
    region_plan{"SE", 46, trunk_zero, {7, 8, 9}},
    region_plan{"SG", 65, no_trunk_prefix, {8}},
    region_plan{"TR", 90, trunk_zero, {10}},
    region_plan{"UA", 380, trunk_zero, {9}},
    region_plan{"US", 1, trunk_one_nanp, {10}},
    region_plan{"ZA", 27, trunk_zero, length_set::range(5, 9)},
};

// Every country calling code the ITU has assigned to a geographic area (libphonenumber's
// territories). Non-geographic codes (+800 freephone, +881 satellite, …) are left out. The
// set is prefix-free, so a number's code is the one of its first 1–3 digits that is listed.
constexpr std::array<std::uint16_t, 206> assigned_calling_codes{
    1,   7,   20,  27,  30,  31,  32,  33,  34,  36,  39,  40,  41,  43,  44,  45,  46,  47,  48,
    49,  51,  52,  53,  54,  55,  56,  57,  58,  60,  61,  62,  63,  64,  65,  66,  81,  82,  84,
    86,  90,  91,  92,  93,  94,  95,  98,  211, 212, 213, 216, 218, 220, 221, 222, 223, 224, 225,
    226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244,
    245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 260, 261, 262, 263, 264,
    265, 266, 267, 268, 269, 290, 291, 297, 298, 299, 350, 351, 352, 353, 354, 355, 356, 357, 358,
    359, 370, 371, 372, 373, 374, 375, 376, 377, 378, 380, 381, 382, 383, 385, 386, 387, 389, 420,
    421, 423, 500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596,
    597, 598, 599, 670, 672, 673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687,
    688, 689, 690, 691, 692, 850, 852, 853, 855, 856, 880, 886, 960, 961, 962, 963, 964, 965, 966,
    967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 992, 993, 994, 995, 996, 998,
};

constexpr bool is_assigned_calling_code(int code) {
  return std::ranges::binary_search(assigned_calling_codes, code);
}

constexpr std::size_t digit_count(int number) {
  return number < 10 ? 1 : 1 + digit_count(number / 10);
}

/// What an international number is checked against: a calling code shared by several
/// regions (+1, +7) gets the union of their lengths.
struct calling_code_plan {
  int calling_code = 0;
  trunk_prefix trunk = no_trunk_prefix;
  length_set lengths{};
};

consteval std::size_t count_calling_codes() {
  std::size_t count = 0;
  for (std::size_t index = 0; index < region_plans.size(); ++index) {
    const bool seen_before = std::ranges::any_of(
        region_plans.begin(), region_plans.begin() + static_cast<std::ptrdiff_t>(index),
        [&](const region_plan& earlier) {
          return earlier.calling_code == region_plans[index].calling_code;
        });
    count += seen_before ? 0 : 1;
  }
  return count;
}

consteval auto make_calling_code_plans() {
  std::array<calling_code_plan, count_calling_codes()> plans{};
  std::size_t used = 0;
  for (const region_plan& region : region_plans) {
    const auto found = std::ranges::find(plans.begin(), plans.begin() + used, region.calling_code,
                                         &calling_code_plan::calling_code);
    if (found == plans.begin() + used) {
      plans[used++] = {region.calling_code, region.trunk, region.lengths};
    } else if (found->trunk != region.trunk) {
      throw "regions that share a calling code must share a trunk prefix";
    } else {
      found->lengths = found->lengths | region.lengths;
    }
  }
  return plans;
}

constexpr auto calling_code_plans = make_calling_code_plans();

consteval bool tables_are_consistent() {
  if (!std::ranges::is_sorted(assigned_calling_codes)) {
    return false;
  }
  for (const std::uint16_t code : assigned_calling_codes) {
    if (code >= 10 && is_assigned_calling_code(code / 10)) {
      return false; // not prefix-free
    }
    if (code >= 100 && is_assigned_calling_code(code / 100)) {
      return false;
    }
  }
  return std::ranges::all_of(region_plans, [](const region_plan& region) {
    return is_assigned_calling_code(region.calling_code) && region.lengths.shortest() > 0 &&
           digit_count(region.calling_code) + region.lengths.longest() <= k_e164_max_digits;
  });
}
static_assert(tables_are_consistent());

const region_plan* find_region_plan(std::string_view region) {
  const auto found = std::ranges::find(region_plans, region, &region_plan::region);
  return found == region_plans.end() ? nullptr : &*found;
}

const calling_code_plan* find_calling_code_plan(int calling_code) {
  const auto found =
      std::ranges::find(calling_code_plans, calling_code, &calling_code_plan::calling_code);
  return found == calling_code_plans.end() ? nullptr : &*found;
}

/// The digits of an input that passed the character check.
struct scanned_input {
  bool has_plus = false;
  std::string digits; // the first k_max_kept_digits of them
  std::size_t total_digits = 0;
};

std::expected<scanned_input, phone_error> scan(std::string_view input) {
  scanned_input scanned;
  bool has_content = false; // anything that is not white space
  for (std::size_t index = 0; index < input.size(); ++index) {
    const char character = input[index];
    if (character >= '0' && character <= '9') {
      if (scanned.digits.size() < k_max_kept_digits) {
        scanned.digits.push_back(character);
      }
      ++scanned.total_digits;
      has_content = true;
    } else if (character == ' ') {
      continue;
    } else if (character == '\xC2' && index + 1 < input.size() && input[index + 1] == '\xA0') {
      ++index; // U+00A0 NO-BREAK SPACE
    } else if (character == '.' || character == '-' || character == '(' || character == ')') {
      has_content = true;
    } else if (character == '+' && !has_content) {
      scanned.has_plus = true;
      has_content = true;
    } else {
      return std::unexpected(phone_error::invalid_characters);
    }
  }
  if (!has_content) {
    return std::unexpected(phone_error::empty);
  }
  if (scanned.total_digits == 0) {
    return std::unexpected(phone_error::too_short);
  }
  return scanned;
}

std::string_view drop_trunk_prefix(std::string_view national, trunk_prefix trunk,
                                   length_set lengths) {
  if (trunk.digits.empty() || !national.starts_with(trunk.digits)) {
    return national;
  }
  const std::string_view rest = national.substr(trunk.digits.size());
  if (trunk.rule == trunk_prefix_rule::dropped_when_length_fits && !lengths.contains(rest.size())) {
    return national;
  }
  return rest;
}

/// NANP numbers are NXX-NXX-XXXX: area code and exchange code start with 2–9.
bool is_valid_nanp_number(std::string_view national) {
  return national[0] >= '2' && national[3] >= '2';
}

std::expected<std::string, phone_error> finish(int calling_code, std::string_view national,
                                               trunk_prefix trunk, length_set lengths,
                                               std::size_t uncounted_digits) {
  national = drop_trunk_prefix(national, trunk, lengths);
  const std::size_t length = national.size() + uncounted_digits;
  if (length < lengths.shortest()) {
    return std::unexpected(phone_error::too_short);
  }
  if (length > lengths.longest()) {
    return std::unexpected(phone_error::too_long);
  }
  if (!lengths.contains(length)) {
    return std::unexpected(phone_error::invalid_number);
  }
  if (calling_code == 1 && !is_valid_nanp_number(national)) {
    return std::unexpected(phone_error::invalid_number);
  }
  return "+" + std::to_string(calling_code) + std::string{national};
}

std::expected<std::string, phone_error> finish_international(std::string_view digits,
                                                             std::size_t uncounted_digits) {
  if (digits.front() == '0') {
    return std::unexpected(phone_error::invalid_country_code);
  }
  int calling_code = 0;
  std::size_t code_length = 1;
  for (; code_length <= 3; ++code_length) {
    if (code_length > digits.size()) {
      return std::unexpected(phone_error::too_short); // perhaps a code not finished yet
    }
    calling_code = calling_code * 10 + (digits[code_length - 1] - '0');
    if (is_assigned_calling_code(calling_code)) {
      break;
    }
  }
  if (code_length > 3) {
    return std::unexpected(phone_error::invalid_country_code);
  }
  const std::string_view national = digits.substr(code_length);
  if (const calling_code_plan* plan = find_calling_code_plan(calling_code)) {
    return finish(calling_code, national, plan->trunk, plan->lengths, uncounted_digits);
  }
  const length_set fallback =
      length_set::range(k_fallback_min_national_digits, k_e164_max_digits - code_length);
  return finish(calling_code, national, no_trunk_prefix, fallback, uncounted_digits);
}

} // namespace

std::string_view describe(phone_error error) {
  switch (error) {
  case phone_error::empty:
    return "The phone number is empty.";
  case phone_error::invalid_characters:
    return "The phone number may contain only digits, spaces, dots, dashes, parentheses and a "
           "leading +.";
  case phone_error::unknown_region:
    return "Phone numbers from this region must be entered with their country code, "
           "starting with +.";
  case phone_error::invalid_country_code:
    return "The phone number's country code is not valid.";
  case phone_error::too_short:
    return "The phone number is too short.";
  case phone_error::too_long:
    return "The phone number is too long.";
  case phone_error::invalid_number:
    return "The phone number is not valid.";
  }
  return "The phone number is not valid.";
}

bool is_known_region(std::string_view region) {
  return find_region_plan(region) != nullptr;
}

std::expected<std::string, phone_error> normalize_phone(std::string_view input,
                                                        std::string_view default_region) {
  const auto scanned = scan(input);
  if (!scanned) {
    return std::unexpected(scanned.error());
  }
  std::string_view digits = scanned->digits;
  const std::size_t uncounted_digits = scanned->total_digits - digits.size();
  if (scanned->has_plus) {
    return finish_international(digits, uncounted_digits);
  }
  if (digits.starts_with("00")) {
    digits.remove_prefix(2);
    if (digits.empty()) {
      return std::unexpected(phone_error::too_short);
    }
    return finish_international(digits, uncounted_digits);
  }
  const region_plan* region = find_region_plan(default_region);
  if (region == nullptr) {
    return std::unexpected(phone_error::unknown_region);
  }
  return finish(region->calling_code, digits, region->trunk, region->lengths, uncounted_digits);
}

} // namespace parley::auth

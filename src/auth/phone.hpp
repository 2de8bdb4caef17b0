#pragma once
// Phone numbers as people type them, turned into E.164 ("+14155550123"): the one form that
// the store keeps, that rate limits count by and that the SMS sender is given.
//
// Debian's libphonenumber cannot be installed beside Boost 1.81, so this is deliberately a
// small, tested table rather than a full numbering-plan library (see DESIGN.md, "Phone
// numbers"). It knows, for each region it lists, the country calling code, the trunk prefix
// and the lengths a national significant number may have (fixed-line, mobile, VoIP and
// personal numbers, from libphonenumber's metadata, capped at E.164's 15 digits); toll-free,
// premium-rate and short service numbers are not subscriber numbers and are not accepted.
// It checks lengths, not number ranges: a number that passes here may still not exist.
// Twilio remains the final judge of a number; this module only keeps garbage out, gives the
// person a helpful error early, and makes one person's number always normalise the same way.
//
// Every function here is pure and thread-safe.

#include <expected>
#include <string>
#include <string_view>

namespace parley::auth {

/// Why `normalize_phone` refused an input.
enum class phone_error {
  empty,                ///< Nothing but white space.
  invalid_characters,   ///< A letter, an extension marker, a misplaced "+", any other byte.
  unknown_region,       ///< A national number, and `default_region` is not in the table.
  invalid_country_code, ///< "+0…", or a calling code that no country has.
  too_short,            ///< Fewer digits than the numbering plan allows.
  too_long,             ///< More digits than the numbering plan (or E.164) allows.
  invalid_number,       ///< A length the plan skips, or a NANP area/exchange code starting 0/1.
};

/// A short English sentence for each error, fit for an API error message
/// (e.g. "The phone number is too short.").
[[nodiscard]] std::string_view describe(phone_error error);

/// True when `region` (ISO 3166-1 alpha-2, upper case, e.g. "US", "GB") is in the
/// national-format table. Lower case ("us") is not recognised.
///
/// Regions: US, CA, GB, IE, FR, DE, ES, IT, NL, BE, CH, AT, SE, NO, DK, FI, PL, PT, GR, RU,
/// KZ, UA, TR, IL, IN, CN, JP, KR, SG, HK, AU, NZ, BR, MX, AR, ZA, NG, KE, EG, AE, SA.
[[nodiscard]] bool is_known_region(std::string_view region);

/// Normalises what a person typed into E.164 ("+14155550123").
///
/// Accepts:
/// - International numbers: a leading "+" (or the "00" international prefix, read as "+"),
///   the calling code, then the national significant number. The calling code is checked
///   against every code the ITU has assigned to a country (non-geographic codes such as
///   +800 freephone and +881 satellite are refused); for the codes of the table's
///   regions the number's length is checked against that plan, for other countries only
///   against E.164 (4 to 15 − code-length digits). A trunk prefix written after the calling
///   code, as in "+44 (0)20 7946 0958", is dropped.
/// - National numbers for `default_region`: "(415) 555-0123" or "1 415 555 0123" with "US",
///   "020 7946 0958" with "GB" (the trunk prefix is dropped), "030 123456" with "DE".
///   Italy keeps its leading 0 ("06 1234 5678" → "+390612345678").
///   `default_region` is only consulted for national input.
/// - Between the digits: spaces, non-breaking spaces (U+00A0), dots, dashes and parentheses,
///   anywhere and in any number (parentheses need not pair up). The "+" may only be
///   preceded by white space. Nothing else: "030/123456" and "415–555–0123" (en dash) fail.
///
/// North American (+1) numbers must have 10 digits whose area code and exchange code do not
/// start with 0 or 1.
///
/// Rejects, with the first error that applies in this order: `invalid_characters` (letters,
/// so no vanity numbers; extensions such as "x123" or "ext. 5"; a second "+" or one that is
/// not first; tabs, control characters, other Unicode, invalid UTF-8), `empty` (nothing but
/// white space), `too_short` (punctuation without digits, a lone "+", a cut-off calling
/// code such as "+42"), then `invalid_country_code` or `unknown_region`, then the length
/// checks (`too_short`, `too_long`, `invalid_number`) and the NANP check (`invalid_number`).
///
/// Not understood (Twilio's Lookup or the web client's libphonenumber-js handle these):
/// international prefixes other than "00" (such as the NANP's "011"), Argentina's national
/// mobile "15" infix, Brazil's carrier-selection codes, Mexico's retired "044"/"045"/"01".
/// `input` may be of any length: it is read once, and only its first 19 digits are kept.
[[nodiscard]] std::expected<std::string, phone_error>
normalize_phone(std::string_view input, std::string_view default_region);

} // namespace parley::auth

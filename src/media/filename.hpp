#pragma once
// Names of uploaded files: from the `X-Filename` request header to a name that is safe to
// store, show and send back in a `Content-Disposition` header.
//
// A stored name is only ever shown and offered as a download name; blobs are stored under
// their hash, never under it. Still, every name that leaves sanitize_filename() is:
//   - valid UTF-8 (ill-formed sequences, checked with ICU's U8_NEXT, become U+FFFD);
//   - free of NUL and control characters (C0, DEL, C1) and of bidirectional controls
//     (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which are dropped;
//   - free of `/` and `\`, replaced by `_`;
//   - without leading dots or spaces (so never `.`, `..` or a hidden file's name);
//   - at most 255 bytes, cut on a code point boundary; an extension of up to 32 bytes after
//     the last dot is kept when the name is cut (`<long name>.pdf` stays a `.pdf`);
//   - never empty: `file` when nothing is left.
// Anything else, non-ASCII letters, emoji, combining marks included, is kept byte for byte
// (no normalisation), so `é`, `日本語` and `🎉` round-trip unchanged.
//
// Percent-decoding is lenient: a `%` that is not followed by two hexadecimal digits is kept as
// a literal `%` (a name is a convenience; a badly encoded one must not fail an upload). `+` is
// not a space. Pure functions, thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::media {

/// Longest stored name, in UTF-8 bytes (what most file systems allow for one path component).
inline constexpr std::size_t max_filename_bytes = 255;

/// The name that an `X-Filename` header value (percent-encoded UTF-8) stands for, sanitised.
[[nodiscard]] std::string decode_filename(std::string_view header_value);

/// `name` (any bytes) made safe as described above, without percent-decoding.
[[nodiscard]] std::string sanitize_filename(std::string_view name);

/// A `Content-Disposition` value for `name` (RFC 6266 with RFC 8187's `filename*`):
///   attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>
/// `disposition` is `inline` or `attachment` (anything else is taken as `attachment`).
/// `name` is passed through sanitize_filename() first (a clean name is unchanged). The quoted
/// fallback is that name with every non-ASCII code point and every `"`, `\` and `%` replaced by
/// `_` (RFC 6266 appendix D: no escapes, no percent sequences in the fallback);
/// `filename*` percent-encodes, with upper-case hex digits, every byte outside RFC 8187's
/// attr-char (ALPHA DIGIT ! # $ & + - . ^ _ ` | ~).
[[nodiscard]] std::string content_disposition(std::string_view disposition, std::string_view name);

} // namespace parley::media

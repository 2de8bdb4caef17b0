#pragma once
// What a browser hands over when it subscribes to push (API.md "Notifications"), checked
// before anything is stored: the endpoint is an https URL whose host is not a loopback,
// private or link-local address (names are resolved again, and checked, before each send),
// `p256dh` an uncompressed P-256 point, `auth` 16 bytes.

#include "net/http_client.hpp"
#include "push/crypto.hpp"

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace parley::push {

inline constexpr std::size_t max_endpoint_length = 2048;

/// A push endpoint, split for the HTTP client: where to connect and what to ask for.
struct endpoint {
  net::base_url origin;   ///< Scheme, host and port; no path prefix.
  std::string target;     ///< Path and query, as encoded in the URL.
  std::string audience;   ///< The origin as VAPID's `aud` wants it: "https://host[:port]".
};

/// Parses and checks an endpoint. `allow_insecure`: also `http://127.0.0.1:PORT/…` (a testing
/// aid; nothing else on loopback, and never another scheme). On failure, a sentence for the
/// client.
[[nodiscard]] std::expected<endpoint, std::string> parse_endpoint(std::string_view url,
                                                                  bool allow_insecure);

struct subscription_keys {
  bytes p256dh; ///< 65 bytes, a point on P-256.
  bytes auth;   ///< 16 bytes.
};

/// Decodes and checks the two base64url keys. On failure, a sentence for the client.
[[nodiscard]] std::expected<subscription_keys, std::string> parse_keys(std::string_view p256dh,
                                                                       std::string_view auth);

/// The address filter for sends: public addresses only, or with `allow_insecure` also
/// 127.0.0.1 (the loopback test service).
[[nodiscard]] net::address_filter send_filter(bool allow_insecure);

} // namespace parley::push

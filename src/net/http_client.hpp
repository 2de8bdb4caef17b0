#pragma once
// A small HTTPS client for calls to other services (the SMS providers, push services): one
// POST per call, a fresh connection each time, the whole call bounded by one deadline, and,
// for URLs that users hand in, a filter on the addresses a host name resolves to.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace parley::net {

using header_field = std::pair<std::string, std::string>;

/// Where a provider lives: `scheme://host[:port][/prefix]`.
struct base_url {
  bool tls = true;         ///< https; false only for loopback hosts.
  std::string host;        ///< Host name or address, without IPv6 brackets.
  std::uint16_t port = 0;  ///< Explicit or the scheme's default.
  std::string path_prefix; ///< Percent-encoded, without a trailing `/`; usually empty.
};

/// Parses `text` as an https URL, or an http URL whose host is loopback (`localhost`,
/// 127.0.0.0/8, `[::1]`). No user info, query or fragment. On failure, a sentence naming
/// what is wrong.
[[nodiscard]] std::expected<base_url, std::string> parse_base_url(std::string_view text);

/// One `name=value` pair of an application/x-www-form-urlencoded body.
using form_field = std::pair<std::string, std::string>;

/// `fields` encoded as application/x-www-form-urlencoded: every byte but ALPHA, DIGIT and
/// `-._~` becomes `%XX`, so `+` arrives as a plus and a space as a space.
[[nodiscard]] std::string form_encode(const std::vector<form_field>& fields);

/// `segment` percent-encoded for use as one path segment.
[[nodiscard]] std::string path_segment(std::string_view segment);

/// A client TLS context: default verify paths, peer verification, TLS 1.2 or newer.
/// Throws boost::system::system_error when OpenSSL cannot set it up.
[[nodiscard]] std::shared_ptr<boost::asio::ssl::context> make_tls_client_context();

struct http_response {
  unsigned status = 0;
  std::string body;
  std::vector<header_field> headers; ///< As received; names as the server spelled them.

  /// The value of the first header named `name` (case-insensitive), or empty.
  [[nodiscard]] std::string_view header(std::string_view name) const;
};

/// One POST: `target` (path and query, already encoded; appended to the base's prefix; starts
/// with `/`), extra header fields, and the body.
struct outgoing_request {
  std::string target;
  std::vector<header_field> headers;
  std::string body;
};

/// Whether the client may connect to an address a host resolved to. Calls to URLs that users
/// give (push endpoints) pass one that refuses loopback, private and link-local addresses, so
/// that a user cannot make the server call into its own network.
using address_filter = std::function<bool(const boost::asio::ip::address&)>;

/// True for an address that is none of: unspecified, loopback, private (10/8, 172.16/12,
/// 192.168/16, fc00::/7), shared (100.64/10), link-local (169.254/16, fe80::/10), multicast,
/// broadcast, reserved (0/8, 240/4), documentation or benchmarking ranges; IPv4-mapped IPv6
/// addresses are judged as their IPv4 address.
[[nodiscard]] bool is_public_address(const boost::asio::ip::address& address);

/// Why no response arrived.
struct transport_error {
  enum class kind {
    timeout,  ///< The deadline passed before the response was complete.
    network,  ///< Resolve, connect, TLS (certificate or host name too), write or read failed.
    too_large, ///< The response exceeded the header or body limit.
    refused    ///< The host resolved only to addresses the client's filter refuses.
  };
  kind what = kind::network;
  std::string detail; ///< For logs: which step failed and the system's reason.
};

struct http_call_settings; // what every call of one client shares; see http_client.cpp

/// Sends POSTs to one base URL. Thread-safe: each call has its own connection and state.
class http_client {
public:
  static constexpr std::size_t k_body_limit = 64 * 1024;
  static constexpr std::size_t k_header_limit = 16 * 1024;

  /// `executor` runs all the network work of every call. `tls_context` is needed when
  /// `base.tls` (else std::invalid_argument); it is shared and must be fully configured
  /// before the first call. The client must outlive the awaitables it returns.
  /// `allowed`, when given, is asked about every address the host resolves to; the call
  /// connects only to those it accepts.
  http_client(base_url base, boost::asio::any_io_executor executor,
              std::chrono::milliseconds timeout,
              std::shared_ptr<boost::asio::ssl::context> tls_context,
              address_filter allowed = {});

  /// POSTs `fields` as a form to `path` (appended to the base's prefix; starts with `/`)
  /// with the given `Authorization` header value. The call runs on the client's executor
  /// and resumes the caller on the caller's executor. Any HTTP status is a response;
  /// only a missing or unreadable response is a transport_error.
  [[nodiscard]] boost::asio::awaitable<std::expected<http_response, transport_error>>
  post_form(std::string path, std::string authorization, std::vector<form_field> fields) const;

  /// POSTs `request` with the given extra header fields (`Host`, `User-Agent`,
  /// `Content-Length` and `Connection: close` are the client's). Same rules as post_form.
  [[nodiscard]] boost::asio::awaitable<std::expected<http_response, transport_error>>
  post(outgoing_request request) const;

  [[nodiscard]] const base_url& base() const { return base_; }

private:
  base_url base_;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<const http_call_settings> settings_; // shared with the calls in flight
};

} // namespace parley::net

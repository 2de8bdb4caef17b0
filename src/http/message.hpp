#pragma once
// HTTP types shared by the server, the router and the handlers, and the helpers that build
// the contract's responses: JSON bodies and the error shape
// {"error": {"code": "snake_case", "message": "human sentence"}}.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::http {

namespace beast_http = boost::beast::http;
using request = beast_http::request<beast_http::string_body>;
using response = beast_http::response<beast_http::string_body>;
using status = beast_http::status;

/// What a handler knows about the request besides the request itself.
struct request_context {
  const request& message;
  std::string client_address;  ///< Peer address, or X-Forwarded-For's first hop behind a trusted proxy.
  bool secure = false;         ///< Reached over https (X-Forwarded-Proto behind a trusted proxy).
  std::map<std::string, std::string, std::less<>> parameters; ///< From the route pattern: {id}.
  std::string_view path;       ///< Without the query string.
  std::string_view query;      ///< Without the '?'.
};

/// A JSON response with the standard API headers (no caching, nosniff).
[[nodiscard]] response json_response(const request& to, status code, const boost::json::value& body);
/// The same with a body already written as JSON text.
[[nodiscard]] response json_text_response(const request& to, status code, std::string body);

/// The contract's error shape. `extra` members (e.g. attempts_left) go inside "error".
[[nodiscard]] response error_response(const request& to, status code, std::string_view error_code,
                                      std::string_view message,
                                      const boost::json::object& extra = {});

/// An empty response (204 and the like).
[[nodiscard]] response empty_response(const request& to, status code);

/// Adds `Retry-After: seconds`.
void set_retry_after(response& target, std::chrono::seconds wait);

/// The value of query parameter `name` (percent-decoded), if present.
[[nodiscard]] std::optional<std::string> query_parameter(std::string_view query, std::string_view name);

/// True when the request's Origin is listed in `allowed` (case-insensitively) or is the
/// request's own Host over http or https (a same-origin request).
[[nodiscard]] bool origin_allowed(const request& message, const std::vector<std::string>& allowed);

/// The value of cookie `name` in one Cookie header's value, if present.
[[nodiscard]] std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

/// The value of cookie `name` in the request's Cookie headers, if present.
[[nodiscard]] std::optional<std::string> cookie(const request& from, std::string_view name);

} // namespace parley::http

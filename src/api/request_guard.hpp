#pragma once
// What every API handler checks before its own work: who is calling (session cookie or
// bearer token), whether a cookie-authenticated write comes from an allowed origin, and
// that a body is a JSON object. Each check answers with the contract's error shape.

#include "api/routes.hpp"
#include "http/message.hpp"

#include <boost/json/object.hpp>

#include <expected>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace parley::api {

struct caller {
  auth::identity who;
  bool by_cookie = false;
};

/// The token from `Authorization: Bearer` (preferred) or the session cookie.
struct presented_token {
  std::string token;
  bool by_cookie = false;
};
[[nodiscard]] std::optional<presented_token> find_token(const http::request& message);

/// Refuses a write (POST/PATCH/DELETE) whose Origin is not allowed, or that is
/// cookie-authenticated and has no Origin at all: 403 forbidden_origin.
[[nodiscard]] std::optional<http::response> check_origin(const http::request& message,
                                                         bool by_cookie,
                                                         const std::vector<std::string>& allowed);

/// Authenticates the caller and applies the origin rule; 401 or 403 as the error.
boost::asio::awaitable<std::expected<caller, http::response>>
require_caller(http::request_context& context, const dependencies& with);

/// The presented token once the origin rule is applied; 401 or 403 as the error.
[[nodiscard]] std::expected<presented_token, http::response>
caller_token(const http::request& message, const dependencies& with);
/// 401 unauthorized: the session is missing, unknown or revoked.
[[nodiscard]] http::response unknown_session(const http::request& message);

/// require_caller, and `job(transaction, who)` in the same read of the store (a read job that
/// needs the caller: one trip to the store's readers, not two).
template <class Job>
boost::asio::awaitable<std::expected<
    std::pair<caller, std::invoke_result_t<const Job&, store::read_transaction&, const auth::identity&>>,
    http::response>>
read_as_caller(http::request_context& context, const dependencies& with, Job job) {
  auto token = caller_token(context.message, with);
  if (!token) {
    co_return std::unexpected(std::move(token.error()));
  }
  auto found = co_await with.auth.authenticate_and_read(std::move(token->token), std::move(job));
  if (!found) {
    co_return std::unexpected(unknown_session(context.message));
  }
  co_return std::pair{caller{std::move(found->first), token->by_cookie},
                      std::move(found->second)};
}

/// Parses the body as a JSON object (an empty body is an empty object); 400 bad_request.
[[nodiscard]] std::expected<boost::json::object, http::response>
json_body(const http::request& message);

/// A string member: nullopt when absent; an error response when present but not a string.
[[nodiscard]] std::expected<std::optional<std::string>, http::response>
optional_string(const http::request& message, const boost::json::object& body,
                std::string_view field);

/// Like optional_string, but absence is a 400 bad_request too.
[[nodiscard]] std::expected<std::string, http::response>
required_string(const http::request& message, const boost::json::object& body,
                std::string_view field);

/// A positive decimal id as it appears in a path or a query ("42"; no sign, no leading
/// zeros needed, at most 2^63-1).
[[nodiscard]] std::optional<store::id> parse_id(std::string_view text);
/// The route parameter `name` as an id.
[[nodiscard]] std::optional<store::id> path_id(const http::request_context& context,
                                               std::string_view name);
/// A JSON number that is a positive integer id.
[[nodiscard]] std::optional<store::id> positive_id(const boost::json::value& value);

} // namespace parley::api

#include "api/request_guard.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "common/text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

namespace parley::api {

namespace beast_http = boost::beast::http;

std::optional<presented_token> find_token(const http::request& message) {
  const std::string_view authorization = message[beast_http::field::authorization];
  if (authorization.size() > 7 && text::ascii_lower(authorization.substr(0, 7)) == "bearer ") {
    return presented_token{std::string(text::trim(authorization.substr(7))), false};
  }
  if (auto value = http::cookie(message, k_session_cookie); value && !value->empty()) {
    return presented_token{std::move(*value), true};
  }
  return std::nullopt;
}

std::optional<http::response> check_origin(const http::request& message, bool by_cookie,
                                           const std::vector<std::string>& allowed) {
  const auto method = message.method();
  if (method != beast_http::verb::post && method != beast_http::verb::patch &&
      method != beast_http::verb::delete_ && method != beast_http::verb::put) {
    return std::nullopt;
  }
  const bool has_origin = message.find(beast_http::field::origin) != message.end();
  if ((has_origin && !http::origin_allowed(message, allowed)) || (!has_origin && by_cookie)) {
    return http::error_response(message, http::status::forbidden, "forbidden_origin",
                                "This request must come from an allowed origin.");
  }
  return std::nullopt;
}

std::expected<presented_token, http::response> caller_token(const http::request& message,
                                                            const dependencies& with) {
  auto token = find_token(message);
  if (!token) {
    return std::unexpected(http::error_response(message, http::status::unauthorized,
                                                "unauthorized", "Sign in first."));
  }
  // The origin is checked before the session is looked up: a forged request learns nothing.
  if (auto refusal = check_origin(message, token->by_cookie, with.allowed_origins)) {
    return std::unexpected(std::move(*refusal));
  }
  return std::move(*token);
}

http::response unknown_session(const http::request& message) {
  return http::error_response(message, http::status::unauthorized, "unauthorized",
                              "The session is missing, unknown or revoked.");
}

boost::asio::awaitable<std::expected<caller, http::response>>
require_caller(http::request_context& context, const dependencies& with) {
  auto token = caller_token(context.message, with);
  if (!token) {
    co_return std::unexpected(std::move(token.error()));
  }
  auto who = co_await with.auth.authenticate(std::move(token->token));
  if (!who) {
    co_return std::unexpected(unknown_session(context.message));
  }
  co_return caller{std::move(*who), token->by_cookie};
}

std::expected<boost::json::object, http::response> json_body(const http::request& message) {
  const auto bad = [&](std::string_view why) {
    return std::unexpected(
        http::error_response(message, http::status::bad_request, "bad_request", why));
  };
  const std::string_view content_type = message[beast_http::field::content_type];
  if (!content_type.empty() &&
      !text::ascii_lower(content_type).starts_with("application/json")) {
    return bad("The body must be JSON (Content-Type: application/json).");
  }
  if (text::trim(message.body()).empty()) {
    return boost::json::object{};
  }
  boost::json::parse_options options;
  options.max_depth = 16;
  boost::system::error_code error;
  auto value = boost::json::parse(message.body(), error, {}, options);
  if (error) {
    return bad("The body is not valid JSON.");
  }
  if (!value.is_object()) {
    return bad("The body must be a JSON object.");
  }
  return std::move(value.as_object());
}

std::expected<std::optional<std::string>, http::response>
optional_string(const http::request& message, const boost::json::object& body,
                std::string_view field) {
  const auto* value = body.if_contains(field);
  if (value == nullptr || value->is_null()) {
    return std::optional<std::string>{};
  }
  if (!value->is_string()) {
    return std::unexpected(http::error_response(message, http::status::bad_request, "bad_request",
                                                "The field '" + std::string(field) +
                                                    "' must be a string."));
  }
  return std::optional<std::string>{std::string(value->as_string())};
}

std::expected<std::string, http::response> required_string(const http::request& message,
                                                           const boost::json::object& body,
                                                           std::string_view field) {
  auto value = optional_string(message, body, field);
  if (!value) {
    return std::unexpected(std::move(value.error()));
  }
  if (!*value) {
    return std::unexpected(http::error_response(message, http::status::bad_request, "bad_request",
                                                "The field '" + std::string(field) +
                                                    "' is required."));
  }
  return std::move(**value);
}

std::optional<store::id> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 19 ||
      !std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  store::id value = 0;
  const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (failure != std::errc{} || end != text.data() + text.size() || value <= 0) {
    return std::nullopt;
  }
  return value;
}

std::optional<store::id> path_id(const http::request_context& context, std::string_view name) {
  const auto found = context.parameters.find(name);
  if (found == context.parameters.end()) {
    return std::nullopt;
  }
  return parse_id(found->second);
}

std::optional<store::id> positive_id(const boost::json::value& value) {
  if (const auto* number = value.if_int64(); number != nullptr && *number > 0) {
    return *number;
  }
  if (const auto* number = value.if_uint64();
      number != nullptr && *number > 0 && *number <= std::uint64_t(INT64_MAX)) {
    return static_cast<store::id>(*number);
  }
  return std::nullopt;
}

} // namespace parley::api

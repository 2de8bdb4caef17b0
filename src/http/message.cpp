#include "http/message.hpp"

#include "common/text.hpp"

#include <boost/json/serialize.hpp>

namespace parley::http {
namespace {

void common_headers(response& target) {
  target.set(beast_http::field::server, "parley");
  target.set(beast_http::field::cache_control, "no-store");
  target.set("X-Content-Type-Options", "nosniff");
}

} // namespace

response json_response(const request& to, status code, const boost::json::value& body) {
  return json_text_response(to, code, boost::json::serialize(body));
}

response json_text_response(const request& to, status code, std::string body) {
  response result{code, to.version()};
  common_headers(result);
  result.set(beast_http::field::content_type, "application/json; charset=utf-8");
  result.keep_alive(to.keep_alive());
  result.body() = std::move(body);
  result.prepare_payload();
  return result;
}

response error_response(const request& to, status code, std::string_view error_code,
                        std::string_view message, const boost::json::object& extra) {
  boost::json::object error{{"code", error_code}, {"message", message}};
  for (const auto& member : extra) {
    error.insert(member);
  }
  return json_response(to, code, boost::json::object{{"error", std::move(error)}});
}

response empty_response(const request& to, status code) {
  response result{code, to.version()};
  common_headers(result);
  result.keep_alive(to.keep_alive());
  result.prepare_payload();
  return result;
}

void set_retry_after(response& target, std::chrono::seconds wait) {
  target.set(beast_http::field::retry_after, std::to_string(std::max<std::int64_t>(1, wait.count())));
}

namespace {

using text::hex_value;

// application/x-www-form-urlencoded decoding: %XX and '+' for a space. A malformed escape is
// kept as it is.
std::string form_decode(std::string_view encoded) {
  std::string result;
  result.reserve(encoded.size());
  for (std::size_t index = 0; index < encoded.size(); ++index) {
    const char character = encoded[index];
    if (character == '+') {
      result.push_back(' ');
    } else if (character == '%' && index + 2 < encoded.size() &&
               hex_value(encoded[index + 1]) >= 0 && hex_value(encoded[index + 2]) >= 0) {
      result.push_back(static_cast<char>(hex_value(encoded[index + 1]) * 16 + hex_value(encoded[index + 2])));
      index += 2;
    } else {
      result.push_back(character);
    }
  }
  return result;
}

} // namespace

// Boost.URL 1.81's pct_string_view::decode() reads past the end of a view into the rest of the
// buffer (seen with a request target), so the query is parsed here.
std::optional<std::string> query_parameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto ampersand = query.find('&');
    const auto pair = query.substr(0, ampersand);
    query = ampersand == std::string_view::npos ? std::string_view() : query.substr(ampersand + 1);
    const auto equals = pair.find('=');
    if (form_decode(pair.substr(0, equals)) == name) {
      return equals == std::string_view::npos ? std::string() : form_decode(pair.substr(equals + 1));
    }
  }
  return std::nullopt;
}

bool origin_allowed(const request& message, const std::vector<std::string>& allowed) {
  const std::string origin = text::ascii_lower(message[beast_http::field::origin]);
  for (const auto& candidate : allowed) {
    if (origin == text::ascii_lower(candidate)) {
      return true;
    }
  }
  const std::string host = text::ascii_lower(message[beast_http::field::host]);
  return !host.empty() && (origin == "http://" + host || origin == "https://" + host);
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  std::string_view rest = header;
  while (!rest.empty()) {
    const auto end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') {
      pair.remove_prefix(1);
    }
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      std::string_view value = pair.substr(equals + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
  }
  return std::nullopt;
}

std::optional<std::string> cookie(const request& from, std::string_view name) {
  const auto [first, last] = from.equal_range(beast_http::field::cookie);
  for (auto field = first; field != last; ++field) {
    if (auto value = cookie_value(field->value(), name)) {
      return value;
    }
  }
  return std::nullopt;
}

} // namespace parley::http

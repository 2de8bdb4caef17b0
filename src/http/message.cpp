#include "http/message.hpp"

#include <boost/json/serialize.hpp>
#include <boost/url/parse_query.hpp>

namespace parley::http {
namespace {

void common_headers(response& target) {
  target.set(beast_http::field::server, "parley");
  target.set(beast_http::field::cache_control, "no-store");
  target.set("X-Content-Type-Options", "nosniff");
}

} // namespace

response json_response(const request& to, status code, const boost::json::value& body) {
  response result{code, to.version()};
  common_headers(result);
  result.set(beast_http::field::content_type, "application/json; charset=utf-8");
  result.keep_alive(to.keep_alive());
  result.body() = boost::json::serialize(body);
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

std::optional<std::string> query_parameter(std::string_view query, std::string_view name) {
  auto parsed = boost::urls::parse_query(query);
  if (!parsed) {
    return std::nullopt;
  }
  for (const auto& parameter : *parsed) {
    if (parameter.key.decode() == name) {
      return parameter.has_value ? parameter.value.decode() : std::string();
    }
  }
  return std::nullopt;
}

std::optional<std::string> cookie(const request& from, std::string_view name) {
  const auto [first, last] = from.equal_range(beast_http::field::cookie);
  for (auto field = first; field != last; ++field) {
    std::string_view rest = field->value();
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
  }
  return std::nullopt;
}

} // namespace parley::http

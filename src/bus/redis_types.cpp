// Errors, endpoints and the redis:// URL parser.

#include "bus/redis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace parley::bus::redis {

namespace {

class category_impl final : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "parley.bus.redis"; }
  std::string message(int value) const override {
    switch (static_cast<error>(value)) {
    case error::not_connected:
      return "not connected to Redis";
    case error::timeout:
      return "Redis did not answer in time";
    case error::connection_lost:
      return "connection to Redis lost";
    case error::stopped:
      return "Redis client stopped";
    case error::invalid_argument:
      return "invalid Redis command";
    case error::unsupported_command:
      return "command not supported on this connection";
    case error::protocol_error:
      return "unexpected answer from Redis";
    }
    return "unknown Redis client error";
  }
};

bool is_digits(std::string_view s) {
  return !s.empty() && std::ranges::all_of(s, [](unsigned char c) { return std::isdigit(c); });
}

std::expected<std::string, std::string> percent_decode(std::string_view s, const char* what) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= s.size())
      return std::unexpected(fmt::format("bad percent-escape in the {}", what));
    auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
    if (ec != std::errc{} || end != s.data() + i + 3)
      return std::unexpected(fmt::format("bad percent-escape in the {}", what));
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

} // namespace

const boost::system::error_category& error_category() {
  static const category_impl instance;
  return instance;
}

boost::system::error_code make_error_code(error e) {
  return {static_cast<int>(e), error_category()};
}

std::string_view to_string(reply::kind k) {
  switch (k) {
  case reply::kind::nil:
    return "nil";
  case reply::kind::integer:
    return "integer";
  case reply::kind::string:
    return "string";
  case reply::kind::status:
    return "status";
  case reply::kind::error:
    return "error";
  case reply::kind::array:
    return "array";
  }
  return "?";
}

std::string endpoint::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  std::string auth;
  if (!password.empty())
    auth = fmt::format("{}:***@", username);
  return fmt::format("redis://{}{}{}{}:{}/{}", auth, v6 ? "[" : "", host, v6 ? "]" : "", port,
                     database);
}

std::expected<endpoint, std::string> parse_url(std::string_view url) {
  auto fail = [&](std::string_view why) {
    return std::unexpected(fmt::format("bad Redis URL '{}': {}", url, why));
  };
  constexpr std::string_view scheme = "redis://";
  if (url.size() < scheme.size() ||
      !std::ranges::equal(url.substr(0, scheme.size()), scheme,
                          [](unsigned char a, char b) { return std::tolower(a) == b; })) {
    if (url.starts_with("rediss://"))
      return fail("TLS (rediss://) is not supported");
    if (url.starts_with("unix://"))
      return fail("unix sockets are not supported");
    return fail("expected redis://host[:port][/db]");
  }
  std::string_view rest = url.substr(scheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos)
    return fail("query strings and fragments are not supported");

  endpoint out;
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);

  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos)
      return fail("credentials must be [user]:password (the password is missing)");
    auto user = percent_decode(userinfo.substr(0, colon), "user");
    if (!user)
      return fail(user.error());
    auto password = percent_decode(userinfo.substr(colon + 1), "password");
    if (!password)
      return fail(password.error());
    if (password->empty())
      return fail("empty password");
    out.username = std::move(*user);
    out.password = std::move(*password);
  }

  std::string_view host;
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return fail("unterminated [IPv6 address]");
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return fail("expected ':' after ']'");
      port = after.substr(1);
      if (port.empty())
        return fail("empty port");
    }
    if (host.empty() || !std::ranges::all_of(host, [](unsigned char c) {
          return std::isxdigit(c) || c == ':' || c == '.';
        }))
      return fail("bad IPv6 address");
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty())
        return fail("empty port");
    }
    if (host.empty())
      return fail("missing host");
    if (!std::ranges::all_of(host, [](unsigned char c) {
          return std::isalnum(c) || c == '.' || c == '-' || c == '_';
        }))
      return fail(fmt::format("bad host '{}'", host));
  }
  out.host = std::string(host);

  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (!is_digits(port) || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
        value > 65535)
      return fail(fmt::format("bad port '{}' (1-65535)", port));
    out.port = static_cast<std::uint16_t>(value);
  }

  if (!path.empty()) {
    int value = 0;
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), value);
    if (!is_digits(path) || ec != std::errc{} || end != path.data() + path.size())
      return fail(fmt::format("bad database number '{}'", path));
    out.database = value;
  }
  return out;
}

} // namespace parley::bus::redis

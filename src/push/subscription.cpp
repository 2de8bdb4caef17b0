#include "push/subscription.hpp"

#include "common/text.hpp"

#include <boost/url/parse.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace parley::push {

namespace {

bool is_loopback_127_0_0_1(const boost::asio::ip::address& address) {
  return address.is_v4() && address.to_v4() == boost::asio::ip::address_v4::loopback();
}

// A host name whose last label is a number ("127.1", "0x7f.0.0.1", "10.0.0.1."): URL parsers
// (the WHATWG URL standard's "ends in a number") and resolvers (inet_aton) read it as an IPv4
// address, whatever RFC 3986 calls it. `host` is without a trailing dot.
bool ends_in_a_number(std::string_view host) {
  const auto dot = host.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) {
    return false;
  }
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (std::all_of(last.begin(), last.end(), is_digit)) {
    return true;
  }
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
    const auto is_hex = [&](char c) {
      return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    };
    return std::all_of(last.begin() + 2, last.end(), is_hex);
  }
  return false;
}

} // namespace

std::expected<endpoint, std::string> parse_endpoint(std::string_view url, bool allow_insecure) {
  const auto refused = [](std::string_view why) {
    return std::unexpected(fmt::format("'endpoint' {}.", why));
  };
  if (url.size() > max_endpoint_length) {
    return refused(fmt::format("is longer than {} characters", max_endpoint_length));
  }
  const auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return refused("is not an absolute URL");
  }
  const boost::urls::url_view& view = *parsed;
  if (view.has_userinfo() || view.has_fragment()) {
    return refused("may not carry user info or a fragment");
  }
  endpoint result;
  const bool https = view.scheme_id() == boost::urls::scheme::https;
  const bool http = view.scheme_id() == boost::urls::scheme::http;
  result.origin.tls = https;
  switch (view.host_type()) {
  case boost::urls::host_type::ipv4: {
    const auto address = view.host_ipv4_address();
    result.origin.host = address.to_string();
    const boost::asio::ip::address as_address = boost::asio::ip::make_address_v4(address.to_uint());
    if (http && allow_insecure && is_loopback_127_0_0_1(as_address)) {
      break;
    }
    if (!net::is_public_address(as_address)) {
      return refused("names a loopback, private or link-local address");
    }
    break;
  }
  case boost::urls::host_type::ipv6: {
    const auto bytes = view.host_ipv6_address().to_bytes();
    boost::asio::ip::address_v6::bytes_type raw{};
    std::copy(bytes.begin(), bytes.end(), raw.begin());
    const boost::asio::ip::address address = boost::asio::ip::address_v6(raw);
    result.origin.host = address.to_string();
    if (!net::is_public_address(address)) {
      return refused("names a loopback, private or link-local address");
    }
    break;
  }
  case boost::urls::host_type::name: {
    result.origin.host = text::ascii_lower(view.host_name());
    std::string_view host = result.origin.host;
    if (host.ends_with('.')) { // a fully qualified name: "localhost." is localhost
      host.remove_suffix(1);
    }
    if (host == "localhost" || host.ends_with(".localhost") ||
        host.find('.') == std::string::npos || host.starts_with('.') || host.ends_with('.') ||
        ends_in_a_number(host)) {
      return refused("must name a public host");
    }
    break;
  }
  default:
    return refused("has no usable host");
  }
  if (!https && !(http && allow_insecure && result.origin.host == "127.0.0.1")) {
    return refused("must be an https URL");
  }
  if (view.has_port()) {
    // port_number() wraps a port over 65535 around: read the digits here.
    const std::string_view digits = view.port();
    unsigned long port = 0;
    const auto [rest, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || error != std::errc() || rest != digits.data() + digits.size() ||
        port == 0 || port > 65535) {
      return refused("has an invalid port");
    }
    result.origin.port = static_cast<std::uint16_t>(port);
  } else {
    result.origin.port = https ? 443 : 80;
  }
  result.target = std::string(view.encoded_path());
  if (result.target.empty()) {
    result.target.push_back('/'); // not = "/": g++ 12 warns falsely (-Wrestrict)
  }
  if (view.has_query()) {
    result.target += "?";
    result.target += view.encoded_query();
  }
  const bool ipv6 = view.host_type() == boost::urls::host_type::ipv6;
  const std::string host = ipv6 ? "[" + result.origin.host + "]" : result.origin.host;
  const bool default_port = result.origin.port == (https ? 443 : 80);
  result.audience = fmt::format("{}://{}{}", https ? "https" : "http", host,
                                default_port ? "" : fmt::format(":{}", result.origin.port));
  return result;
}

std::expected<subscription_keys, std::string> parse_keys(std::string_view p256dh,
                                                         std::string_view auth) {
  if (p256dh.size() > 200 || auth.size() > 100) {
    return std::unexpected("'keys' are too long.");
  }
  auto point = from_base64url(p256dh);
  if (!point || !is_valid_public_key(*point)) {
    return std::unexpected(
        "'keys.p256dh' must be an uncompressed P-256 public key (65 bytes), base64url.");
  }
  auto secret = from_base64url(auth);
  if (!secret || secret->size() != 16) {
    return std::unexpected("'keys.auth' must be 16 bytes, base64url.");
  }
  return subscription_keys{std::move(*point), std::move(*secret)};
}

net::address_filter send_filter(bool allow_insecure) {
  return [allow_insecure](const boost::asio::ip::address& address) {
    return net::is_public_address(address) ||
           (allow_insecure && is_loopback_127_0_0_1(address));
  };
}

} // namespace parley::push

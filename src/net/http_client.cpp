#include "net/http_client.hpp"

#include "common/text.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

namespace parley::net {

struct http_call_settings {
  base_url base;
  std::string host_header;
  std::chrono::milliseconds timeout{};
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  address_filter allowed; // empty: every address
};

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using call_result = std::expected<http_response, transport_error>;
using http_request = http::request<http::string_body>;

constexpr auto k_use_tuple = asio::as_tuple(asio::use_awaitable);

bool is_unreserved(unsigned char character) {
  return (character >= 'A' && character <= 'Z') || (character >= 'a' && character <= 'z') ||
         (character >= '0' && character <= '9') || character == '-' || character == '.' ||
         character == '_' || character == '~';
}

void append_percent_encoded(std::string& output, std::string_view input) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  for (const char signed_character : input) {
    const auto character = static_cast<unsigned char>(signed_character);
    if (is_unreserved(character)) {
      output.push_back(signed_character);
    } else {
      output.push_back('%');
      output.push_back(k_hex[character >> 4]);
      output.push_back(k_hex[character & 0x0f]);
    }
  }
}

std::unexpected<transport_error> failure(transport_error::kind what, std::string detail) {
  return std::unexpected(transport_error{what, std::move(detail)});
}

std::unexpected<transport_error> network_failure(std::string_view step,
                                                 const boost::system::error_code& error) {
  return failure(transport_error::kind::network, fmt::format("{}: {}", step, error.message()));
}

std::unexpected<transport_error> timeout_failure() {
  return failure(transport_error::kind::timeout, "no complete answer before the deadline");
}

// One call's state. Only the call's strand touches it: the exchange coroutine and the
// coroutine that waits for it with the deadline both run there.
struct http_call {
  explicit http_call(const asio::any_io_executor& strand)
      : executor(strand), resolver(strand), deadline(strand) {}

  // Stops the exchange at its current step; its result will be ignored.
  void abandon() {
    abandoned = true;
    resolver.cancel();
    boost::system::error_code ignored;
    if (plain_stream) {
      plain_stream->socket().close(ignored);
    }
    if (tls_stream) {
      beast::get_lowest_layer(*tls_stream).socket().close(ignored);
    }
  }

  asio::any_io_executor executor;
  tcp::resolver resolver;
  asio::steady_timer deadline; // cancelled by the exchange when `result` is set
  std::optional<beast::tcp_stream> plain_stream;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  std::optional<call_result> result;
  bool abandoned = false;
};

template <class Stream>
asio::awaitable<call_result> write_and_read(Stream& stream, http_request& request) {
  auto [write_error, written] = co_await http::async_write(stream, request, k_use_tuple);
  if (write_error) {
    co_return network_failure("write", write_error);
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(http_client::k_header_limit);
  parser.body_limit(http_client::k_body_limit);
  auto [read_error, read] = co_await http::async_read(stream, buffer, parser, k_use_tuple);
  if (read_error == http::error::body_limit || read_error == http::error::header_limit) {
    co_return failure(transport_error::kind::too_large,
                      fmt::format("read: {}", read_error.message()));
  }
  if (read_error) {
    co_return network_failure("read", read_error);
  }
  auto& response = parser.get();
  http_response answer{response.result_int(), std::move(response.body()), {}};
  for (const auto& field : response) {
    answer.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  co_return answer;
}

asio::awaitable<call_result> perform(http_call& call, const http_call_settings& settings,
                                     http_request& request) {
  const base_url& base = settings.base;
  const std::string service = std::to_string(base.port);
  auto [resolve_error, resolved] =
      co_await call.resolver.async_resolve(base.host, service, k_use_tuple);
  if (call.abandoned) {
    co_return timeout_failure();
  }
  if (resolve_error) {
    co_return network_failure("resolve", resolve_error);
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : resolved) {
    if (!settings.allowed || settings.allowed(entry.endpoint().address())) {
      endpoints.push_back(entry.endpoint());
    }
  }
  if (endpoints.empty()) {
    co_return failure(transport_error::kind::refused,
                      fmt::format("resolve: {} has no address this client may connect to",
                                  base.host));
  }

  if (!base.tls) {
    auto& stream = call.plain_stream.emplace(call.executor);
    auto [connect_error, endpoint] = co_await stream.async_connect(endpoints, k_use_tuple);
    if (call.abandoned) {
      co_return timeout_failure();
    }
    if (connect_error) {
      co_return network_failure("connect", connect_error);
    }
    co_return co_await write_and_read(stream, request);
  }

  auto& stream = call.tls_stream.emplace(call.executor, *settings.tls_context);
  boost::system::error_code address_error;
  asio::ip::make_address(base.host, address_error);
  const bool is_host_name = address_error.failed(); // SNI carries names, never addresses
  if (is_host_name && SSL_set_tlsext_host_name(stream.native_handle(), base.host.c_str()) != 1) {
    co_return failure(transport_error::kind::network, "tls: cannot set the server name");
  }
  stream.set_verify_callback(asio::ssl::host_name_verification(base.host));
  auto [connect_error, endpoint] =
      co_await beast::get_lowest_layer(stream).async_connect(endpoints, k_use_tuple);
  if (call.abandoned) {
    co_return timeout_failure();
  }
  if (connect_error) {
    co_return network_failure("connect", connect_error);
  }
  auto [handshake_error] =
      co_await stream.async_handshake(asio::ssl::stream_base::client, k_use_tuple);
  if (handshake_error) {
    co_return network_failure("tls handshake", handshake_error);
  }
  co_return co_await write_and_read(stream, request);
}

asio::awaitable<void> exchange(std::shared_ptr<http_call> call,
                               std::shared_ptr<const http_call_settings> settings,
                               http_request request) {
  call_result result;
  try {
    result = co_await perform(*call, *settings, request);
  } catch (const std::exception& error) {
    result = failure(transport_error::kind::network, error.what());
  }
  call->result = std::move(result);
  call->deadline.cancel();
}

// Runs on a fresh strand of the client's executor. The exchange runs beside it; the
// deadline timer wakes this coroutine either when the exchange is done or at the deadline,
// so the whole call (resolve included) never outlasts the timeout.
asio::awaitable<call_result> run_call(std::shared_ptr<const http_call_settings> settings,
                                      http_request request) {
  const auto strand = co_await asio::this_coro::executor;
  auto call = std::make_shared<http_call>(strand);
  call->deadline.expires_after(settings->timeout);
  asio::co_spawn(strand, exchange(call, settings, std::move(request)), asio::detached);
  if (!call->result) {
    co_await call->deadline.async_wait(k_use_tuple);
  }
  if (call->result) {
    co_return std::move(*call->result);
  }
  call->abandon();
  co_return timeout_failure();
}

std::string host_header(const base_url& base) {
  const bool is_ipv6 = base.host.find(':') != std::string::npos;
  std::string host = is_ipv6 ? "[" + base.host + "]" : base.host;
  const std::uint16_t default_port = base.tls ? 443 : 80;
  if (base.port != default_port) {
    host += ":" + std::to_string(base.port);
  }
  return host;
}

} // namespace

std::expected<base_url, std::string> parse_base_url(std::string_view text) {
  const auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) {
    return std::unexpected(fmt::format("\"{}\" is not an absolute URL", text));
  }
  const boost::urls::url_view& url = *parsed;
  base_url base;
  if (url.scheme_id() == boost::urls::scheme::https) {
    base.tls = true;
  } else if (url.scheme_id() == boost::urls::scheme::http) {
    base.tls = false;
  } else {
    return std::unexpected(fmt::format("\"{}\" is neither https nor http", text));
  }
  if (url.has_userinfo() || url.has_query()) {
    return std::unexpected(fmt::format("\"{}\" may not carry user info or a query", text));
  }

  bool is_loopback = false;
  switch (url.host_type()) {
  case boost::urls::host_type::ipv4:
    base.host = url.host_ipv4_address().to_string();
    is_loopback = url.host_ipv4_address().is_loopback();
    break;
  case boost::urls::host_type::ipv6:
    base.host = url.host_ipv6_address().to_string();
    is_loopback = url.host_ipv6_address().is_loopback();
    break;
  case boost::urls::host_type::name:
    base.host = text::ascii_lower(url.host_name());
    is_loopback = base.host == "localhost";
    break;
  default:
    break;
  }
  if (base.host.empty()) {
    return std::unexpected(fmt::format("\"{}\" has no host", text));
  }
  if (!base.tls && !is_loopback) {
    return std::unexpected(
        fmt::format("\"{}\" must use https (plain http is only for loopback hosts)", text));
  }

  if (url.has_port()) {
    if (url.port().empty() || url.port_number() == 0) {
      return std::unexpected(fmt::format("\"{}\" has an invalid port", text));
    }
    base.port = url.port_number();
  } else {
    base.port = base.tls ? 443 : 80;
  }

  base.path_prefix = std::string(url.encoded_path());
  while (!base.path_prefix.empty() && base.path_prefix.back() == '/') {
    base.path_prefix.pop_back();
  }
  return base;
}

std::string form_encode(const std::vector<form_field>& fields) {
  std::string encoded;
  for (const auto& [name, value] : fields) {
    if (!encoded.empty()) {
      encoded.push_back('&');
    }
    append_percent_encoded(encoded, name);
    encoded.push_back('=');
    append_percent_encoded(encoded, value);
  }
  return encoded;
}

std::string path_segment(std::string_view segment) {
  std::string encoded;
  append_percent_encoded(encoded, segment);
  return encoded;
}

std::shared_ptr<asio::ssl::context> make_tls_client_context() {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    throw boost::system::system_error(asio::error::invalid_argument, "TLS 1.2 minimum");
  }
  context->set_default_verify_paths();
  context->set_verify_mode(asio::ssl::verify_peer);
  return context;
}

http_client::http_client(base_url base, asio::any_io_executor executor,
                         std::chrono::milliseconds timeout,
                         std::shared_ptr<asio::ssl::context> tls_context,
                         address_filter allowed)
    : base_(std::move(base)), executor_(std::move(executor)) {
  if (base_.tls && !tls_context) {
    throw std::invalid_argument("an https base URL needs a TLS context");
  }
  auto settings = std::make_shared<http_call_settings>();
  settings->base = base_;
  settings->host_header = host_header(base_);
  settings->timeout = timeout;
  settings->tls_context = std::move(tls_context);
  settings->allowed = std::move(allowed);
  settings_ = std::move(settings);
}

asio::awaitable<std::expected<http_response, transport_error>>
http_client::post_form(std::string path, std::string authorization,
                       std::vector<form_field> fields) const {
  outgoing_request request;
  request.target = std::move(path);
  request.headers = {{"Accept", "application/json"},
                     {"Authorization", std::move(authorization)},
                     {"Content-Type", "application/x-www-form-urlencoded"}};
  request.body = form_encode(fields);
  co_return co_await post(std::move(request));
}

asio::awaitable<std::expected<http_response, transport_error>>
http_client::post(outgoing_request outgoing) const {
  http_request request{http::verb::post, base_.path_prefix + outgoing.target, 11};
  request.set(http::field::host, settings_->host_header);
  request.set(http::field::user_agent, "parley");
  for (auto& [name, value] : outgoing.headers) {
    request.set(name, std::move(value));
  }
  request.set(http::field::connection, "close");
  request.body() = std::move(outgoing.body);
  request.prepare_payload();
  auto call = run_call(settings_, std::move(request));
  const auto strand = asio::make_strand(executor_);
  co_return co_await asio::co_spawn(strand, std::move(call), asio::use_awaitable);
}

std::string_view http_response::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (beast::iequals(field, name)) {
      return value;
    }
  }
  return {};
}

bool is_public_address(const asio::ip::address& address) {
  if (address.is_v6()) {
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
      return is_public_address(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    }
    const auto bytes = v6.to_bytes();
    const bool unique_local = (bytes[0] & 0xfe) == 0xfc;              // fc00::/7
    const bool documentation = bytes[0] == 0x20 && bytes[1] == 0x01 && // 2001:db8::/32
                               bytes[2] == 0x0d && bytes[3] == 0xb8;
    // ::a.b.c.d (the deprecated IPv4-compatible form) and 64:ff9b::/96 (NAT64) carry an IPv4
    // address that may be a private one: refused rather than judged.
    const bool first_96_bits_zero = std::all_of(bytes.begin(), bytes.begin() + 12,
                                                [](unsigned char byte) { return byte == 0; });
    const bool nat64 = bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff &&
                       bytes[3] == 0x9b && std::all_of(bytes.begin() + 4, bytes.begin() + 12,
                                                       [](unsigned char b) { return b == 0; });
    const bool is_v4_compatible_or_nat64 = first_96_bits_zero || nat64;
    return !(v6.is_unspecified() || v6.is_loopback() || v6.is_link_local() ||
             v6.is_site_local() || v6.is_multicast() || unique_local || documentation ||
             is_v4_compatible_or_nat64);
  }
  const auto value = address.to_v4().to_uint();
  const auto in = [value](std::uint32_t network, int prefix) {
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    return (value & mask) == network;
  };
  return !(in(0x00000000, 8) ||   // 0.0.0.0/8 "this network"
           in(0x0a000000, 8) ||   // 10/8
           in(0x64400000, 10) ||  // 100.64/10 shared (carrier-grade NAT)
           in(0x7f000000, 8) ||   // loopback
           in(0xa9fe0000, 16) ||  // link-local
           in(0xac100000, 12) ||  // 172.16/12
           in(0xc0000000, 24) ||  // 192.0.0/24 protocol assignments
           in(0xc0000200, 24) ||  // 192.0.2/24 documentation
           in(0xc0a80000, 16) ||  // 192.168/16
           in(0xc6120000, 15) ||  // 198.18/15 benchmarking
           in(0xc6336400, 24) ||  // 198.51.100/24 documentation
           in(0xcb007100, 24) ||  // 203.0.113/24 documentation
           in(0xe0000000, 4) ||   // multicast
           in(0xf0000000, 4));    // reserved and broadcast
}

} // namespace parley::net

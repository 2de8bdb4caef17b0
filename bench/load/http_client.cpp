#include "http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace parley::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr auto k_use = asio::as_tuple(asio::use_awaitable);

http::request<http::string_body> make_request(http::verb method, const std::string& target,
                                              const std::string& host, const std::string& body,
                                              const std::string& token) {
  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "parley-load");
  if (!token.empty()) {
    request.set(http::field::authorization, "Bearer " + token);
  }
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();
  return request;
}

} // namespace

http_result http_request(const server_address& server, http::verb method, const std::string& target,
                         const std::string& body, const std::string& token) {
  asio::io_context context;
  beast::tcp_stream stream(context);
  boost::system::error_code error;
  stream.expires_after(std::chrono::seconds(60));
  stream.connect(tcp::endpoint(asio::ip::make_address(server.host), server.port), error);
  if (error) {
    return {0, "connect: " + error.message()};
  }
  const auto host = server.host + ":" + std::to_string(server.port);
  auto request = make_request(method, target, host, body, token);
  http::write(stream, request, error);
  if (error) {
    return {0, "write: " + error.message()};
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  http::read(stream, buffer, parser, error);
  if (error) {
    return {0, "read: " + error.message()};
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, error);
  return {static_cast<int>(parser.get().result_int()), std::move(parser.get().body())};
}

http_connection::http_connection(const asio::any_io_executor& executor) : stream_(executor) {}

asio::awaitable<std::string> http_connection::connect(const server_address& server) {
  host_ = server.host + ":" + std::to_string(server.port);
  auto [error] = co_await stream_.async_connect(
      tcp::endpoint(asio::ip::make_address(server.host), server.port), k_use);
  if (error) {
    co_return "connect: " + error.message();
  }
  boost::system::error_code ignored;
  stream_.socket().set_option(tcp::no_delay(true), ignored);
  co_return "";
}

asio::awaitable<http_result> http_connection::get(const std::string& target,
                                                  const std::string& token) {
  auto request = make_request(http::verb::get, target, host_, {}, token);
  auto [write_error, written] = co_await http::async_write(stream_, request, k_use);
  (void)written;
  if (write_error) {
    co_return http_result{0, "write: " + write_error.message()};
  }
  http::response<http::string_body> response;
  auto [read_error, read] = co_await http::async_read(stream_, buffer_, response, k_use);
  (void)read;
  if (read_error) {
    co_return http_result{0, "read: " + read_error.message()};
  }
  co_return http_result{static_cast<int>(response.result_int()), std::move(response.body())};
}

} // namespace parley::load

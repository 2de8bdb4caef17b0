#pragma once
// Plain HTTP/1.1 for the load generator: a blocking one-shot request (set-up, /metrics) and a
// keep-alive connection for request loops on an io_context.

#include "sio_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>

#include <string>

namespace parley::load {

struct http_result {
  int status = 0; ///< 0 when the request failed before an answer (see body).
  std::string body;
};

/// One request on a new connection, blocking. `token` becomes a Bearer header when set.
http_result http_request(const server_address& server, boost::beast::http::verb method,
                         const std::string& target, const std::string& body = {},
                         const std::string& token = {});

class http_connection {
public:
  explicit http_connection(const boost::asio::any_io_executor& executor);
  /// An empty string once connected, else why not.
  boost::asio::awaitable<std::string> connect(const server_address& server);
  boost::asio::awaitable<http_result> get(const std::string& target, const std::string& token);

private:
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string host_;
};

} // namespace parley::load

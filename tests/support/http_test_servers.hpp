#pragma once
// Small loopback servers that misbehave on purpose, for the HTTP client's failure paths,
// and a TLS server with a self-signed certificate for its verification paths.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace parley::test_support {

/// A listening socket that never accepts: connections complete in the kernel's backlog
/// and then nothing is ever read or written.
class silent_listener {
public:
  silent_listener();
  [[nodiscard]] std::uint16_t port() const { return port_; }

private:
  boost::asio::io_context context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
};

/// Accepts connections and closes each at once, on its own thread.
class hang_up_server {
public:
  hang_up_server();
  ~hang_up_server();
  hang_up_server(const hang_up_server&) = delete;
  hang_up_server& operator=(const hang_up_server&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

private:
  boost::asio::io_context context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

/// What a tls_test_server saw on one connection.
struct tls_connection_record {
  bool handshake_succeeded = false;
  std::string server_name; ///< The SNI host name the client sent; empty when none.
  std::string request;     ///< The HTTP request line, headers and body, when one arrived.
};

/// A TLS server on 127.0.0.1 with a fresh self-signed certificate for the name `localhost`
/// (no IP address in it). Answers every request with `201` and a small JSON body.
class tls_test_server {
public:
  tls_test_server();
  ~tls_test_server();
  tls_test_server(const tls_test_server&) = delete;
  tls_test_server& operator=(const tls_test_server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// The certificate in PEM, to trust it through SSL_CERT_FILE.
  [[nodiscard]] const std::string& certificate_pem() const { return certificate_pem_; }
  /// Waits until the server has finished with one more connection and returns it;
  /// nullopt when none finishes within `limit` (a safety net against a hung test).
  [[nodiscard]] std::optional<tls_connection_record>
  next_connection(std::chrono::seconds limit = std::chrono::seconds(10));

private:
  boost::asio::io_context context_;
  boost::asio::ssl::context tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::string certificate_pem_;
  std::mutex mutex_; // guards finished_
  std::condition_variable finished_changed_;
  std::deque<tls_connection_record> finished_;
  std::thread thread_;
};

} // namespace parley::test_support

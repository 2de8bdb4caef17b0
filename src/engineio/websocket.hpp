#pragma once
// The server side of a WebSocket (RFC 6455, no extensions) over a coalescing_socket, made for
// many idle connections: between messages it holds no buffer and no pending read, only a wait
// for the socket to become readable, and its own state is about a hundred bytes. (Beast's
// stream, used before, keeps a 1.5 KB read buffer and its close and ping state in every
// connection, idle or not.)
//
// Reading: `async_read` completes with one whole message (fragments joined, text checked to be
// UTF-8); pings are answered and the close handshake is done on the way. Data is read with
// non-blocking reads on the socket for as long as it has some, then one wait for readability.
// A protocol error (unmasked or malformed frame, bad opcode, message over the limit, text not
// UTF-8, bad close payload) sends the close frame the RFC asks for (1002, 1007, 1009) and ends
// the connection; the read completes with the error. The client's close is answered with the
// same code and the read completes with `websocket::error::closed`.
//
// Writing: `async_write` gathers one frame (header and payload, one buffer) in the socket, so
// frames written by the reader (pong, close) and by the writer never interleave.
//
// Thread-safety: one executor (the socket's); at most one read and one write at a time.

#include "engineio/coalescing_socket.hpp"
#include "engineio/websocket_protocol.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/error.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace parley::engineio {

class websocket : public std::enable_shared_from_this<websocket> {
public:
  using read_handler =
      boost::asio::any_completion_handler<void(boost::system::error_code, std::string, bool)>;
  using done_handler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

  explicit websocket(coalescing_socket socket) : socket_(std::move(socket)) {}

  [[nodiscard]] coalescing_socket& next_layer() { return socket_; }
  [[nodiscard]] coalescing_socket::executor_type get_executor() { return socket_.get_executor(); }

  /// The largest message accepted (its payload, fragments joined); more is closed with 1009.
  void read_message_max(std::size_t bytes) { max_message_ = bytes; }
  /// Each read must complete within `limit` (0: no limit); a read that does not ends the
  /// connection with beast::error::timeout.
  void read_timeout(std::chrono::milliseconds limit);
  /// Bytes received and not yet taken in by a read (in this object and in the kernel).
  [[nodiscard]] std::size_t unread_bytes() const;

  /// Checks the opening handshake `request` and answers it: 101, or 400 (426 for an
  /// unsupported version) and an error. `server` is the Server header's value.
  template <class Token>
  auto async_accept(const boost::beast::http::request<boost::beast::http::string_body>& request,
                    std::string_view server, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this, &request, server](auto handler) {
          accept(request, server, done_handler(std::move(handler)));
        },
        token);
  }

  /// Reads the next message: (error, payload, true for text).
  template <class Token> auto async_read(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::string, bool)>(
        [this](auto handler) { read(read_handler(std::move(handler))); }, token);
  }

  /// Writes one message (copied: `payload` need not outlive the call): (error, bytes).
  template <class Token> auto async_write(std::string_view payload, bool text, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, std::string_view data, bool is_text) {
          const frame_header header(is_text ? opcode::text : opcode::binary, data.size());
          const std::array<boost::asio::const_buffer, 2> buffers{
              boost::asio::buffer(header.bytes()), boost::asio::buffer(data)};
          socket_.async_write_some(buffers, std::move(handler));
        },
        token, payload, text);
  }

  /// Gathers one message in the socket now, its payload `prefix` then `payload`: a write
  /// without a completion (coalescing_socket::gather says what to do next).
  coalescing_socket::gather_outcome gather(std::string_view prefix, std::string_view payload,
                                           bool text);

  /// Starts the close handshake with `code` and completes once it is over (the client's close
  /// read by the pending read, which then ends) or the connection dropped after `limit`.
  template <class Token>
  auto async_close(std::uint16_t code, std::chrono::milliseconds limit, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler, std::uint16_t close_code, std::chrono::milliseconds wait) {
          close(close_code, wait, done_handler(std::move(handler)));
        },
        token, code, limit);
  }

  /// Drops the connection at once (no close handshake), and lets go of the `hold_open` token
  /// once the caller's handler has returned. The session calls it when it has finished.
  void abort();

  /// Keeps `token` until abort() or the end of this object (the HTTP server's count of open
  /// connections: http::upgrade_request::open).
  void hold_open(std::shared_ptr<void> token) { open_ = std::move(token); }

private:
  enum class parsed { need_more, message, control, failed };

  void accept(const boost::beast::http::request<boost::beast::http::string_body>& request,
              std::string_view server, done_handler handler);
  // Messages handed to the read's handler in a row from one wait's completion, before the
  // next is posted (the other connections of the thread get their turn).
  static constexpr int k_direct_deliveries = 16;
  static constexpr std::size_t k_read_size = 64 * 1024;

  void read(read_handler handler);
  void advance(int direct);
  parsed take_frames(std::string_view& bytes);
  parsed parse_frame(std::string_view& bytes);
  static std::array<char, k_read_size>& read_buffer();
  void fail(boost::system::error_code error, std::uint16_t close_code);
  /// Completes the pending read: its handler posted, or called `now` (from a completion of
  /// this connection's own, never from read()).
  void finish_read(boost::system::error_code error, bool now = false);
  void wait_readable();
  void write_control(std::uint8_t opcode, std::string_view payload);
  void close(std::uint16_t code, std::chrono::milliseconds limit, done_handler handler);
  void end(boost::system::error_code error, bool send_first);
  boost::asio::steady_timer& timer();
  void arm_read_timer();

  coalescing_socket socket_;
  std::string in_;      // received bytes not yet taken in (a partial frame, mostly)
  std::string message_; // the message being joined from its fragments
  bool in_message_ = false;
  bool message_text_ = false;
  std::size_t max_message_ = 1'000'000;
  std::chrono::milliseconds read_timeout_{0};
  // In optionals: Boost 1.81's any_completion_handler move assignment wraps the handler in
  // itself without end (it copies from an lvalue through its converting constructor).
  std::optional<read_handler> reading_;
  std::optional<done_handler> closing_; // async_close's handler, until the handshake ends
  std::unique_ptr<boost::asio::steady_timer> timer_; // made on first use (probe, close)
  std::shared_ptr<void> open_;
  boost::system::error_code ended_; // set once the connection is over
  bool close_sent_ = false;
  bool delivering_ = false; // advance() is calling a read's handler
  // The last read took less than it asked for: the kernel held nothing more then, so the next
  // read waits for readiness at once instead of first finding the socket empty (advance()).
  bool drained_ = false;
};

} // namespace parley::engineio

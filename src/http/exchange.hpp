#pragma once
// A request whose body is too large to hold in memory (an upload), or whose answer is (a
// file): the handler reads the body piece by piece and may write the answer piece by piece.
// Routes added with router::add_streaming get one of these once the request's headers are
// read; nothing of the body has been read (or acknowledged with 100 Continue) yet, so a
// handler can refuse a request by its headers alone (Content-Length over a limit) before the
// client sends the body.
//
// Lifetime and threads: the exchange belongs to the connection's coroutine and is used on its
// executor only. After the handler returns, the server finishes the answer: if the body was
// not read to its end, or a streamed answer was cut short, the connection closes instead of
// staying alive. A handler that returned without answering gets a 500.

#include "http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>

namespace parley::http {

/// Reading the body failed: the client went away, was too slow, or sent what is not HTTP.
/// The connection closes; nothing can be answered.
class body_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class exchange {
public:
  explicit exchange(request_context& context) : context_(context) {}
  virtual ~exchange() = default;
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  /// The request line and headers (its body is empty: read it with read_some()), with the
  /// client's address and the route's parameters.
  [[nodiscard]] request_context& context() const { return context_; }

  /// The body's size when the client said it (Content-Length); nullopt when chunked.
  [[nodiscard]] virtual std::optional<std::uint64_t> content_length() const = 0;
  /// Reads the next piece of the body into `into`: how many bytes, 0 once it has ended. The
  /// first call answers an `Expect: 100-continue`. Throws body_error.
  virtual boost::asio::awaitable<std::size_t> read_some(std::span<char> into) = 0;
  /// Bytes of the body read so far.
  [[nodiscard]] virtual std::uint64_t body_read() const = 0;

  /// Sends a whole answer (for HEAD, its headers only). Once only, and not after begin().
  virtual boost::asio::awaitable<void> respond(response answer) = 0;
  /// Sends the status and headers of an answer whose body follows in write() calls; its
  /// Content-Length must be set, and the writes must add up to it.
  virtual boost::asio::awaitable<void> begin(beast_http::response_header<> header) = 0;
  /// The next piece of the body begun with begin() (nothing is sent for HEAD). Throws
  /// body_error when the client went away.
  virtual boost::asio::awaitable<void> write(std::span<const char> piece) = 0;
  /// True for a HEAD request: begin() sends the headers, and write() need not be called.
  [[nodiscard]] bool head_only() const { return context_.message.method() == beast_http::verb::head; }

private:
  request_context& context_;
};

using streaming_handler = std::function<boost::asio::awaitable<void>(exchange&)>;

} // namespace parley::http

// The streaming routes' side of the server: an exchange over the connection's stream, with a
// buffer_body parser for the request and a buffer_body serializer for a streamed answer.

#include "http/server.hpp"

#include "common/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <optional>

namespace parley::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

class stream_exchange final : public exchange {
public:
  stream_exchange(request_context& context, beast::tcp_stream& stream, beast::flat_buffer& buffer,
                  beast_http::request_parser<beast_http::buffer_body>& parser,
                  std::chrono::seconds timeout)
      : exchange(context), stream_(stream), buffer_(buffer), parser_(parser), timeout_(timeout) {}

  [[nodiscard]] std::optional<std::uint64_t> content_length() const override {
    const auto length = parser_.content_length();
    return length ? std::optional<std::uint64_t>(*length) : std::nullopt;
  }

  asio::awaitable<std::size_t> read_some(std::span<char> into) override {
    if (into.empty()) {
      co_return 0;
    }
    if (!continued_) {
      continued_ = true;
      if (beast::iequals(context().message[beast_http::field::expect], "100-continue") &&
          !parser_.is_done()) {
        beast_http::response<beast_http::empty_body> proceed{status::continue_, 11};
        stream_.expires_after(timeout_);
        auto [error, written] = co_await beast_http::async_write(stream_, proceed, use_tuple);
        if (error) {
          throw body_error("the client went away: " + error.message());
        }
      }
    }
    // One read may parse only a chunk's header: go on until bytes come or the body ends.
    while (!parser_.is_done()) {
      auto& body = parser_.get().body();
      body.data = into.data();
      body.size = into.size();
      stream_.expires_after(timeout_);
      auto [error, bytes] = co_await beast_http::async_read_some(stream_, buffer_, parser_, use_tuple);
      if (error == beast_http::error::need_buffer) {
        error = {};
      }
      if (error) {
        throw body_error("the body could not be read: " + error.message());
      }
      const std::size_t got = into.size() - parser_.get().body().size;
      if (got > 0) {
        read_ += got;
        co_return got;
      }
    }
    co_return 0;
  }

  [[nodiscard]] std::uint64_t body_read() const override { return read_; }

  asio::awaitable<void> respond(response answer) override {
    if (answered_) {
      throw std::logic_error("exchange: answered twice");
    }
    answered_ = true;
    status_ = answer.result_int();
    if (head_only()) {
      const auto length = answer.body().size();
      answer.body().clear();
      answer.content_length(length);
    }
    answer.keep_alive(keep_alive_ && parser_.is_done());
    keep_alive_ = answer.keep_alive();
    stream_.expires_after(timeout_);
    auto [error, written] = co_await beast_http::async_write(stream_, answer, use_tuple);
    if (error) {
      keep_alive_ = false;
    }
    complete_ = !error;
  }

  asio::awaitable<void> begin(beast_http::response_header<> header) override {
    if (answered_) {
      throw std::logic_error("exchange: answered twice");
    }
    answered_ = true;
    status_ = header.result_int();
    const auto length = header[beast_http::field::content_length];
    remaining_ = 0;
    if (length.empty() || !parse_length(length, remaining_)) {
      throw std::logic_error("exchange: a streamed answer needs its Content-Length");
    }
    const bool keep = keep_alive_ && parser_.is_done();
    beast::error_code error;
    stream_.expires_after(timeout_);
    if (head_only()) {
      // The headers, with the length the body would have, and no body.
      beast_http::response<beast_http::empty_body> headers_only(std::move(header));
      headers_only.keep_alive(keep);
      keep_alive_ = headers_only.keep_alive();
      std::tie(error, std::ignore) = co_await beast_http::async_write(stream_, headers_only, use_tuple);
    } else {
      streamed_.emplace(std::move(header));
      streamed_->keep_alive(keep);
      keep_alive_ = streamed_->keep_alive();
      streamed_->body().data = nullptr;
      streamed_->body().more = remaining_ > 0;
      serializer_.emplace(*streamed_);
      std::tie(error, std::ignore) = co_await beast_http::async_write_header(stream_, *serializer_, use_tuple);
    }
    if (error) {
      keep_alive_ = false;
      throw body_error("the client went away: " + error.message());
    }
    complete_ = head_only() || remaining_ == 0;
  }

  asio::awaitable<void> write(std::span<const char> piece) override {
    if (head_only() || piece.empty()) {
      co_return;
    }
    if (!serializer_) {
      throw std::logic_error("exchange: write() before begin()");
    }
    if (piece.size() > remaining_) {
      throw std::logic_error("exchange: more written than the Content-Length");
    }
    remaining_ -= piece.size();
    auto& body = streamed_->body();
    body.data = const_cast<char*>(piece.data()); // Beast's buffer_body only reads through it
    body.size = piece.size();
    body.more = remaining_ > 0;
    stream_.expires_after(timeout_);
    auto [error, written] = co_await beast_http::async_write(stream_, *serializer_, use_tuple);
    if (error == beast_http::error::need_buffer) {
      error = {};
    }
    if (error) {
      keep_alive_ = false;
      throw body_error("the client went away: " + error.message());
    }
    complete_ = remaining_ == 0;
  }

  /// What the server does once the handler returned: false when the connection must close.
  [[nodiscard]] bool reusable() const { return answered_ && complete_ && keep_alive_ && parser_.is_done(); }
  [[nodiscard]] bool answered() const { return answered_; }
  [[nodiscard]] unsigned status() const { return status_; }
  void fail() { keep_alive_ = false; }

private:
  static bool parse_length(std::string_view text, std::uint64_t& value) {
    value = 0;
    for (const char digit : text) {
      if (digit < '0' || digit > '9' || value > (UINT64_MAX - 9) / 10) {
        return false;
      }
      value = value * 10 + static_cast<std::uint64_t>(digit - '0');
    }
    return !text.empty();
  }

  beast::tcp_stream& stream_;
  beast::flat_buffer& buffer_;
  beast_http::request_parser<beast_http::buffer_body>& parser_;
  std::chrono::seconds timeout_;
  bool continued_ = false;
  bool answered_ = false;
  bool complete_ = false;
  bool keep_alive_ = true;
  unsigned status_ = 0;
  std::uint64_t read_ = 0;
  std::uint64_t remaining_ = 0;
  std::optional<beast_http::response<beast_http::buffer_body>> streamed_;
  std::optional<beast_http::response_serializer<beast_http::buffer_body>> serializer_;
};

} // namespace

asio::awaitable<bool> server::serve_streaming(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                              beast_http::request_parser<beast_http::empty_body>& head,
                                              router::match found, const std::string& address,
                                              bool secure) {
  const auto started = std::chrono::steady_clock::now();
  beast_http::request_parser<beast_http::buffer_body> parser(std::move(head));
  // The request's line and headers, for the handler (its body stays in the parser).
  request message(parser.get().base());
  const std::string_view target = message.target();
  const auto question = target.find('?');
  request_context context{message, address, secure, std::move(found.parameters),
                          target.substr(0, question),
                          question == std::string_view::npos ? std::string_view()
                                                              : target.substr(question + 1)};
  stream_exchange exchanged(context, stream, buffer, parser, options_.stream_timeout);
  if (draining_) {
    exchanged.fail();
  }
  try {
    co_await (*found.streaming)(exchanged);
  } catch (const body_error& failure) {
    spdlog::debug("http.stream_failed route={} error={}", found.route, log::quoted(failure.what()));
    exchanged.fail();
  } catch (const std::exception& failure) {
    spdlog::error("http.handler_failed route={} error={}", found.route, log::quoted(failure.what()));
    exchanged.fail();
  }
  if (!exchanged.answered()) {
    exchanged.fail();
    try {
      co_await exchanged.respond(error_response(message, status::internal_server_error,
                                                "internal_error",
                                                "Something went wrong on our side. Try again."));
    } catch (const std::exception&) {
      // the client is gone
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  metrics_.record_request(found.route, message.method_string(), exchanged.status(), elapsed);
  co_return exchanged.reusable();
}

} // namespace parley::http

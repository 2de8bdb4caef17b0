// Streaming routes on a real server over loopback: bodies read piece by piece (Content-Length
// and chunked), a refusal by the headers alone before an `Expect: 100-continue` body is sent,
// answers written piece by piece (GET and HEAD), and the connection kept or closed as the
// exchange ended. And plain answers, written by the server itself: byte for byte what Beast's
// serializer writes.

#include "http/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <sstream>
#include <string>

namespace parley::http {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// An answer with what a writer could get wrong: a reason of its own, fields in an order that
// is not alphabetical, one repeated, an empty value, the request's version and keep-alive.
response wire_answer(const request& message, bool chunked) {
  response answer{status::accepted, message.version()};
  answer.reason("Taken In");
  answer.set("X-Zebra", "1");
  answer.insert("Set-Cookie", "a=1");
  answer.insert("Set-Cookie", "b=2; Path=/");
  answer.set("X-Empty", "");
  answer.set(beast_http::field::content_type, "text/plain; charset=utf-8");
  answer.body() = "héllo\r\n\0world";
  answer.keep_alive(message.keep_alive());
  if (chunked) {
    answer.chunked(true);
  } else {
    answer.prepare_payload();
  }
  return answer;
}

class streaming_test : public ::testing::Test {
protected:
  void SetUp() override {
    // Reads the whole body in small pieces and answers with its size and a checksum.
    routes_.add_streaming(beast_http::verb::post, "/upload", [](exchange& call) -> asio::awaitable<void> {
      if (const auto length = call.content_length(); length && *length > 1'000'000) {
        co_await call.respond(error_response(call.context().message, status::payload_too_large,
                                             "too_large", "Too large."));
        co_return;
      }
      std::vector<char> piece(1000);
      std::uint64_t sum = 0;
      while (const auto got = co_await call.read_some(piece)) {
        for (std::size_t index = 0; index < got; ++index) {
          sum += static_cast<unsigned char>(piece[index]);
        }
      }
      boost::json::object counted; // named first: g++ 12 mishandles braced lists in co_await
      counted["size"] = call.body_read();
      counted["sum"] = sum;
      co_await call.respond(json_response(call.context().message, status::created, counted));
    });
    // Answers 100,000 bytes in pieces of 7,000.
    routes_.add_streaming(beast_http::verb::get, "/file", [](exchange& call) -> asio::awaitable<void> {
      beast_http::response_header<> header;
      header.result(status::ok);
      header.set(beast_http::field::content_type, "application/octet-stream");
      header.set(beast_http::field::content_length, "100000");
      co_await call.begin(std::move(header));
      std::string piece(7000, 'x');
      std::size_t left = 100000;
      while (left > 0) {
        const auto size = std::min(left, piece.size());
        co_await call.write(std::span<const char>(piece.data(), size));
        left -= size;
      }
    });
    routes_.add_streaming(beast_http::verb::post, "/throws", [](exchange&) -> asio::awaitable<void> {
      throw std::runtime_error("no");
      co_return;
    });
    routes_.add(beast_http::verb::get, "/plain", [](request_context& context) -> asio::awaitable<response> {
      boost::json::object plain;
      plain["plain"] = true;
      co_return json_response(context.message, status::ok, plain);
    });
    for (const bool chunked : {false, true}) {
      routes_.add(beast_http::verb::get, chunked ? "/wire-chunked" : "/wire",
                  [chunked](request_context& context) -> asio::awaitable<response> {
                    co_return wire_answer(context.message, chunked);
                  });
    }
    server_options options;
    options.port = 0;
    server_ = std::make_unique<server>(options, routes_, metrics_);
    server_->start();
    asio::connect(socket_, tcp::resolver(io_).resolve("127.0.0.1", std::to_string(server_->port())));
  }

  void TearDown() override {
    server_->stop();
    server_->wait();
  }

  beast_http::response<beast_http::string_body> exchange_once(request message) {
    message.set(beast_http::field::host, "127.0.0.1");
    message.prepare_payload();
    beast_http::write(socket_, message);
    return read_answer(message.method() == beast_http::verb::head);
  }

  beast_http::response<beast_http::string_body> read_answer(bool head = false) {
    beast_http::response_parser<beast_http::string_body> parser;
    parser.skip(head);
    parser.body_limit(10'000'000);
    beast_http::read(socket_, buffer_, parser);
    return parser.release();
  }

  bool closed_by_server() {
    boost::system::error_code error;
    char byte = 0;
    socket_.read_some(asio::buffer(&byte, 1), error);
    return error == asio::error::eof || error == asio::error::connection_reset;
  }

  router routes_;
  metrics metrics_;
  std::unique_ptr<server> server_;
  asio::io_context io_;
  tcp::socket socket_{io_};
  boost::beast::flat_buffer buffer_;
};

TEST_F(streaming_test, a_body_is_read_in_pieces_and_the_connection_is_kept) {
  std::string body(300'000, '\0');
  std::uint64_t sum = 0;
  for (std::size_t index = 0; index < body.size(); ++index) {
    body[index] = static_cast<char>(index % 251);
    sum += index % 251;
  }
  request upload{beast_http::verb::post, "/upload", 11};
  upload.body() = body;
  const auto answer = exchange_once(upload);
  EXPECT_EQ(answer.result(), status::created);
  EXPECT_EQ(answer.body(), "{\"size\":300000,\"sum\":" + std::to_string(sum) + "}");
  EXPECT_TRUE(answer.keep_alive());
  // The same connection serves the next request.
  const auto plain = exchange_once(request{beast_http::verb::get, "/plain", 11});
  EXPECT_EQ(plain.body(), R"({"plain":true})");
}

TEST_F(streaming_test, a_chunked_body_is_read_to_its_end) {
  const std::string wire =
      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n";
  asio::write(socket_, asio::buffer(wire));
  const auto answer = read_answer();
  EXPECT_EQ(answer.result(), status::created);
  EXPECT_EQ(answer.body(), R"({"size":8,"sum":)" + std::to_string(97 + 98 + 99 + 100 + 101 + 102 + 103 + 104) + "}");
}

// The client waits for 100 Continue: the refusal comes first, and no body is ever sent; the
// body not being read, the connection closes after the answer.
TEST_F(streaming_test, a_refusal_by_content_length_comes_before_100_continue) {
  const std::string wire = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
                           "Expect: 100-continue\r\n\r\n";
  asio::write(socket_, asio::buffer(wire));
  const auto answer = read_answer();
  EXPECT_EQ(answer.result(), status::payload_too_large);
  EXPECT_NE(answer.body().find("too_large"), std::string::npos);
  EXPECT_FALSE(answer.keep_alive());
  EXPECT_TRUE(closed_by_server());
}

TEST_F(streaming_test, an_answer_is_written_in_pieces_and_head_gets_its_length_only) {
  const auto answer = exchange_once(request{beast_http::verb::get, "/file", 11});
  EXPECT_EQ(answer.result(), status::ok);
  EXPECT_EQ(answer.body(), std::string(100000, 'x'));
  const auto head = exchange_once(request{beast_http::verb::head, "/file", 11});
  EXPECT_EQ(head.result(), status::ok);
  EXPECT_EQ(head[beast_http::field::content_length], "100000");
  EXPECT_TRUE(head.body().empty());
  // Still in step: the next request on the connection is answered.
  EXPECT_EQ(exchange_once(request{beast_http::verb::get, "/plain", 11}).result(), status::ok);
}

TEST_F(streaming_test, plain_answers_are_written_byte_for_byte_as_beast_writes_them) {
  for (const char* target : {"/wire", "/wire-chunked"}) {
    for (const unsigned version : {10U, 11U}) {
      request message{beast_http::verb::get, target, version};
      message.set(beast_http::field::host, "127.0.0.1");
      message.keep_alive(false);
      std::ostringstream expected;
      expected << wire_answer(message, std::string_view(target) == "/wire-chunked");

      tcp::socket socket(io_);
      asio::connect(socket,
                    tcp::resolver(io_).resolve("127.0.0.1", std::to_string(server_->port())));
      beast_http::write(socket, message);
      std::string wire;
      boost::system::error_code error;
      asio::read(socket, asio::dynamic_buffer(wire), error); // to the end: the server closes
      EXPECT_EQ(error, asio::error::eof);
      EXPECT_EQ(wire, expected.str()) << target << " HTTP/" << version / 10 << "." << version % 10;
    }
  }
}

TEST_F(streaming_test, a_handler_that_throws_gets_a_500_and_the_connection_closes) {
  request call{beast_http::verb::post, "/throws", 11};
  call.body() = "unread";
  const auto answer = exchange_once(call);
  EXPECT_EQ(answer.result(), status::internal_server_error);
  EXPECT_NE(answer.body().find("internal_error"), std::string::npos);
  EXPECT_TRUE(closed_by_server());
}

} // namespace
} // namespace parley::http

// The load generator's WebSocket client (bench/load/sio_client) against a scripted server on
// loopback: what no Parley server sends (a message in fragments, a ping between them, a
// control frame that breaks the rules) is read as RFC 6455 says.
#include "sio_client.hpp"

#include "engineio/websocket_protocol.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace parley::load {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
constexpr auto k_use = asio::as_tuple(asio::use_awaitable);

// An unmasked frame, as a server writes one: FIN or not, the opcode, the payload (< 64 KiB).
std::string server_frame(bool fin, std::uint8_t opcode, std::string_view payload) {
  std::string bytes(1, static_cast<char>((fin ? 0x80 : 0x00) | opcode));
  if (payload.size() < 126) {
    bytes += static_cast<char>(payload.size());
  } else {
    bytes += static_cast<char>(126);
    bytes += static_cast<char>(payload.size() >> 8);
    bytes += static_cast<char>(payload.size() & 0xFF);
  }
  return bytes.append(payload);
}

struct client_frame {
  std::uint8_t opcode = 0;
  std::string payload;
};

// The server's side: one connection, read and written a step at a time by the test.
class scripted_server {
public:
  explicit scripted_server(asio::io_context& context)
      : acceptor_(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        socket_(context) {}

  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  // Accepts, answers the upgrade and sends Engine.IO's open packet.
  asio::awaitable<std::string> accept() {
    auto [accept_error] = co_await acceptor_.async_accept(socket_, k_use);
    if (accept_error) {
      co_return "accept: " + accept_error.message();
    }
    socket_.set_option(tcp::no_delay(true)); // each scripted write goes out at once
    http::request<http::empty_body> request;
    auto [read_error, read_bytes] = co_await http::async_read(socket_, buffer_, request, k_use);
    (void)read_bytes;
    if (read_error) {
      co_return "upgrade request: " + read_error.message();
    }
    const auto key = std::string(request[http::field::sec_websocket_key]);
    co_await write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                   "Upgrade\r\nSec-WebSocket-Accept: " +
                   engineio::websocket_accept(key) + "\r\n\r\n" +
                   server_frame(true, engineio::opcode::text,
                                R"(0{"sid":"s1","upgrades":[],"pingInterval":25000,)"
                                R"("pingTimeout":20000,"maxPayload":1000000})"));
    co_return "";
  }

  asio::awaitable<void> write(std::string bytes) {
    co_await asio::async_write(socket_, asio::buffer(bytes), k_use);
  }

  // The client's next frame (unmasked here), or nullopt when the connection ended.
  asio::awaitable<std::optional<client_frame>> read_frame() {
    for (;;) {
      const std::string_view bytes(static_cast<const char*>(buffer_.data().data()),
                                   buffer_.size());
      engineio::frame_head head;
      const auto status = engineio::read_frame_head(bytes, true, false, 1 << 20, head);
      if (status == engineio::frame_status::whole) {
        std::string payload(bytes.substr(head.size, static_cast<std::size_t>(head.length)));
        engineio::mask_in_place(payload.data(), payload.size(), head.mask);
        buffer_.consume(head.size + payload.size());
        co_return client_frame{head.opcode, std::move(payload)};
      }
      if (status != engineio::frame_status::need_more) {
        ADD_FAILURE() << "the client sent a frame that breaks RFC 6455";
        co_return std::nullopt;
      }
      auto [error, got] = co_await socket_.async_read_some(buffer_.prepare(4096), k_use);
      if (error) {
        co_return std::nullopt;
      }
      buffer_.commit(got);
    }
  }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    acceptor_.close(ignored);
  }

private:
  tcp::acceptor acceptor_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

struct event {
  std::string name;
  std::string payload;
};

class SioClientTest : public ::testing::Test {
protected:
  // Connects a client to the scripted server (Engine.IO open, Socket.IO CONNECT answered) and
  // starts its read loop; then runs `script` on the server's side until it returns.
  void run(std::function<asio::awaitable<void>(scripted_server&)> script) {
    scripted_server server(context_);
    auto client = std::make_shared<sio_connection>(context_);
    bool done = false;
    asio::co_spawn(
        context_,
        [&]() -> asio::awaitable<void> {
          const auto accepted = co_await server.accept();
          EXPECT_EQ(accepted, "");
          const auto connect = co_await server.read_frame();
          EXPECT_TRUE(connect && connect->payload.starts_with("40{\"token\":\"t\"}"))
              << (connect ? connect->payload : "no frame");
          co_await server.write(server_frame(true, engineio::opcode::text, R"(40{"sid":"x"})"));
          co_await script(server);
          done = true;
          client->abort(); // then every coroutine ends, and with them the run
          server.close();
        },
        asio::detached);
    asio::co_spawn(
        context_,
        [&]() -> asio::awaitable<void> {
          // Named, not a temporary in the co_await: g++ 12 frees such a temporary twice.
          const server_address address{"127.0.0.1", server.port()};
          const std::string token = "t";
          const auto opened = co_await client->open(address, token, std::nullopt);
          EXPECT_EQ(opened, "");
          client->start(
              [this](sio_connection&, std::string_view name, boost::json::value& payload,
                     std::int64_t) {
                events_.push_back(event{std::string(name), boost::json::serialize(payload)});
              },
              [this](std::string_view why) { closed_ = std::string(why); });
        },
        asio::detached);
    context_.run_for(std::chrono::seconds(30)); // bounds a failure only
    EXPECT_TRUE(context_.stopped()) << "work left after 30 s";
    EXPECT_TRUE(done) << "the script did not finish";
  }

  std::vector<event> events_;
  std::optional<std::string> closed_;
  asio::io_context context_; // destroyed first: what it still holds may refer to the above
};

TEST_F(SioClientTest, AFragmentedMessageIsJoinedAndAPingBetweenItsPartsIsAnswered) {
  run([](scripted_server& server) -> asio::awaitable<void> {
    co_await server.write(server_frame(false, engineio::opcode::text, R"(42["greet",{"te)") +
                          server_frame(true, engineio::opcode::ping, "p1") +
                          server_frame(false, engineio::opcode::continuation, R"(xt":"hel)") +
                          server_frame(true, engineio::opcode::continuation, R"(lo"}])"));
    const auto pong = co_await server.read_frame();
    EXPECT_TRUE(pong && pong->opcode == engineio::opcode::pong && pong->payload == "p1");
    // The same event whole after it: each is handed over once, in order.
    co_await server.write(server_frame(true, engineio::opcode::text, R"(42["greet",{"n":2}])"));
    co_await server.write(server_frame(true, engineio::opcode::ping, "p2"));
    const auto second = co_await server.read_frame();
    EXPECT_TRUE(second && second->opcode == engineio::opcode::pong && second->payload == "p2");
  });
  ASSERT_EQ(events_.size(), 2U);
  EXPECT_EQ(events_[0].name, "greet");
  EXPECT_EQ(events_[0].payload, R"({"text":"hello"})");
  EXPECT_EQ(events_[1].payload, R"({"n":2})");
}

TEST_F(SioClientTest, AMessageLongerThanOneReadIsReadWhole) {
  const std::string text(100'000, 'x');
  run([&](scripted_server& server) -> asio::awaitable<void> {
    const std::string body = "42[\"long\",\"" + text + "\"]";
    // More than the client reads at once; in two fragments (the helper writes up to 64 KiB).
    co_await server.write(server_frame(false, engineio::opcode::text, body.substr(0, 60'000)) +
                          server_frame(true, engineio::opcode::continuation, body.substr(60'000)));
    co_await server.write(server_frame(true, engineio::opcode::ping, "after"));
    const auto pong = co_await server.read_frame();
    EXPECT_TRUE(pong && pong->payload == "after");
  });
  ASSERT_EQ(events_.size(), 1U);
  EXPECT_EQ(events_[0].payload, "\"" + text + "\"");
}

TEST_F(SioClientTest, AControlFrameThatBreaksTheRulesEndsTheConnection) {
  run([](scripted_server& server) -> asio::awaitable<void> {
    // A ping of 126 bytes (control frames carry at most 125).
    co_await server.write(server_frame(true, engineio::opcode::ping, std::string(126, 'p')));
    const auto after = co_await server.read_frame();
    EXPECT_FALSE(after.has_value()) << "the client answered a ping it must refuse";
  });
  EXPECT_EQ(closed_, "bad websocket frame");
  EXPECT_TRUE(events_.empty());
}

TEST_F(SioClientTest, AFragmentedControlFrameEndsTheConnection) {
  run([](scripted_server& server) -> asio::awaitable<void> {
    co_await server.write(server_frame(false, engineio::opcode::ping, "p"));
    const auto after = co_await server.read_frame();
    EXPECT_FALSE(after.has_value());
  });
  EXPECT_EQ(closed_, "bad websocket frame");
}

} // namespace
} // namespace parley::load

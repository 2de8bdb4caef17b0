#include "sio_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/stream_base.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <netinet/in.h>

#include <charconv>

namespace parley::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {

constexpr auto k_use = asio::as_tuple(asio::use_awaitable);

std::string_view frame_text(const beast::flat_buffer& buffer) {
  const auto data = buffer.data();
  return {static_cast<const char*>(data.data()), data.size()};
}

// Reads the decimal ack id at the front of `text` (advancing it), or -1 when there is none.
std::int64_t take_id(std::string_view& text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  if (digits == 0) {
    return -1;
  }
  std::int64_t id = -1;
  std::from_chars(text.data(), text.data() + digits, id);
  text.remove_prefix(digits);
  return id;
}

} // namespace

sio_connection::sio_connection(asio::io_context& context) : context_(context), socket_(context) {}

asio::awaitable<std::string> sio_connection::open(const server_address& server,
                                                  const std::string& token,
                                                  std::optional<asio::ip::address> source) {
  auto& stream = socket_.next_layer();
  const tcp::endpoint endpoint(asio::ip::make_address(server.host), server.port);
  boost::system::error_code error;
  stream.open(endpoint.protocol(), error);
  if (error) {
    co_return "socket: " + error.message();
  }
  if (source) {
    // Pick the port at connect time, per destination: many source addresses then each get
    // the whole ephemeral port range.
    const int on = 1;
    ::setsockopt(stream.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    stream.bind(tcp::endpoint(*source, 0), error);
    if (error) {
      co_return "bind: " + error.message();
    }
  }
  auto [connect_error] = co_await stream.async_connect(endpoint, k_use);
  if (connect_error) {
    co_return "connect: " + connect_error.message();
  }
  stream.set_option(tcp::no_delay(true), error);
  socket_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  socket_.read_message_max(16 * 1024 * 1024);
  const std::string host = server.host + ":" + std::to_string(server.port);
  auto [handshake_error] =
      co_await socket_.async_handshake(host, "/socket.io/?EIO=4&transport=websocket", k_use);
  if (handshake_error) {
    co_return "websocket handshake: " + handshake_error.message();
  }
  socket_.text(true);
  // Engine.IO open, then Socket.IO CONNECT with the token.
  for (bool connect_sent = false;;) {
    auto [read_error, bytes] = co_await socket_.async_read(buffer_, k_use);
    (void)bytes;
    if (read_error) {
      co_return "read: " + read_error.message();
    }
    const std::string frame(frame_text(buffer_));
    buffer_.consume(buffer_.size());
    if (frame.starts_with("0{") && !connect_sent) {
      const std::string connect =
          "40{\"token\":" + boost::json::serialize(boost::json::string(token)) + "}";
      auto [write_error, written] = co_await socket_.async_write(asio::buffer(connect), k_use);
      (void)written;
      if (write_error) {
        co_return "write: " + write_error.message();
      }
      connect_sent = true;
    } else if (frame == "2") {
      auto [write_error, written] = co_await socket_.async_write(asio::buffer("3", 1), k_use);
      (void)written;
      if (write_error) {
        co_return "write: " + write_error.message();
      }
    } else if (frame.starts_with("40")) {
      open_ = true;
      co_return "";
    } else if (frame.starts_with("44")) {
      co_return "connect refused: " + frame.substr(2);
    } else {
      co_return "unexpected frame while connecting: " + frame.substr(0, 100);
    }
  }
}

void sio_connection::start(event_handler on_event,
                           std::function<void(std::string_view)> on_closed) {
  on_event_ = std::move(on_event);
  on_closed_ = std::move(on_closed);
  asio::co_spawn(context_, read_loop(), asio::detached);
}

asio::awaitable<void> sio_connection::read_loop() {
  const auto self = shared_from_this();
  while (open_) {
    auto [error, bytes] = co_await socket_.async_read(buffer_, k_use);
    (void)bytes;
    if (error) {
      finish(error.message());
      co_return;
    }
    dispatch(frame_text(buffer_));
    buffer_.consume(buffer_.size());
  }
}

void sio_connection::dispatch(std::string_view frame) {
  if (frame.empty()) {
    return;
  }
  if (frame[0] == '2') {
    send("3");
    return;
  }
  if (frame[0] == '1') {
    finish("engine.io close");
    return;
  }
  if (frame[0] != '4' || frame.size() < 2) {
    return;
  }
  const char type = frame[1];
  frame.remove_prefix(2);
  if (type == '1') {
    finish("socket.io disconnect");
    return;
  }
  if (type != '2' && type != '3') {
    return;
  }
  const std::int64_t id = take_id(frame);
  unsigned char storage[4096];
  boost::json::monotonic_resource memory(storage, sizeof storage);
  boost::system::error_code error;
  auto arguments = boost::json::parse(frame, error, &memory);
  if (error || !arguments.is_array()) {
    return;
  }
  if (type == '3') {
    const auto found = acks_.find(static_cast<std::uint64_t>(id));
    if (found != acks_.end()) {
      auto handler = std::move(found->second);
      acks_.erase(found);
      handler(arguments);
    }
    return;
  }
  auto& list = arguments.as_array();
  if (list.empty() || !list[0].is_string() || !on_event_) {
    return;
  }
  boost::json::value none;
  auto& payload = list.size() > 1 ? list[1] : none;
  on_event_(*this, list[0].as_string(), payload, id);
}

void sio_connection::emit_with_ack(std::string_view arguments_json, ack_handler on_ack) {
  const auto id = next_ack_++;
  acks_.emplace(id, std::move(on_ack));
  std::string frame = "42" + std::to_string(id);
  frame.append(arguments_json);
  send(std::move(frame));
}

void sio_connection::emit(std::string_view arguments_json) {
  std::string frame = "42";
  frame.append(arguments_json);
  send(std::move(frame));
}

void sio_connection::ack(std::int64_t id, std::string_view arguments_json) {
  std::string frame = "43" + std::to_string(id);
  frame.append(arguments_json);
  send(std::move(frame));
}

void sio_connection::send(std::string frame) {
  if (!open_) {
    return;
  }
  outbox_.push_back(std::move(frame));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(context_, write_loop(), asio::detached);
  }
}

asio::awaitable<void> sio_connection::write_loop() {
  const auto self = shared_from_this();
  while (!outbox_.empty() && open_) {
    auto [error, bytes] = co_await socket_.async_write(asio::buffer(outbox_.front()), k_use);
    (void)bytes;
    if (error) {
      writing_ = false;
      outbox_.clear();
      finish(error.message());
      co_return;
    }
    outbox_.pop_front();
  }
  writing_ = false;
}

asio::awaitable<void> sio_connection::close() {
  const auto self = shared_from_this();
  if (!socket_.is_open()) {
    co_return;
  }
  open_ = false;
  auto [error] = co_await socket_.async_close(websocket::close_code::normal, k_use);
  (void)error;
  boost::system::error_code ignored;
  socket_.next_layer().close(ignored);
}

void sio_connection::abort() {
  open_ = false;
  boost::system::error_code ignored;
  socket_.next_layer().close(ignored);
}

void sio_connection::finish(std::string_view why) {
  const bool was_open = open_;
  open_ = false;
  acks_.clear();
  if (on_closed_ && was_open) {
    auto handler = std::move(on_closed_);
    handler(why);
  }
}

} // namespace parley::load

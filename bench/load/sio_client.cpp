#include "sio_client.hpp"

#include "engineio/packet.hpp"
#include "engineio/websocket_protocol.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <netinet/in.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <random>

namespace parley::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr auto k_use = asio::as_tuple(asio::use_awaitable);

// The largest message read; more ends the connection.
constexpr std::size_t k_message_max = 16 * 1024 * 1024;
// Connecting, the WebSocket handshake and Socket.IO's CONNECT, at most.
constexpr std::chrono::seconds k_open_timeout{30};
// Room asked for before each read (more when a message does not fit; back to this once read).
constexpr std::size_t k_read_room = 4096;

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

std::uint64_t next_random(std::uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

} // namespace

sio_connection::sio_connection(asio::io_context& context, bool gather_writes)
    : context_(context), socket_(context), mask_state_(std::random_device{}() | 1U),
      gather_writes_(gather_writes) {}

asio::awaitable<std::string> sio_connection::open(const server_address& server,
                                                  const std::string& token,
                                                  std::optional<asio::ip::address> source) {
  const tcp::endpoint endpoint(asio::ip::make_address(server.host), server.port);
  // A server that accepts and never answers ends the connection after this (the timer goes
  // with this coroutine's frame: its destruction cancels the wait).
  asio::steady_timer deadline(context_, k_open_timeout);
  deadline.async_wait([self = shared_from_this()](boost::system::error_code expired) {
    if (!expired && !self->open_) {
      self->abort();
    }
  });
  boost::system::error_code error;
  socket_.open(endpoint.protocol(), error);
  if (error) {
    co_return "socket: " + error.message();
  }
  if (source) {
    // Pick the port at connect time, per destination: many source addresses then each get
    // the whole ephemeral port range.
    const int on = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    socket_.bind(tcp::endpoint(*source, 0), error);
    if (error) {
      co_return "bind: " + error.message();
    }
  }
  auto [connect_error] = co_await socket_.async_connect(endpoint, k_use);
  if (connect_error) {
    co_return "connect: " + connect_error.message();
  }
  socket_.set_option(tcp::no_delay(true), error);
  socket_.non_blocking(true, error); // for send()'s immediate writes
  if (error) {
    co_return "non-blocking: " + error.message();
  }

  // The opening handshake (RFC 6455 4.1).
  std::array<char, 16> nonce{};
  for (std::size_t index = 0; index < nonce.size(); index += 8) {
    const auto word = next_random(mask_state_);
    std::memcpy(nonce.data() + index, &word, 8);
  }
  const std::string key = engineio::base64_encode(std::string_view(nonce.data(), nonce.size()));
  http::request<http::empty_body> request{http::verb::get,
                                          "/socket.io/?EIO=4&transport=websocket", 11};
  request.set(http::field::host, server.host + ":" + std::to_string(server.port));
  request.set(http::field::upgrade, "websocket");
  request.set(http::field::connection, "Upgrade");
  request.set(http::field::sec_websocket_key, key);
  request.set(http::field::sec_websocket_version, "13");
  auto [request_error, request_bytes] = co_await http::async_write(socket_, request, k_use);
  (void)request_bytes;
  if (request_error) {
    co_return "websocket handshake: " + request_error.message();
  }
  beast::flat_buffer received;
  http::response<http::empty_body> response;
  auto [response_error, response_bytes] =
      co_await http::async_read(socket_, received, response, k_use);
  (void)response_bytes;
  if (response_error) {
    co_return "websocket handshake: " + response_error.message();
  }
  if (response.result() != http::status::switching_protocols ||
      response[http::field::sec_websocket_accept] != engineio::websocket_accept(key)) {
    co_return "websocket handshake: answered " + std::to_string(response.result_int());
  }
  // What came after the response is the first frames.
  in_.assign(static_cast<const char*>(received.data().data()), received.size());
  in_end_ = in_.size();

  // Engine.IO open, then Socket.IO CONNECT with the token.
  for (bool connect_sent = false;;) {
    std::string_view message;
    const auto found = next_message(message);
    if (found == frames::bad || found == frames::closed) {
      co_return found == frames::bad ? "bad websocket frame" : "closed while connecting";
    }
    if (found == frames::more) {
      auto [read_error, bytes] = co_await read_some();
      (void)bytes;
      if (read_error) {
        co_return "read: " + read_error.message();
      }
      continue;
    }
    const std::string frame(message);
    if (frame.starts_with("0{") && !connect_sent) {
      send("40{\"token\":" + boost::json::serialize(boost::json::string(token)) + "}");
      connect_sent = true;
    } else if (frame == "2") {
      send("3");
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
  reading_ = true;
  asio::co_spawn(context_, read_loop(), asio::detached);
}

asio::awaitable<std::pair<boost::system::error_code, std::size_t>> sio_connection::read_some() {
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
    if (in_.size() > k_read_room) {
      in_.resize(k_read_room);
      in_.shrink_to_fit();
    }
  } else if (in_.size() - in_end_ < k_read_room && in_begin_ > 0) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  if (in_.size() - in_end_ < k_read_room) {
    in_.resize(std::max(in_end_ + k_read_room, 2 * in_.size()));
  }
  auto [error, bytes] = co_await socket_.async_read_some(
      asio::buffer(in_.data() + in_end_, in_.size() - in_end_), k_use);
  in_end_ += bytes;
  co_return std::pair{error, bytes};
}

sio_connection::frames sio_connection::next_message(std::string_view& message) {
  if (std::exchange(joined_ready_, false)) {
    joined_.clear(); // the caller is done with the joined message returned last
  }
  for (;;) {
    const std::string_view bytes(in_.data() + in_begin_, in_end_ - in_begin_);
    engineio::frame_head head;
    const auto room = k_message_max - std::min(joined_.size(), k_message_max);
    switch (engineio::read_frame_head(bytes, false, joining_, room, head)) {
    case engineio::frame_status::whole:
      break;
    case engineio::frame_status::need_more:
      return frames::more;
    default:
      return frames::bad; // RFC 6455's rules for what a server sends, and the size limit
    }
    const auto length = static_cast<std::size_t>(head.length);
    const std::string_view payload = bytes.substr(head.size, length);
    const bool fin = head.fin;
    in_begin_ += head.size + length;
    switch (head.opcode) {
    case engineio::opcode::continuation:
    case engineio::opcode::text:
    case engineio::opcode::binary:
      if (fin && !joining_) {
        message = payload;
        return frames::message;
      }
      joining_ = !fin;
      joined_.append(payload);
      if (fin) {
        joined_ready_ = true;
        message = joined_;
        return frames::message;
      }
      break;
    case engineio::opcode::close: // answered once, then the server closes the connection
      if (!close_sent_) {
        close_sent_ = true;
        send(payload.substr(0, std::min<std::size_t>(payload.size(), 2)),
             engineio::opcode::close);
      }
      return frames::closed;
    case engineio::opcode::ping:
      send(payload, engineio::opcode::pong);
      break;
    default: // a pong
      break;
    }
  }
}

asio::awaitable<void> sio_connection::read_loop() {
  const auto self = shared_from_this();
  while (open_) {
    std::string_view message;
    switch (next_message(message)) {
    case frames::message:
      dispatch(message);
      continue;
    case frames::bad:
      finish("bad websocket frame");
      abort();
      co_return;
    case frames::closed:
      finish("websocket close");
      co_return;
    case frames::more:
      break;
    }
    auto [error, bytes] = co_await read_some();
    (void)bytes;
    if (error) {
      finish(error.message());
      co_return;
    }
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
  send(frame);
}

void sio_connection::emit(std::string_view arguments_json) {
  std::string frame = "42";
  frame.append(arguments_json);
  send(frame);
}

void sio_connection::ack(std::int64_t id, std::string_view arguments_json) {
  std::string frame = "43" + std::to_string(id);
  frame.append(arguments_json);
  send(frame);
}

void sio_connection::send(std::string_view payload, unsigned opcode) {
  if (!socket_.is_open() || (close_sent_ && opcode != engineio::opcode::close)) {
    return;
  }
  // The header (FIN, the opcode, the mask bit and the length); the masking key; the masked
  // payload.
  const std::size_t size = payload.size();
  pending_.append(engineio::frame_header(static_cast<std::uint8_t>(opcode), size, true).bytes());
  const auto random = static_cast<std::uint32_t>(next_random(mask_state_));
  std::uint8_t key[4];
  std::memcpy(key, &random, 4);
  pending_.append(reinterpret_cast<const char*>(key), 4);
  const std::size_t start = pending_.size();
  pending_.append(payload);
  engineio::mask_in_place(pending_.data() + start, size, key);
  if (!gather_writes_ && !writing_) {
    // One send(2) now (the socket does not block: open()), what does not fit later.
    boost::system::error_code error;
    const auto written = socket_.write_some(asio::buffer(pending_), error);
    pending_.erase(0, written);
    if (error && error != asio::error::would_block) {
      pending_.clear(); // the read loop sees the connection's end
      return;
    }
    if (pending_.empty()) {
      return;
    }
    flush();
    return;
  }
  if (!writing_ && !std::exchange(flush_posted_, true)) {
    asio::post(context_, [self = shared_from_this()] {
      self->flush_posted_ = false;
      self->flush();
    });
  }
}

void sio_connection::flush() {
  if (writing_ || pending_.empty() || !socket_.is_open()) {
    return;
  }
  writing_ = true;
  in_flight_.swap(pending_);
  asio::async_write(socket_, asio::buffer(in_flight_),
                    [self = shared_from_this()](boost::system::error_code error, std::size_t) {
                      self->writing_ = false;
                      self->in_flight_.clear();
                      if (error) {
                        self->pending_.clear();
                        self->finish(error.message());
                        return;
                      }
                      self->flush();
                    });
}

asio::awaitable<void> sio_connection::close() {
  const auto self = shared_from_this();
  if (!socket_.is_open() || close_sent_) {
    co_return;
  }
  open_ = false;
  close_sent_ = true;
  send("\x03\xE8", engineio::opcode::close); // 1000: normal closure
  if (reading_) {
    co_return; // the read loop sees the server's close
  }
  // Until the server's close (or the end of the connection), then the socket closes.
  for (;;) {
    std::string_view message;
    const auto found = next_message(message);
    if (found == frames::bad || found == frames::closed) {
      break;
    }
    if (found == frames::message) {
      continue;
    }
    auto [error, bytes] = co_await read_some();
    (void)bytes;
    if (error) {
      break;
    }
  }
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void sio_connection::abort() {
  open_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
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

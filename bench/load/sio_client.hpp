#pragma once
// A Socket.IO v5 client over Engine.IO v4, WebSocket transport only, for load generation:
// many connections per thread, each driven by its thread's io_context (no locks). It answers
// pings, matches acks to their callbacks and hands every event to one handler.
//
// The WebSocket (RFC 6455, client side, no extensions) is its own, kept small so that the
// generator takes as little as it can of the machine it shares with the server: one read takes
// every frame the socket holds, and no coroutine or allocation per frame. Each frame is written
// when it is sent, as Node's `ws` client (the official socket.io-client's) does; with
// `gather_writes` the frames sent while one handler runs leave in one write after it, as the
// server gathers its own.
// A frame's header is read and checked by the server's own `engineio::read_frame_head`: one
// that breaks RFC 6455's rules (masked, reserved bits or opcode, a control frame fragmented or
// over 125 bytes, a continuation out of place) ends the connection.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace parley::load {

struct server_address {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
};

class sio_connection : public std::enable_shared_from_this<sio_connection> {
public:
  /// An event from the server: its name, its first argument and the ack id it asks for (or
  /// -1). Answer with `ack(id, "[]")`.
  using event_handler = std::function<void(sio_connection&, std::string_view name,
                                           boost::json::value& payload, std::int64_t ack_id)>;
  /// The arguments array of an ack.
  using ack_handler = std::function<void(boost::json::value& arguments)>;

  explicit sio_connection(boost::asio::io_context& context, bool gather_writes = false);

  /// TCP connect (from `source` when given), WebSocket handshake, Engine.IO open, Socket.IO
  /// CONNECT with `{"token"}`. Returns an empty string once connected, else why not. Must
  /// run on this connection's io_context.
  boost::asio::awaitable<std::string> open(const server_address& server, const std::string& token,
                                           std::optional<boost::asio::ip::address> source);

  /// Starts the read loop (after open). `on_closed` runs once when the connection ends.
  void start(event_handler on_event, std::function<void(std::string_view why)> on_closed = {});

  /// `42[...]` with an ack id; `arguments_json` is the JSON array text `["name",{...}]`.
  void emit_with_ack(std::string_view arguments_json, ack_handler on_ack);
  void emit(std::string_view arguments_json);
  void ack(std::int64_t id, std::string_view arguments_json);

  /// A WebSocket close handshake, then the socket closes.
  boost::asio::awaitable<void> close();
  /// Drops the TCP connection without a handshake.
  void abort();

  [[nodiscard]] bool is_open() const { return open_; }
  [[nodiscard]] std::size_t pending_acks() const { return acks_.size(); }
  [[nodiscard]] boost::asio::io_context& context() { return context_; }

private:
  enum class frames { message, more, bad, closed };

  /// Masks `payload` into a frame of `opcode` at the end of pending_ and writes it: at once
  /// (what the socket takes; the rest when it can), or with gather_writes_ once the running
  /// handler returns, with every frame sent meanwhile.
  void send(std::string_view payload, unsigned opcode = 1);
  void flush();
  /// Reads into in_ (error or bytes read).
  boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some();
  /// The next whole message in in_ (`message` points into this object until the next call), or
  /// why there is none: more to read, a protocol error, or the server's close (answered). Pings
  /// are answered on the way.
  frames next_message(std::string_view& message);
  boost::asio::awaitable<void> read_loop();
  void dispatch(std::string_view frame);
  void finish(std::string_view why);

  boost::asio::io_context& context_;
  boost::asio::ip::tcp::socket socket_;
  std::string in_;           // bytes read: [in_begin_, in_end_) not parsed yet
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::string joined_;       // a fragmented message's parts so far
  bool joining_ = false;     // joined_ waits for more parts
  bool joined_ready_ = false; // joined_ was returned whole: clear it before the next frame
  std::string pending_;      // frames to write
  std::string in_flight_;    // frames being written
  std::uint64_t mask_state_; // xorshift64 state for the frames' masking keys
  const bool gather_writes_;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool reading_ = false;
  bool close_sent_ = false;
  bool open_ = false;
  std::uint64_t next_ack_ = 0;
  std::unordered_map<std::uint64_t, ack_handler> acks_;
  event_handler on_event_;
  std::function<void(std::string_view)> on_closed_;
};

} // namespace parley::load

#pragma once
// One Engine.IO session: its outbound queue, its transport (HTTP long-polling or WebSocket,
// and the upgrade from one to the other), its heartbeat. A session lives on one executor
// (single-threaded: the I/O thread it was opened on); every member function must be called
// there. Other threads reach it with asio::post(session->executor(), …).

#include "engineio/coalescing_socket.hpp"
#include "engineio/options.hpp"
#include "engineio/packet.hpp"
#include "engineio/websocket.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

namespace parley::engineio {

enum class close_reason {
  client_close,    ///< The client sent a close packet or ended the transport.
  transport_error, ///< The transport failed (connection reset, read error).
  ping_timeout,    ///< No pong within ping_timeout.
  parse_error,     ///< The client sent something that is not Engine.IO.
  protocol_error,  ///< A request the protocol forbids (a second GET while one waits, …).
  overflow,        ///< The outbound queue passed its bound (a client that does not read).
  server_close,    ///< The application or a shutdown closed it.
};

[[nodiscard]] std::string_view describe(close_reason reason);

/// What the layer above needs of the request that opened the session (kept for the session's
/// life, so nothing more: the origin was checked and the query read before it opened).
struct handshake {
  std::string client_address;
  std::string cookie; ///< The raw Cookie header, for session cookies.
};

class session;

/// The layer above (Socket.IO, or the compliance echo). Called on the session's executor.
class session_handler {
public:
  virtual ~session_handler() = default;
  virtual void on_open(const std::shared_ptr<session>& opened) = 0;
  /// A message packet (text or binary) from the client.
  virtual void on_message(const std::shared_ptr<session>& from, packet&& message) = 0;
  /// Called once; nothing can be sent afterwards.
  virtual void on_close(const std::shared_ptr<session>& closed, close_reason reason) = 0;
};

/// The HTTP request that asked for the WebSocket (http::request).
using upgrade_message = boost::beast::http::request<boost::beast::http::string_body>;

/// The answer to a polling request, for the HTTP layer to send.
struct poll_answer {
  enum class kind { ok, unknown_session, bad_request, payload_too_large } what = kind::ok;
  std::string body; ///< The encoded payload (GET) or "ok" (POST).
};

class session : public std::enable_shared_from_this<session> {
public:
  enum class transport { polling, websocket };

  /// `on_finished` is called (on the executor) when the session is gone, so that the owner
  /// can forget its id.
  session(std::string id, boost::asio::any_io_executor executor, const options& settings,
          session_handler& handler, handshake opened_with, transport first_transport,
          std::function<void(const std::string&)> on_finished);

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const { return executor_; }
  [[nodiscard]] const handshake& opened_with() const { return handshake_; }
  [[nodiscard]] bool is_open() const { return state_ != state::closed; }
  [[nodiscard]] transport current_transport() const { return transport_; }

  /// A slot for the layer above (the Socket.IO connection state of this session).
  [[nodiscard]] const std::shared_ptr<void>& attachment() const { return attachment_; }
  void attach(std::shared_ptr<void> value) { attachment_ = std::move(value); }

  /// The open packet's JSON; starts the heartbeat. Call once, right after construction. A
  /// WebSocket session also queues the open packet as its first frame.
  std::string start();

  /// Queues a message (text or binary). Closes the session with `overflow` when the queue is
  /// over its bound. Ignored after close.
  void send(packet message);

  /// Closes the session. Queued packets still go out on a polling transport with the close
  /// packet (the next GET gets them); a WebSocket is closed after its queue is written.
  void close(close_reason reason = close_reason::server_close);

  /// A polling GET: waits for packets, then answers with all of them.
  boost::asio::awaitable<poll_answer> poll();
  /// A polling POST with `body` (a payload).
  boost::asio::awaitable<poll_answer> receive(std::string body);
  /// Answers the WebSocket handshake `request` (freed once answered), then starts the
  /// WebSocket transport, which goes on after this coroutine: a fresh WebSocket session (the
  /// open packet was already queued by start()), or an upgrade probe of a polling session
  /// (the probe runs in this coroutine).
  boost::asio::awaitable<void> run_websocket(std::shared_ptr<websocket> socket,
                                             std::unique_ptr<upgrade_message> request);

private:
  enum class state { open, closing, closed };

  void queue(packet message);
  void queue_before(std::list<packet>::iterator position, packet message);
  /// Bytes the client sent on `socket` that wait unread in the kernel (0 on error).
  static std::size_t unread_bytes(websocket& socket);
  void wake();
  void on_packet(packet&& message);
  void finish(close_reason reason);
  void forget();
  boost::asio::steady_timer& made(std::unique_ptr<boost::asio::steady_timer>& timer);
  static void cancel(const std::unique_ptr<boost::asio::steady_timer>& timer);
  void arm_heartbeat(std::chrono::milliseconds after);
  void arm_heartbeat_at(boost::asio::steady_timer::time_point when);
  void on_heartbeat(const boost::system::error_code& error);
  void send_ping();
  [[nodiscard]] bool input_waiting() const;
  void read_next();
  void on_read(boost::system::error_code error, std::string data, bool text);
  void write_queued(const std::shared_ptr<websocket>& socket, bool held);
  boost::asio::awaitable<bool> probe(websocket& socket);
  /// Reads one message of the probe: nullopt unless it is a text frame.
  boost::asio::awaitable<std::optional<std::string>> probe_read(websocket& socket);
  void probe_step();
  boost::asio::awaitable<void> settle_probe();
  std::string drain_payload();

  std::string id_;
  boost::asio::any_io_executor executor_;
  const options& options_;
  session_handler& handler_;
  handshake handshake_;
  std::function<void(const std::string&)> on_finished_;

  state state_ = state::open;
  transport transport_;
  close_reason reason_ = close_reason::server_close;
  // A list, not a deque: an idle session's empty queue allocates nothing (libstdc++'s
  // deque allocates a map and a 512-byte node even when empty).
  std::list<packet> queue_;
  std::size_t queued_bytes_ = 0;
  bool get_pending_ = false;
  // A WebSocket probe of this polling session is under way (from its handshake until it
  // upgrades or fails); `upgrading_` from the probe's answer ("3probe") until the client's
  // "5"; `probe_reading_` while the probe waits for the client's next frame.
  bool probing_ = false;
  bool upgrading_ = false;
  bool probe_reading_ = false;
  std::uint64_t probe_steps_ = 0; // each start and end of a probe read, and its start and end
  websocket* probe_socket_ = nullptr;
  bool awaiting_pong_ = false;
  // Anything from the client since the last ping: proof that it is alive even if its pong is
  // still behind what it sent (unread here, on a busy server).
  bool heard_since_ping_ = false;
  boost::asio::steady_timer::time_point ping_sent_{};
  // Closed by the client's close packet with no GET waiting: the GET it may have sent before
  // (on another connection, still on its way) gets the noop it would have had.
  bool owes_noop_ = false;
  bool writing_ = false; // a WebSocket writer runs (write_queued: until the queue is empty)
  // The two signals are made on first use (polling GETs, upgrade probes): a WebSocket-only
  // session never waits on them, and each timer is ~120 bytes.
  std::unique_ptr<boost::asio::steady_timer> signal_; // cancelled when there is something to send
  // Ping interval, then ping timeout (or the closing deadline). A completion handler rather
  // than a coroutine: an idle session keeps no coroutine frame for its heartbeat.
  boost::asio::steady_timer heartbeat_;
  std::unique_ptr<boost::asio::steady_timer> upgrade_signal_; // cancelled at each probe step
  std::shared_ptr<websocket> websocket_;
  std::shared_ptr<void> attachment_;
};

} // namespace parley::engineio

#pragma once
// Socket.IO v5 over Engine.IO: namespaces, CONNECT with an auth object, events and acks in
// both directions, binary attachments, DISCONNECT, the connect timeout. The application
// plugs in one namespace_handler per namespace; everything about one client connection runs
// on its Engine.IO session's executor (see engineio/session.hpp).

#include "engineio/session.hpp"
#include "socketio/packet.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace parley::socketio {

/// An event's arguments (without the event name) and their binary parts: binary values appear
/// in `args` as placeholders {"_placeholder":true,"num":N} indexing `attachments`.
struct message {
  boost::json::array args;
  std::vector<std::string> attachments;
  /// Some string had an escaped lone surrogate, now U+FFFD (see packet::replaced_lone_surrogates).
  bool replaced_lone_surrogates = false;
  /// When set, the arguments already written as a JSON array (`[…]`): sent instead of `args`
  /// (for the hot paths that write their JSON directly).
  std::shared_ptr<const std::string> serialized_args;
};

/// An event and its arguments serialised once (`["name", …]`) for many sockets: a fan-out
/// encodes the JSON once instead of once per recipient. Text arguments only.
using serialized_event = std::shared_ptr<const std::string>;
[[nodiscard]] serialized_event serialize_event(std::string_view event, const message& args);

/// A message with one JSON argument and no binary parts (most events and acks).
[[nodiscard]] inline message single_argument(boost::json::value value) {
  return message{boost::json::array{std::move(value)}, {}, false, nullptr};
}

/// A message with one argument already written as JSON text, given whole or in pieces that
/// are joined as they are (a fixed head, a text rendered elsewhere, a fixed tail).
[[nodiscard]] inline message
single_serialized_argument(std::initializer_list<std::string_view> json_pieces) {
  std::size_t size = 2;
  for (const auto piece : json_pieces) {
    size += piece.size();
  }
  auto text = std::make_shared<std::string>();
  text->reserve(size);
  text->push_back('[');
  for (const auto piece : json_pieces) {
    text->append(piece);
  }
  text->push_back(']');
  return message{{}, {}, false, std::move(text)};
}
[[nodiscard]] inline message single_serialized_argument(std::string_view json) {
  return single_serialized_argument({json});
}

class socket;
class connection;

/// Called with the client's acknowledgement, or nullopt when it did not come in time or the
/// socket went away first.
using ack_callback = std::function<void(std::optional<message> reply)>;
/// Answers a client's event (at most once; later calls are ignored).
using ack_function = std::function<void(message reply)>;

/// One client connected to one namespace. Use on its executor only; from other threads,
/// asio::post(socket->executor(), …).
class socket : public std::enable_shared_from_this<socket> {
public:
  socket(std::string id, std::string nsp, std::weak_ptr<connection> owner,
         boost::asio::any_io_executor executor);

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] const std::string& nsp() const { return nsp_; }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const { return executor_; }
  [[nodiscard]] bool connected() const { return connected_; }
  /// What the Engine.IO session was opened with (address, cookie, …).
  [[nodiscard]] const engineio::handshake* opened_with() const;

  /// Sends an event.
  void emit(std::string_view event, message args = {});
  /// Sends an event and waits up to `timeout` for the client's acknowledgement.
  void emit_with_ack(std::string_view event, message args, std::chrono::milliseconds timeout,
                     ack_callback on_reply);
  /// The same with an event serialised once for many sockets.
  void emit(const serialized_event& event);
  void emit_with_ack(const serialized_event& event, std::chrono::milliseconds timeout,
                     ack_callback on_reply);
  /// Sends DISCONNECT for this namespace; the Engine.IO session stays.
  void disconnect();

  /// Application data attached at connect (e.g. who the user is).
  std::shared_ptr<void> user_data;

  /// Scopes (e.g. a conversation) this socket has been shut out of: the hub drops events
  /// tagged with one (see hub::close_scope) until it is opened again.
  void close_scope(std::int64_t scope) {
    if (!in_closed_scope(scope)) {
      closed_scopes_.push_back(scope);
    }
  }
  void open_scope(std::int64_t scope) { std::erase(closed_scopes_, scope); }
  [[nodiscard]] bool in_closed_scope(std::int64_t scope) const {
    return std::ranges::find(closed_scopes_, scope) != closed_scopes_.end();
  }

private:
  friend class connection;
  void on_ack(std::uint64_t id, message reply);
  void drop(std::string_view reason); // no packet sent

  // One timer per socket for every pending ack (not one each): armed for the earliest
  // deadline, it expires what is due and re-arms for the next.
  void send_event(packet outgoing);
  void send_event_with_ack(packet outgoing, std::chrono::milliseconds timeout,
                           ack_callback on_reply);
  std::uint64_t expect_ack(std::chrono::milliseconds timeout, ack_callback on_reply);
  void arm_ack_timer(std::chrono::steady_clock::time_point deadline);
  void expire_acks();

  struct pending_ack {
    ack_callback on_reply;
    std::chrono::steady_clock::time_point deadline;
  };

  std::string id_;
  std::string nsp_;
  std::weak_ptr<connection> owner_;
  boost::asio::any_io_executor executor_;
  bool connected_ = true;
  std::uint64_t next_ack_id_ = 0;
  std::map<std::uint64_t, pending_ack> pending_acks_;
  std::unique_ptr<boost::asio::steady_timer> ack_timer_; // made on the first ack asked for
  std::optional<std::chrono::steady_clock::time_point> ack_timer_deadline_; // when armed
  std::vector<std::int64_t> closed_scopes_;
};

/// Why a CONNECT is refused: becomes CONNECT_ERROR {"message": …, "data"?: …}.
struct connect_refusal {
  std::string message;
  boost::json::value data;
};

/// The application's side of one namespace. Called on the client's executor.
class namespace_handler {
public:
  virtual ~namespace_handler() = default;
  /// Decides on a CONNECT (may take time: it is a coroutine). nullopt accepts.
  virtual boost::asio::awaitable<std::optional<connect_refusal>>
  authorize(std::shared_ptr<socket> client, boost::json::object auth) = 0;
  /// After the CONNECT reply went out.
  virtual void on_connect(const std::shared_ptr<socket>& client) = 0;
  /// An event from the client; `ack` is empty when the client asked for none.
  virtual void on_event(const std::shared_ptr<socket>& client, std::string name, message args,
                        ack_function ack) = 0;
  virtual void on_disconnect(const std::shared_ptr<socket>& client, std::string_view reason) = 0;
};

struct server_options {
  /// A client that joins no namespace within this time is closed.
  std::chrono::milliseconds connect_timeout{45'000};
};

/// The Socket.IO server: an Engine.IO session handler that speaks Socket.IO on top.
class server final : public engineio::session_handler {
public:
  explicit server(server_options options = {});

  /// Serves namespace `nsp` with `handler` (which must outlive the server). Before start.
  void add_namespace(std::string nsp, namespace_handler& handler);

  void on_open(const std::shared_ptr<engineio::session>& opened) override;
  void on_message(const std::shared_ptr<engineio::session>& from,
                  engineio::packet&& message) override;
  void on_close(const std::shared_ptr<engineio::session>& closed,
                engineio::close_reason reason) override;

  [[nodiscard]] namespace_handler* find_namespace(std::string_view nsp) const;
  [[nodiscard]] const server_options& options() const { return options_; }

private:
  server_options options_;
  std::map<std::string, namespace_handler*, std::less<>> namespaces_;
};

} // namespace parley::socketio

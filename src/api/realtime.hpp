#pragma once
// Parley's Socket.IO namespace "/": who may connect (a session token in the CONNECT auth
// object, or the parley_session cookie of the Engine.IO handshake), the registry of who is
// connected (the hub), and the chat events of the contract (message:send, message:edit,
// message:delete, reaction:set, sync, message:read, typing; presence on a user's first connect
// and last disconnect).

#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "common/histogram.hpp"
#include "socketio/hub.hpp"
#include "socketio/server.hpp"

#include <chrono>
#include <mutex>

namespace parley::api {

/// What a connected socket knows about its user.
/// Who a socket is: only what its events need (an idle socket keeps it for its whole life).
struct realtime_identity {
  store::id user_id = 0;
  store::id session_id = 0;
};

class realtime_namespace final : public socketio::namespace_handler {
public:
  /// `auth`, `registry` and `chat` (when given) must outlive the namespace. Without `chat`,
  /// every event is answered bad_request.
  realtime_namespace(auth::auth_service& auth, socketio::hub& registry,
                     chat::chat_service* chat = nullptr);

  boost::asio::awaitable<std::optional<socketio::connect_refusal>>
  authorize(std::shared_ptr<socketio::socket> client, boost::json::object auth) override;
  void on_connect(const std::shared_ptr<socketio::socket>& client) override;
  void on_event(const std::shared_ptr<socketio::socket>& client, std::string name,
                socketio::message args, socketio::ack_function ack) override;
  void on_disconnect(const std::shared_ptr<socketio::socket>& client,
                     std::string_view reason) override;

  /// How long each message:send that was stored took here: from the event's arrival in this
  /// namespace to its acknowledgement handed to the socket (the store's durable commit
  /// included; refused sends are not counted). Any thread.
  [[nodiscard]] common::latency_histogram send_latencies() const;

private:
  /// message:send, answered from chat_service::send's callback (no coroutine: the hot path).
  void send(std::shared_ptr<socketio::socket> client, store::id user, chat::send_request request,
            socketio::ack_function ack, std::chrono::steady_clock::time_point arrived);
  boost::asio::awaitable<void> sync(store::id user, std::vector<chat::sync_cursor> cursors,
                                    int limit, socketio::ack_function ack);
  boost::asio::awaitable<void> read(std::shared_ptr<socketio::socket> client, store::id user,
                                    store::id conversation, store::id up_to,
                                    socketio::ack_function ack);
  boost::asio::awaitable<void> typing(std::shared_ptr<socketio::socket> client, store::id user,
                                      store::id conversation, bool typing,
                                      socketio::ack_function ack);
  /// Presence news on a user's first connect and last disconnect; after the last, what the
  /// relay kept only for them is dropped.
  boost::asio::awaitable<void> presence(store::id user, bool online);

  auth::auth_service& auth_;
  socketio::hub& hub_;
  chat::chat_service* chat_;
  mutable std::mutex sends_mutex_;
  common::latency_histogram sends_; // guarded by sends_mutex_
};

} // namespace parley::api

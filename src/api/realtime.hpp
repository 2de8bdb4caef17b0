#pragma once
// Parley's Socket.IO namespace "/": who may connect (a session token in the CONNECT auth
// object, or the parley_session cookie of the Engine.IO handshake) and the registry of who is
// connected (the hub). The chat events are added by the chat layer.

#include "auth/auth_service.hpp"
#include "socketio/hub.hpp"
#include "socketio/server.hpp"

namespace parley::api {

/// What a connected socket knows about its user.
struct realtime_identity {
  auth::identity who;
};

class realtime_namespace final : public socketio::namespace_handler {
public:
  /// `auth` and `registry` must outlive the namespace.
  realtime_namespace(auth::auth_service& auth, socketio::hub& registry);

  boost::asio::awaitable<std::optional<socketio::connect_refusal>>
  authorize(std::shared_ptr<socketio::socket> client, boost::json::object auth) override;
  void on_connect(const std::shared_ptr<socketio::socket>& client) override;
  void on_event(const std::shared_ptr<socketio::socket>& client, std::string name,
                socketio::message args, socketio::ack_function ack) override;
  void on_disconnect(const std::shared_ptr<socketio::socket>& client,
                     std::string_view reason) override;

private:
  auth::auth_service& auth_;
  socketio::hub& hub_;
};

} // namespace parley::api

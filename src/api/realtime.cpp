#include "api/realtime.hpp"

#include "api/routes.hpp"
#include "http/message.hpp"

#include <spdlog/spdlog.h>

namespace parley::api {

realtime_namespace::realtime_namespace(auth::auth_service& auth, socketio::hub& registry)
    : auth_(auth), hub_(registry) {
  // Logging out disconnects that session's sockets.
  auth_.on_session_revoked([this](store::id session_id) { hub_.disconnect_session(session_id); });
}

boost::asio::awaitable<std::optional<socketio::connect_refusal>>
realtime_namespace::authorize(std::shared_ptr<socketio::socket> client, boost::json::object auth) {
  std::string token;
  if (const auto* given = auth.if_contains("token"); given != nullptr && given->is_string()) {
    token = std::string(given->as_string());
  } else if (const auto* opened = client->opened_with()) {
    token = http::cookie_value(opened->cookie, k_session_cookie).value_or("");
  }
  auto who = co_await auth_.authenticate(std::move(token));
  if (!who) {
    co_return socketio::connect_refusal{"unauthorized", nullptr};
  }
  client->user_data = std::make_shared<realtime_identity>(realtime_identity{std::move(*who)});
  co_return std::nullopt;
}

void realtime_namespace::on_connect(const std::shared_ptr<socketio::socket>& client) {
  const auto identity = std::static_pointer_cast<realtime_identity>(client->user_data);
  hub_.add(identity->who.user.user_id, identity->who.session_id, client);
  spdlog::debug("realtime.connected user={} socket={}", identity->who.user.user_id, client->id());
}

void realtime_namespace::on_event(const std::shared_ptr<socketio::socket>& client, std::string name,
                                  socketio::message args, socketio::ack_function ack) {
  (void)client;
  (void)args;
  if (ack) {
    ack(socketio::message{
        boost::json::array{boost::json::object{
            {"ok", false},
            {"error", boost::json::object{{"code", "bad_request"},
                                          {"message", "Unknown event '" + name + "'."}}}}},
        {}});
  }
}

void realtime_namespace::on_disconnect(const std::shared_ptr<socketio::socket>& client,
                                       std::string_view reason) {
  if (const auto identity = std::static_pointer_cast<realtime_identity>(client->user_data)) {
    hub_.remove(identity->who.user.user_id, client);
    spdlog::debug("realtime.disconnected user={} socket={} reason={}", identity->who.user.user_id,
                  client->id(), reason);
  }
}

} // namespace parley::api

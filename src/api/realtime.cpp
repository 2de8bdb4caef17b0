#include "api/realtime.hpp"

#include "api/request_guard.hpp"
#include "api/routes.hpp"
#include "chat/json.hpp"
#include "http/message.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/array.hpp>
#include <spdlog/spdlog.h>

#include <exception>

namespace parley::api {
namespace {

using boost::asio::awaitable;

void answer_error(const socketio::ack_function& ack, std::string_view code,
                  std::string_view message) {
  if (ack) {
    ack(socketio::single_argument(boost::json::object{
        {"ok", false}, {"error", boost::json::object{{"code", code}, {"message", message}}}}));
  }
}

void answer_error(const socketio::ack_function& ack, const chat::error& failure) {
  answer_error(ack, chat::to_string(failure.code), failure.message);
}

// The event's single object argument, or null.
const boost::json::object* payload(const socketio::message& args) {
  if (args.args.size() != 1 || !args.attachments.empty()) {
    return nullptr;
  }
  return args.args.front().if_object();
}

// A field that must be a positive id when present. nullopt: absent; error: wrong type.
std::expected<std::optional<store::id>, std::string> optional_id(const boost::json::object& body,
                                                                 std::string_view field) {
  const auto* value = body.if_contains(field);
  if (value == nullptr || value->is_null()) {
    return std::nullopt;
  }
  if (const auto id = positive_id(*value)) {
    return id;
  }
  return std::unexpected("'" + std::string(field) + "' must be a positive integer id.");
}

// A non-negative integer field (a message id cursor; 0 = from the start).
std::optional<store::id> cursor(const boost::json::object& body, std::string_view field) {
  const auto* value = body.if_contains(field);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (const auto* number = value->if_int64(); number != nullptr && *number >= 0) {
    return *number;
  }
  if (const auto* number = value->if_uint64();
      number != nullptr && *number <= std::uint64_t(INT64_MAX)) {
    return static_cast<store::id>(*number);
  }
  return std::nullopt;
}

const std::string* string_field(const boost::json::object& body, std::string_view field,
                                std::string& storage) {
  const auto* value = body.if_contains(field);
  if (value == nullptr || !value->is_string()) {
    return nullptr;
  }
  storage = std::string(value->as_string());
  return &storage;
}

// Runs an event's coroutine on the socket's executor; a storage failure answers internal_error.
template <class Awaitable>
void spawn(const std::shared_ptr<socketio::socket>& client, Awaitable work,
           socketio::ack_function ack, std::string_view event) {
  boost::asio::co_spawn(
      client->executor(), std::move(work),
      [ack = std::move(ack), event = std::string(event)](std::exception_ptr failure) {
        if (!failure) {
          return;
        }
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& caught) {
          spdlog::error("realtime.event_failed event={} error={}", event, caught.what());
        }
        answer_error(ack, "internal_error", "The server could not complete this; try again.");
      });
}

} // namespace

realtime_namespace::realtime_namespace(auth::auth_service& auth, socketio::hub& registry,
                                       chat::chat_service* chat)
    : auth_(auth), hub_(registry), chat_(chat) {
  // Logging out disconnects that session's sockets.
  auth_.on_session_revoked([this](store::id session_id) { hub_.disconnect_session(session_id); });
}

awaitable<std::optional<socketio::connect_refusal>>
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
  const auto user = identity->who.user.user_id;
  const bool first = hub_.add(user, identity->who.session_id, client);
  spdlog::debug("realtime.connected user={} socket={}", user, client->id());
  if (first && chat_ != nullptr) {
    boost::asio::co_spawn(client->executor(), presence(user, true), boost::asio::detached);
  }
}

void realtime_namespace::on_disconnect(const std::shared_ptr<socketio::socket>& client,
                                       std::string_view reason) {
  if (const auto identity = std::static_pointer_cast<realtime_identity>(client->user_data)) {
    const auto user = identity->who.user.user_id;
    const bool last = hub_.remove(user, client);
    spdlog::debug("realtime.disconnected user={} socket={} reason={}", user, client->id(), reason);
    if (last && chat_ != nullptr) {
      boost::asio::co_spawn(client->executor(), presence(user, false), boost::asio::detached);
    }
  }
}

void realtime_namespace::on_event(const std::shared_ptr<socketio::socket>& client, std::string name,
                                  socketio::message args, socketio::ack_function ack) {
  const auto identity = std::static_pointer_cast<realtime_identity>(client->user_data);
  if (chat_ == nullptr || !identity) {
    answer_error(ack, "bad_request", "Unknown event '" + name + "'.");
    return;
  }
  const auto user = identity->who.user.user_id;
  const auto* body = payload(args);
  const bool known = name == "message:send" || name == "messages:sync" || name == "message:read" ||
                     name == "typing";
  if (!known) {
    answer_error(ack, "bad_request", "Unknown event '" + name + "'.");
    return;
  }
  if (body == nullptr) {
    answer_error(ack, "bad_request", "The event takes one JSON object.");
    return;
  }

  if (name == "message:send") {
    if (args.replaced_lone_surrogates) {
      answer_error(ack, "bad_request",
                   "The message is not valid Unicode text (it has a lone surrogate).");
      return;
    }
    chat::send_request request;
    auto conversation = optional_id(*body, "conversation_id");
    if (!conversation) {
      answer_error(ack, "bad_request", conversation.error());
      return;
    }
    auto to = optional_id(*body, "to");
    if (!to) {
      answer_error(ack, "bad_request", to.error());
      return;
    }
    request.conversation_id = *conversation;
    request.to = *to;
    if (string_field(*body, "body", request.body) == nullptr) {
      answer_error(ack, "bad_request", "'body' must be a string.");
      return;
    }
    if (string_field(*body, "client_id", request.client_id) == nullptr) {
      answer_error(ack, "bad_request", "'client_id' must be a string.");
      return;
    }
    spawn(client, send(client, user, std::move(request), ack), ack, name);
    return;
  }

  if (name == "messages:sync") {
    const auto after = cursor(*body, "after");
    if (!after) {
      answer_error(ack, "bad_request", "'after' must be a message id (0 for the beginning).");
      return;
    }
    int limit = 100;
    if (const auto* given = body->if_contains("limit"); given != nullptr && !given->is_null()) {
      const auto value = positive_id(*given);
      if (!value || *value > 500) {
        answer_error(ack, "bad_request", "'limit' must be a number from 1 to 500.");
        return;
      }
      limit = static_cast<int>(*value);
    }
    spawn(client, sync(user, *after, limit, ack), ack, name);
    return;
  }

  if (name == "message:read") {
    auto conversation = optional_id(*body, "conversation_id");
    const auto up_to = cursor(*body, "up_to");
    if (!conversation || !*conversation || !up_to) {
      answer_error(ack, "bad_request",
                   "message:read takes a conversation_id and up_to (a message id).");
      return;
    }
    spawn(client, read(client, user, **conversation, *up_to, ack), ack, name);
    return;
  }

  // typing
  auto conversation = optional_id(*body, "conversation_id");
  const auto* state = body->if_contains("typing");
  if (!conversation || !*conversation || state == nullptr || !state->is_bool()) {
    answer_error(ack, "bad_request", "typing takes a conversation_id and typing (true or false).");
    return;
  }
  spawn(client, typing(client, user, **conversation, state->as_bool(), ack), ack, name);
}

awaitable<void> realtime_namespace::send(std::shared_ptr<socketio::socket> client, store::id user,
                                         chat::send_request request, socketio::ack_function ack) {
  chat::actor from{user, std::move(client)};
  auto sent = co_await chat_->send(std::move(from), std::move(request));
  if (!sent) {
    answer_error(ack, sent.error());
    co_return;
  }
  if (ack) {
    ack(socketio::single_argument(
        boost::json::object{{"ok", true}, {"message", chat::message_json(*sent)}}));
  }
}

awaitable<void> realtime_namespace::sync(store::id user, store::id after, int limit,
                                         socketio::ack_function ack) {
  const auto found = co_await chat_->sync(user, after, limit);
  if (ack) {
    boost::json::array messages;
    messages.reserve(found.messages.size());
    for (const auto& message : found.messages) {
      messages.push_back(chat::message_json(message));
    }
    ack(socketio::single_argument(boost::json::object{
        {"ok", true}, {"messages", std::move(messages)}, {"has_more", found.has_more}}));
  }
}

awaitable<void> realtime_namespace::read(std::shared_ptr<socketio::socket> client, store::id user,
                                         store::id conversation, store::id up_to,
                                         socketio::ack_function ack) {
  chat::actor reader{user, std::move(client)};
  auto marked = co_await chat_->mark_read(std::move(reader), conversation, up_to);
  if (!marked) {
    answer_error(ack, marked.error());
    co_return;
  }
  if (ack) {
    ack(socketio::single_argument(boost::json::object{{"ok", true}}));
  }
}

awaitable<void> realtime_namespace::typing(std::shared_ptr<socketio::socket> client, store::id user,
                                           store::id conversation, bool typing,
                                           socketio::ack_function ack) {
  chat::actor typist{user, std::move(client)};
  auto relayed = co_await chat_->typing(std::move(typist), conversation, typing);
  if (!relayed) {
    answer_error(ack, relayed.error());
    co_return;
  }
  if (ack) {
    ack(socketio::single_argument(boost::json::object{{"ok", true}}));
  }
}

awaitable<void> realtime_namespace::presence(store::id user, bool online) {
  co_await chat_->presence_changed(user, online);
}

} // namespace parley::api

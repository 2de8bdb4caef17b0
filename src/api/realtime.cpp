#include "api/realtime.hpp"

#include "api/request_guard.hpp"
#include "api/routes.hpp"
#include "chat/json.hpp"
#include "http/message.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

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

// message:send's "attachments": absent, null or a list of at most `most` positive integer ids
// (distinct ones: chat_service::send says so).
std::expected<std::vector<store::id>, std::string> upload_ids(const boost::json::object& body,
                                                              std::size_t most) {
  const auto* value = body.if_contains("attachments");
  if (value == nullptr || value->is_null()) {
    return std::vector<store::id>();
  }
  const auto* list = value->if_array();
  if (list == nullptr) {
    return std::unexpected("'attachments' must be a list of upload ids.");
  }
  if (list->size() > most) {
    return std::unexpected("A message carries at most " + std::to_string(most) +
                           " attachments.");
  }
  std::vector<store::id> ids;
  ids.reserve(list->size());
  for (const auto& item : *list) {
    const auto id = positive_id(item);
    if (!id) {
      return std::unexpected("'attachments' must be a list of upload ids (positive integers).");
    }
    ids.push_back(*id);
  }
  return ids;
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

// A storage failure: logged, and answered internal_error.
void internal_error(const socketio::ack_function& ack, std::string_view event,
                    const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& caught) {
    spdlog::error("realtime.event_failed event={} error={}", event, caught.what());
  } catch (...) {
    spdlog::error("realtime.event_failed event={} error=unknown", event);
  }
  answer_error(ack, "internal_error", "The server could not complete this; try again.");
}

// Runs an event's coroutine on the socket's executor; a storage failure answers internal_error.
template <class Awaitable>
void spawn(const std::shared_ptr<socketio::socket>& client, Awaitable work,
           socketio::ack_function ack, std::string_view event) {
  boost::asio::co_spawn(
      client->executor(), std::move(work),
      [ack = std::move(ack), event = std::string(event)](std::exception_ptr failure) {
        if (failure) {
          internal_error(ack, event, failure);
        }
      });
}

// {"ok": true, "message": …}, written directly (every send is acked with it); `text` is the
// message's JSON (chat::message_text).
socketio::message message_ack(std::string_view text) {
  return socketio::single_serialized_argument({R"({"ok":true,"message":)", text, "}"});
}

socketio::message message_ack(const store::message_row& message) {
  return message_ack(chat::message_text(message));
}

// Answers an event whose outcome is a message in its current state.
awaitable<void> answer_message(awaitable<chat::result<store::message_row>> work,
                               socketio::ack_function ack) {
  auto outcome = co_await std::move(work);
  if (!outcome) {
    answer_error(ack, outcome.error());
    co_return;
  }
  if (ack) {
    ack(message_ack(*outcome));
  }
}

// A required positive id field.
std::optional<store::id> required_id(const boost::json::object& body, std::string_view field) {
  const auto* value = body.if_contains(field);
  return value == nullptr ? std::nullopt : positive_id(*value);
}

constexpr std::size_t k_max_cursors = 10'000;

// sync's cursors: [{"conversation_id", "seq"}]; nullopt when malformed.
std::optional<std::vector<chat::sync_cursor>> sync_cursors(const boost::json::object& body) {
  const auto* given = body.if_contains("cursors");
  const auto* list = given == nullptr ? nullptr : given->if_array();
  if (list == nullptr || list->size() > k_max_cursors) {
    return std::nullopt;
  }
  std::vector<chat::sync_cursor> cursors;
  cursors.reserve(list->size());
  for (const auto& item : *list) {
    const auto* entry = item.if_object();
    if (entry == nullptr) {
      return std::nullopt;
    }
    const auto conversation = required_id(*entry, "conversation_id");
    const auto seq = cursor(*entry, "seq");
    if (!conversation || !seq) {
      return std::nullopt;
    }
    cursors.push_back(chat::sync_cursor{*conversation, *seq});
  }
  return cursors;
}

const std::array k_events{std::string_view("message:send"),   std::string_view("message:edit"),
                          std::string_view("message:delete"), std::string_view("reaction:set"),
                          std::string_view("sync"),           std::string_view("message:read"),
                          std::string_view("typing")};

} // namespace

realtime_namespace::realtime_namespace(auth::auth_service& auth, socketio::hub& registry,
                                       chat::chat_service* chat)
    : auth_(auth), hub_(registry), chat_(chat) {
  // Logging out disconnects that session's sockets (on every node, through the chat relay).
  auth_.on_session_revoked([this](store::id session_id) {
    if (chat_ != nullptr) {
      chat_->session_revoked(session_id);
    } else {
      hub_.disconnect_session(session_id);
    }
  });
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
  const auto user = who->user.user_id;
  client->user_data = std::make_shared<realtime_identity>(realtime_identity{user, who->session_id});
  if (chat_ != nullptr && !hub_.is_online(user)) {
    // Before the socket joins: from here on, what is committed reaches it live.
    try {
      co_await chat_->user_arriving(user);
    } catch (const std::exception& error) {
      // Delivery here then starts with the first change the bus brings; its sync covers the rest.
      spdlog::warn("realtime.arrival_read_failed user={} error={}", user, error.what());
    }
  }
  co_return std::nullopt;
}

void realtime_namespace::on_connect(const std::shared_ptr<socketio::socket>& client) {
  const auto identity = std::static_pointer_cast<realtime_identity>(client->user_data);
  const auto user = identity->user_id;
  const bool first = hub_.add(user, identity->session_id, client);
  spdlog::debug("realtime.connected user={} socket={}", user, client->id());
  if (first && chat_ != nullptr) {
    boost::asio::co_spawn(client->executor(), presence(user, true), boost::asio::detached);
  }
}

void realtime_namespace::on_disconnect(const std::shared_ptr<socketio::socket>& client,
                                       std::string_view reason) {
  if (const auto identity = std::static_pointer_cast<realtime_identity>(client->user_data)) {
    const auto user = identity->user_id;
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
  const auto user = identity->user_id;
  const auto* body = payload(args);
  if (std::ranges::find(k_events, name) == k_events.end()) {
    answer_error(ack, "bad_request", "Unknown event '" + name + "'.");
    return;
  }
  if (body == nullptr) {
    answer_error(ack, "bad_request", "The event takes one JSON object.");
    return;
  }
  if (args.replaced_lone_surrogates &&
      (name == "message:send" || name == "message:edit" || name == "reaction:set")) {
    answer_error(ack, "bad_request", "The text is not valid Unicode (it has a lone surrogate).");
    return;
  }

  if (name == "message:send") {
    const auto arrived = std::chrono::steady_clock::now();
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
    auto reply_to = optional_id(*body, "reply_to");
    if (!reply_to) {
      answer_error(ack, "bad_request", reply_to.error());
      return;
    }
    request.conversation_id = *conversation;
    request.to = *to;
    request.reply_to = *reply_to;
    if (string_field(*body, "body", request.body) == nullptr) {
      answer_error(ack, "bad_request", "'body' must be a string.");
      return;
    }
    if (string_field(*body, "client_id", request.client_id) == nullptr) {
      answer_error(ack, "bad_request", "'client_id' must be a string.");
      return;
    }
    auto attachments = upload_ids(*body, chat_->rules().max_attachments);
    if (!attachments) {
      answer_error(ack, "bad_request", attachments.error());
      return;
    }
    request.attachments = std::move(*attachments);
    send(client, user, std::move(request), std::move(ack), arrived);
    return;
  }

  if (name == "message:edit" || name == "message:delete" || name == "reaction:set") {
    const auto message = required_id(*body, "message_id");
    if (!message) {
      answer_error(ack, "bad_request", "'message_id' must be a positive integer id.");
      return;
    }
    chat::actor who{user, client};
    if (name == "message:delete") {
      spawn(client, answer_message(chat_->remove(std::move(who), *message), ack), ack, name);
      return;
    }
    std::string text;
    if (name == "message:edit") {
      if (string_field(*body, "body", text) == nullptr) {
        answer_error(ack, "bad_request", "'body' must be a string.");
        return;
      }
      spawn(client, answer_message(chat_->edit(std::move(who), *message, std::move(text)), ack),
            ack, name);
      return;
    }
    const auto* emoji = body->if_contains("emoji");
    if (emoji == nullptr || !(emoji->is_null() || emoji->is_string())) {
      answer_error(ack, "bad_request", "'emoji' must be an emoji, or null to remove yours.");
      return;
    }
    std::optional<std::string> chosen;
    if (emoji->is_string()) {
      chosen = std::string(emoji->as_string());
    }
    spawn(client, answer_message(chat_->react(std::move(who), *message, std::move(chosen)), ack),
          ack, name);
    return;
  }

  if (name == "sync") {
    auto cursors = sync_cursors(*body);
    if (!cursors) {
      answer_error(ack, "bad_request",
                   "sync takes cursors: a list of {conversation_id, seq} (it may be empty).");
      return;
    }
    int limit = 200;
    if (const auto* given = body->if_contains("limit"); given != nullptr && !given->is_null()) {
      const auto value = positive_id(*given);
      if (!value || *value > 500) {
        answer_error(ack, "bad_request", "'limit' must be a number from 1 to 500.");
        return;
      }
      limit = static_cast<int>(*value);
    }
    spawn(client, sync(user, std::move(*cursors), limit, ack), ack, name);
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

void realtime_namespace::send(std::shared_ptr<socketio::socket> client, store::id user,
                              chat::send_request request, socketio::ack_function ack,
                              std::chrono::steady_clock::time_point arrived) {
  chat_->send(chat::actor{user, std::move(client)}, std::move(request),
              [this, ack = std::move(ack), arrived](chat::send_outcome outcome) {
                if (!outcome) {
                  internal_error(ack, "message:send", outcome.error());
                  return;
                }
                if (!*outcome) {
                  answer_error(ack, outcome->error());
                  return;
                }
                if (ack) {
                  ack(message_ack((*outcome)->text));
                }
                const auto took = std::chrono::steady_clock::now() - arrived;
                const std::lock_guard lock(sends_mutex_);
                sends_.record(took);
              });
}

common::latency_histogram realtime_namespace::send_latencies() const {
  const std::lock_guard lock(sends_mutex_);
  return sends_;
}

awaitable<void> realtime_namespace::sync(store::id user, std::vector<chat::sync_cursor> cursors,
                                         int limit, socketio::ack_function ack) {
  const auto found = co_await chat_->sync(user, std::move(cursors), limit);
  if (!ack) {
    co_return;
  }
  boost::json::array conversations;
  conversations.reserve(found.conversations.size());
  for (const auto& conversation : found.conversations) {
    conversations.push_back(chat::conversation_json(conversation, user));
  }
  // The messages (up to 500) are written as text (chat::messages_text), the rest with Boost.JSON.
  std::string text = R"({"ok":true,"conversations":)" + boost::json::serialize(conversations);
  text += R"(,"messages":)";
  chat::append_messages_text(text, found.messages);
  text += R"(,"left":)" +
          boost::json::serialize(boost::json::array(found.left.begin(), found.left.end()));
  text += found.has_more ? R"(,"has_more":true})" : R"(,"has_more":false})";
  ack(socketio::single_serialized_argument(text));
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
  std::exception_ptr failure; // the news lost (Redis or the database away): still forget below
  try {
    co_await chat_->presence_changed(user, online);
  } catch (...) {
    failure = std::current_exception();
  }
  if (!online) {
    co_await chat_->user_departed(user);
  }
  if (failure) {
    std::rethrow_exception(failure);
  }
}

} // namespace parley::api

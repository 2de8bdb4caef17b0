// REST: contacts, conversations and history (the contract's "Contacts" and "Conversations and
// history"). Handlers parse and answer; the rules live in chat::chat_service.

#include "api/chat_routes.hpp"

#include "api/request_guard.hpp"
#include "chat/json.hpp"

#include <boost/json/array.hpp>
#include <charconv>

namespace parley::api {
namespace {

namespace beast_http = boost::beast::http;
using http::status;
using verb = beast_http::verb;
using boost::asio::awaitable;

} // namespace

status status_of(chat::error_code code) {
  switch (code) {
  case chat::error_code::not_found:
  case chat::error_code::user_not_found:
  case chat::error_code::not_a_contact:
    return status::not_found;
  case chat::error_code::already_contact:
    return status::conflict;
  case chat::error_code::not_allowed:
    return status::forbidden;
  case chat::error_code::rate_limited:
    return status::too_many_requests;
  case chat::error_code::bad_request:
  case chat::error_code::body_too_long:
  case chat::error_code::invalid_phone:
  case chat::error_code::invalid_name:
  case chat::error_code::cannot_add_self:
    return status::bad_request;
  }
  return status::bad_request;
}

http::response error_answer(const http::request& message, const chat::error& failure) {
  auto answer = http::error_response(message, status_of(failure.code), chat::to_string(failure.code),
                                     failure.message);
  if (failure.retry_after) {
    http::set_retry_after(answer, *failure.retry_after);
  }
  return answer;
}

namespace {

http::response not_found(const http::request& message, std::string_view code,
                         std::string_view what) {
  return http::error_response(message, status::not_found, code, what);
}

http::response bad_request(const http::request& message, std::string_view what) {
  return http::error_response(message, status::bad_request, "bad_request", what);
}

boost::json::object contact_json(const chat::contact_view& view) {
  return chat::contact_json(view.contact, view.online);
}

awaitable<http::response> list_contacts(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  const auto contacts = co_await with.chat->contacts(who->who.user.user_id);
  boost::json::array items;
  items.reserve(contacts.size());
  for (const auto& contact : contacts) {
    items.push_back(contact_json(contact));
  }
  co_return http::json_response(context.message, status::ok,
                                boost::json::object{{"contacts", std::move(items)}});
}

awaitable<http::response> add_contact(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  auto phone = required_string(context.message, *body, "phone");
  if (!phone) {
    co_return std::move(phone.error());
  }
  if (const auto* given = body->if_contains("name"); given != nullptr && given->is_null()) {
    co_return bad_request(context.message, "The field 'name' must be a string (or left out).");
  }
  auto name = optional_string(context.message, *body, "name");
  if (!name) {
    co_return std::move(name.error());
  }
  auto added = co_await with.chat->add_contact(who->who.user.user_id, std::move(*phone),
                                               std::move(*name));
  if (!added) {
    co_return error_answer(context.message, added.error());
  }
  co_return http::json_response(context.message, status::created,
                                boost::json::object{{"contact", contact_json(*added)}});
}

awaitable<http::response> rename_contact(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  const auto person = path_id(context, "user_id");
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  auto name = required_string(context.message, *body, "name");
  if (!name) {
    co_return std::move(name.error());
  }
  if (!person) {
    co_return not_found(context.message, "not_a_contact", "No such contact.");
  }
  auto renamed = co_await with.chat->rename_contact(who->who.user.user_id, *person, std::move(*name));
  if (!renamed) {
    co_return error_answer(context.message, renamed.error());
  }
  co_return http::json_response(context.message, status::ok,
                                boost::json::object{{"contact", contact_json(*renamed)}});
}

awaitable<http::response> delete_contact(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  const auto person = path_id(context, "user_id");
  if (!person) {
    co_return not_found(context.message, "not_a_contact", "No such contact.");
  }
  auto deleted = co_await with.chat->delete_contact(who->who.user.user_id, *person);
  if (!deleted) {
    co_return error_answer(context.message, deleted.error());
  }
  co_return http::empty_response(context.message, status::no_content);
}

awaitable<http::response> list_conversations(http::request_context& context,
                                             const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  const auto viewer = who->who.user.user_id;
  const auto conversations = co_await with.chat->conversations(viewer);
  boost::json::array items;
  items.reserve(conversations.size());
  for (const auto& conversation : conversations) {
    items.push_back(chat::conversation_json(conversation, viewer));
  }
  co_return http::json_response(context.message, status::ok,
                                boost::json::object{{"conversations", std::move(items)}});
}

awaitable<http::response> open_conversation(http::request_context& context,
                                            const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  const auto* members = body->if_contains("members");
  if (members == nullptr || !members->is_array() || members->as_array().empty()) {
    co_return bad_request(context.message, "The field 'members' must be a non-empty list of user ids.");
  }
  std::vector<store::id> ids;
  for (const auto& member : members->as_array()) {
    const auto value = positive_id(member);
    if (!value) {
      co_return bad_request(context.message, "Every member must be a user id (a positive integer).");
    }
    ids.push_back(*value);
  }
  if (ids.size() > 1000) { // also the highest --max-group-members accepted
    co_return bad_request(context.message, "Too many members.");
  }
  auto title = optional_string(context.message, *body, "title");
  if (!title) {
    co_return std::move(title.error());
  }
  const auto viewer = who->who.user.user_id;
  auto opened = co_await with.chat->open_conversation(viewer, std::move(ids), std::move(*title));
  if (!opened) {
    co_return error_answer(context.message, opened.error());
  }
  co_return http::json_response(
      context.message, opened->created ? status::created : status::ok,
      boost::json::object{{"conversation", chat::conversation_json(opened->summary, viewer)}});
}

awaitable<http::response> history(http::request_context& context, const dependencies& with) {
  // The session and the page are read in one go. Bad input is answered after the session
  // check, as everywhere (401 before 400 or 404).
  const auto conversation = path_id(context, "id");
  std::optional<store::id> before;
  int limit = 50;
  std::optional<http::response> refusal;
  if (const auto given = http::query_parameter(context.query, "before")) {
    before = parse_id(*given);
    if (!before) {
      refusal = bad_request(context.message, "'before' must be a message id.");
    }
  }
  if (const auto given = http::query_parameter(context.query, "limit")) {
    const auto value = parse_id(*given);
    if (value && *value <= 100) {
      limit = static_cast<int>(*value);
    } else if (!refusal) {
      refusal = bad_request(context.message, "'limit' must be a number from 1 to 100.");
    }
  }
  if (!refusal && !conversation) {
    refusal = not_found(context.message, "not_found", "No such conversation.");
  }
  if (refusal) {
    auto who = co_await require_caller(context, with);
    if (!who) {
      co_return std::move(who.error());
    }
    co_return std::move(*refusal);
  }
  const chat::history_read read{*conversation, before, limit, &with.chat->texts(),
                                with.chat->index()};
  auto found = co_await read_as_caller(
      context, with,
      [read](store::read_transaction& transaction, const auth::identity& who) {
        return read(transaction, who.user.user_id);
      });
  if (!found) {
    co_return std::move(found.error());
  }
  auto& page = found->second;
  if (!page) {
    co_return error_answer(context.message, page.error());
  }
  // Written as text, like every message sent live (chat::message_text).
  co_return http::json_text_response(context.message, status::ok, std::move(page->text));
}

} // namespace

// The rules a client needs to know (API.md "Attachments": GET /api/v1/config).
awaitable<http::response> config(http::request_context& context, const dependencies& with) {
  const auto& rules = with.chat->rules();
  boost::json::object body{
      {"max_message_length", rules.max_message_length},
      {"edit_window_s", rules.edit_window.count()},
      {"delete_window_s", rules.delete_window.count()},
      {"max_group_members", rules.max_group_members + 1},
      {"max_attachments", rules.max_attachments},
  };
  if (with.uploads != nullptr) {
    const auto& uploads = with.uploads->settings();
    body["max_upload_bytes"] = uploads.max_upload_bytes;
    body["upload_daily_bytes"] = uploads.daily_bytes;
    body["upload_stored_bytes"] = uploads.stored_bytes;
    body["max_image_pixels"] = uploads.images.max_pixels;
  }
  co_return http::json_response(context.message, status::ok, body);
}

void add_chat_routes(http::router& routes, const dependencies& with) {
  using handler_function = awaitable<http::response> (*)(http::request_context&, const dependencies&);
  const auto bind = [&with](handler_function function) {
    return [&with, function](http::request_context& context) { return function(context, with); };
  };
  routes.add(verb::get, "/api/v1/contacts", bind(list_contacts));
  routes.add(verb::post, "/api/v1/contacts", bind(add_contact));
  routes.add(verb::patch, "/api/v1/contacts/{user_id}", bind(rename_contact));
  routes.add(verb::delete_, "/api/v1/contacts/{user_id}", bind(delete_contact));
  routes.add(verb::get, "/api/v1/conversations", bind(list_conversations));
  routes.add(verb::post, "/api/v1/conversations", bind(open_conversation));
  routes.add(verb::get, "/api/v1/conversations/{id}/messages", bind(history));
  routes.add(verb::get, "/api/v1/config", bind(config));
  add_group_routes(routes, with);
}

} // namespace parley::api

// REST: running a group (API.md "Groups"). Handlers parse and answer; the rules live in
// chat::chat_service (groups.cpp).

#include "api/chat_routes.hpp"
#include "api/request_guard.hpp"
#include "chat/json.hpp"

#include <boost/json/array.hpp>

namespace parley::api {
namespace {

namespace beast_http = boost::beast::http;
using http::status;
using verb = beast_http::verb;
using boost::asio::awaitable;

http::response bad_request(const http::request& message, std::string_view what) {
  return http::error_response(message, status::bad_request, "bad_request", what);
}

http::response no_conversation(const http::request& message) {
  return http::error_response(message, status::not_found, "not_found", "No such conversation.");
}

http::response conversation_answer(const http::request& message,
                                   const chat::result<store::conversation_summary>& outcome,
                                   store::id viewer) {
  if (!outcome) {
    return error_answer(message, outcome.error());
  }
  return http::json_response(
      message, status::ok,
      boost::json::object{{"conversation", chat::conversation_json(*outcome, viewer)}});
}

awaitable<http::response> rename(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  auto title = required_string(context.message, *body, "title");
  if (!title) {
    co_return std::move(title.error());
  }
  const auto conversation = path_id(context, "id");
  if (!conversation) {
    co_return no_conversation(context.message);
  }
  const auto viewer = who->who.user.user_id;
  const auto outcome = co_await with.chat->rename_group(chat::actor{viewer, nullptr}, *conversation,
                                                        std::move(*title));
  co_return conversation_answer(context.message, outcome, viewer);
}

awaitable<http::response> add_members(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  const auto* given = body->if_contains("user_ids");
  if (given == nullptr || !given->is_array() || given->as_array().empty()) {
    co_return bad_request(context.message,
                          "The field 'user_ids' must be a non-empty list of user ids.");
  }
  if (given->as_array().size() > 1000) { // also the highest --max-group-members accepted
    co_return bad_request(context.message, "Too many members.");
  }
  std::vector<store::id> users;
  for (const auto& user : given->as_array()) {
    const auto value = positive_id(user);
    if (!value) {
      co_return bad_request(context.message, "Every entry of 'user_ids' must be a user id.");
    }
    users.push_back(*value);
  }
  const auto conversation = path_id(context, "id");
  if (!conversation) {
    co_return no_conversation(context.message);
  }
  const auto viewer = who->who.user.user_id;
  const auto outcome = co_await with.chat->add_members(chat::actor{viewer, nullptr}, *conversation,
                                                       std::move(users));
  co_return conversation_answer(context.message, outcome, viewer);
}

awaitable<http::response> remove_member(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  const auto conversation = path_id(context, "id");
  const auto user = path_id(context, "user_id");
  if (!conversation || !user) {
    co_return no_conversation(context.message);
  }
  const auto outcome = co_await with.chat->remove_member(
      chat::actor{who->who.user.user_id, nullptr}, *conversation, *user);
  if (!outcome) {
    co_return error_answer(context.message, outcome.error());
  }
  co_return http::empty_response(context.message, status::no_content);
}

awaitable<http::response> set_admin(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  const auto* admin = body->if_contains("admin");
  if (admin == nullptr || !admin->is_bool()) {
    co_return bad_request(context.message, "The field 'admin' must be true or false.");
  }
  const auto conversation = path_id(context, "id");
  const auto user = path_id(context, "user_id");
  if (!conversation || !user) {
    co_return no_conversation(context.message);
  }
  const auto viewer = who->who.user.user_id;
  const auto outcome = co_await with.chat->set_admin(chat::actor{viewer, nullptr}, *conversation,
                                                     *user, admin->as_bool());
  co_return conversation_answer(context.message, outcome, viewer);
}

} // namespace

void add_group_routes(http::router& routes, const dependencies& with) {
  using handler_function =
      awaitable<http::response> (*)(http::request_context&, const dependencies&);
  const auto bind = [&with](handler_function function) {
    return [&with, function](http::request_context& context) { return function(context, with); };
  };
  routes.add(verb::patch, "/api/v1/conversations/{id}", bind(rename));
  routes.add(verb::post, "/api/v1/conversations/{id}/members", bind(add_members));
  routes.add(verb::delete_, "/api/v1/conversations/{id}/members/{user_id}", bind(remove_member));
  routes.add(verb::patch, "/api/v1/conversations/{id}/members/{user_id}", bind(set_admin));
}

} // namespace parley::api

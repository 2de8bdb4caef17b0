// REST: Web Push subscriptions and per-conversation notification settings. Handlers parse and
// answer; the rules live in push::push_service and chat::chat_service.

#include "api/push_routes.hpp"

#include "api/chat_routes.hpp"
#include "api/request_guard.hpp"
#include "chat/json.hpp"

namespace parley::api {
namespace {

namespace beast_http = boost::beast::http;
using http::status;
using verb = beast_http::verb;
using boost::asio::awaitable;

http::response bad_request(const http::request& message, std::string_view what) {
  return http::error_response(message, status::bad_request, "bad_request", what);
}

awaitable<http::response> public_key(http::request_context& context, const dependencies& with) {
  auto answer = http::json_response(context.message, status::ok,
                                    boost::json::object{{"public_key", with.push->public_key()}});
  co_return answer;
}

awaitable<http::response> subscribe(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  auto endpoint = required_string(context.message, *body, "endpoint");
  if (!endpoint) {
    co_return std::move(endpoint.error());
  }
  const auto* keys = body->if_contains("keys");
  if (keys == nullptr || !keys->is_object()) {
    co_return bad_request(context.message,
                          "The field 'keys' must be an object with 'p256dh' and 'auth'.");
  }
  auto p256dh = required_string(context.message, keys->get_object(), "p256dh");
  if (!p256dh) {
    co_return std::move(p256dh.error());
  }
  auto auth = required_string(context.message, keys->get_object(), "auth");
  if (!auth) {
    co_return std::move(auth.error());
  }
  const std::string endpoint_url = *endpoint;
  auto outcome = co_await with.push->subscribe(who->who.user.user_id, who->who.session_id,
                                               std::move(*endpoint), std::move(*p256dh),
                                               std::move(*auth));
  if (!outcome) {
    co_return bad_request(context.message, outcome.error());
  }
  const bool created = *outcome == push::subscribed::created;
  co_return http::json_response(
      context.message, created ? status::created : status::ok,
      boost::json::object{{"subscription", boost::json::object{{"endpoint", endpoint_url}}}});
}

awaitable<http::response> unsubscribe(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  auto endpoint = required_string(context.message, *body, "endpoint");
  if (!endpoint) {
    co_return std::move(endpoint.error());
  }
  if (!co_await with.push->unsubscribe(who->who.user.user_id, std::move(*endpoint))) {
    co_return http::error_response(context.message, status::not_found, "not_found",
                                   "You have no push subscription with that endpoint.");
  }
  co_return http::empty_response(context.message, status::no_content);
}

awaitable<http::response> settings(http::request_context& context, const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  const auto conversation = path_id(context, "id");
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  const auto* muted = body->if_contains("muted_until");
  if (muted == nullptr) {
    co_return bad_request(context.message, "Give 'muted_until': a time in ms, or null.");
  }
  std::optional<std::int64_t> until;
  if (muted->is_int64() && muted->get_int64() >= 0) {
    until = muted->get_int64();
  } else if (muted->is_uint64() && muted->get_uint64() <= INT64_MAX) {
    until = static_cast<std::int64_t>(muted->get_uint64());
  } else if (!muted->is_null()) {
    co_return bad_request(context.message,
                          "The field 'muted_until' must be a time in ms since 1970, or null.");
  }
  if (!conversation) {
    co_return http::error_response(context.message, status::not_found, "not_found",
                                   "No such conversation.");
  }
  auto changed = co_await with.chat->set_muted(who->who.user.user_id, *conversation, until);
  if (!changed) {
    co_return error_answer(context.message, changed.error());
  }
  co_return http::json_response(
      context.message, status::ok,
      boost::json::object{
          {"conversation", chat::conversation_json(*changed, who->who.user.user_id)}});
}

} // namespace

void add_push_routes(http::router& routes, const dependencies& with) {
  const auto bind = [&with](auto handler) {
    return [&with, handler](http::request_context& context) { return handler(context, with); };
  };
  routes.add(verb::get, "/api/v1/push/key", bind(public_key));
  routes.add(verb::post, "/api/v1/push/subscriptions", bind(subscribe));
  routes.add(verb::delete_, "/api/v1/push/subscriptions", bind(unsubscribe));
  if (with.chat != nullptr) {
    routes.add(verb::patch, "/api/v1/conversations/{id}/settings", bind(settings));
  }
}

} // namespace parley::api

#include "api/routes.hpp"

#include "api/chat_routes.hpp"
#include "api/request_guard.hpp"
#include "api/push_routes.hpp"
#include "api/upload_routes.hpp"
#include "chat/json.hpp"

#include <boost/json/object.hpp>
#include <fmt/format.h>

namespace parley::api {
namespace {

namespace beast_http = boost::beast::http;
using http::status;
using verb = beast_http::verb;

// Browsers keep a cookie at most 400 days; the server decides when the session ends.
constexpr std::int64_t k_cookie_max_age = 400LL * 24 * 3600;

using chat::own_user_json;

status status_of(auth::error_code code) {
  switch (code) {
  case auth::error_code::invalid_phone:
  case auth::error_code::invalid_name:
  case auth::error_code::invalid_code:
    return status::bad_request;
  case auth::error_code::code_expired:
    return status::gone;
  case auth::error_code::too_many_attempts:
  case auth::error_code::rate_limited:
    return status::too_many_requests;
  case auth::error_code::name_required:
    return status::unprocessable_entity;
  case auth::error_code::sms_failed:
    return status::bad_gateway;
  case auth::error_code::unauthorized:
    return status::unauthorized;
  case auth::error_code::user_not_found:
    return status::not_found;
  }
  return status::bad_request;
}

http::response error_answer(const http::request& message, const auth::error& failure) {
  boost::json::object extra;
  if (failure.attempts_left) {
    extra["attempts_left"] = *failure.attempts_left;
  }
  auto answer = http::error_response(message, status_of(failure.code), auth::to_string(failure.code),
                                     failure.message, extra);
  if (failure.retry_after) {
    http::set_retry_after(answer, *failure.retry_after);
  }
  return answer;
}

std::string session_cookie(std::string_view token, bool secure, std::int64_t max_age) {
  return fmt::format("{}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}", k_session_cookie,
                     token, max_age, secure ? "; Secure" : "");
}

// Sign-in calls carry no session, but a browser page on another site must not drive them
// either (login CSRF, SMS pumping from someone else's page).
std::optional<http::response> check_anonymous_write(http::request_context& context,
                                                    const dependencies& with) {
  return check_origin(context.message, false, with.allowed_origins);
}

boost::asio::awaitable<http::response> request_code(http::request_context& context,
                                                    const dependencies& with) {
  if (auto refusal = check_anonymous_write(context, with)) {
    co_return std::move(*refusal);
  }
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  auto phone = required_string(context.message, *body, "phone");
  if (!phone) {
    co_return std::move(phone.error());
  }
  auto sent = co_await with.auth.request_code(std::move(*phone), context.client_address);
  if (!sent) {
    co_return error_answer(context.message, sent.error());
  }
  co_return http::json_response(context.message, status::accepted,
                                boost::json::object{{"phone", sent->phone},
                                                    {"expires_in", sent->expires_in.count()},
                                                    {"resend_in", sent->resend_in.count()}});
}

boost::asio::awaitable<http::response> verify(http::request_context& context,
                                              const dependencies& with) {
  if (auto refusal = check_anonymous_write(context, with)) {
    co_return std::move(*refusal);
  }
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  auto phone = required_string(context.message, *body, "phone");
  if (!phone) {
    co_return std::move(phone.error());
  }
  auto code = required_string(context.message, *body, "code");
  if (!code) {
    co_return std::move(code.error());
  }
  auto name = optional_string(context.message, *body, "name");
  if (!name) {
    co_return std::move(name.error());
  }
  auto result = co_await with.auth.verify(std::move(*phone), std::move(*code), std::move(*name));
  if (!result) {
    co_return error_answer(context.message, result.error());
  }
  auto answer = http::json_response(context.message, status::ok,
                                    boost::json::object{{"token", result->token},
                                                        {"user", own_user_json(result->user)},
                                                        {"created", result->created}});
  answer.set(beast_http::field::set_cookie,
             session_cookie(result->token, context.secure, k_cookie_max_age));
  co_return answer;
}

boost::asio::awaitable<http::response> logout(http::request_context& context,
                                              const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  co_await with.auth.logout(who->who);
  auto answer = http::empty_response(context.message, status::no_content);
  answer.set(beast_http::field::set_cookie, session_cookie("", context.secure, 0));
  co_return answer;
}

boost::asio::awaitable<http::response> get_me(http::request_context& context,
                                              const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  co_return http::json_response(context.message, status::ok,
                                boost::json::object{{"user", own_user_json(who->who.user)}});
}

boost::asio::awaitable<http::response> patch_me(http::request_context& context,
                                                const dependencies& with) {
  auto who = co_await require_caller(context, with);
  if (!who) {
    co_return std::move(who.error());
  }
  auto body = json_body(context.message);
  if (!body) {
    co_return std::move(body.error());
  }
  auto name = optional_string(context.message, *body, "name");
  if (!name) {
    co_return std::move(name.error());
  }
  std::optional<bool> previews;
  if (const auto* given = body->if_contains("notification_previews")) {
    if (!given->is_bool()) {
      co_return http::error_response(context.message, status::bad_request, "bad_request",
                                     "The field 'notification_previews' must be true or false.");
    }
    previews = given->get_bool();
  }
  if (!*name && !previews) {
    co_return http::error_response(context.message, status::bad_request, "bad_request",
                                   "Give 'name' or 'notification_previews'.");
  }
  auto user = co_await with.auth.update_profile(who->who, std::move(*name), previews);
  if (!user) {
    co_return error_answer(context.message, user.error());
  }
  if (with.chat != nullptr && user->name != who->who.user.name) {
    // Stored: `user:updated` to their contacts' owners and co-members (and their own sockets).
    co_await with.chat->profile_changed(user->user_id);
  }
  co_return http::json_response(context.message, status::ok,
                                boost::json::object{{"user", own_user_json(*user)}});
}

boost::asio::awaitable<http::response> healthz(http::request_context& context,
                                               const dependencies& with) {
  const bool draining = with.draining && with.draining();
  boost::json::object body{{"status", draining ? "draining" : "ok"}};
  if (!with.node_id.empty()) {
    body["node"] = with.node_id; // which node answered, behind a proxy
  }
  co_return http::json_response(context.message,
                                draining ? status::service_unavailable : status::ok, body);
}

boost::asio::awaitable<http::response> metrics(http::request_context& context,
                                               const dependencies& with) {
  http::response answer{status::ok, context.message.version()};
  answer.set(beast_http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  answer.set(beast_http::field::cache_control, "no-store");
  answer.keep_alive(context.message.keep_alive());
  answer.body() = with.metrics.render();
  answer.prepare_payload();
  co_return answer;
}

constexpr std::string_view k_placeholder_page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley</title>
</head>
<body>
<main>
<h1>Parley</h1>
<p>The server is running, but it found no web client to serve (build it with
<code>make web</code>, or point <code>--web-root</code> at its <code>dist</code> folder). The
REST API is served under <code>/api/v1/</code> (see <code>docs/api.md</code>).</p>
<p><a href="/healthz">Health</a> · <a href="/metrics">Metrics</a></p>
</main>
</body>
</html>
)html";

boost::asio::awaitable<http::response> index_page(http::request_context& context,
                                                  const dependencies&) {
  http::response answer{status::ok, context.message.version()};
  answer.set(beast_http::field::content_type, "text/html; charset=utf-8");
  answer.set(beast_http::field::cache_control, "no-cache");
  answer.set("Content-Security-Policy",
             "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
             "form-action 'self'; frame-ancestors 'none'");
  answer.set("X-Content-Type-Options", "nosniff");
  answer.set("Referrer-Policy", "no-referrer");
  answer.keep_alive(context.message.keep_alive());
  answer.body() = k_placeholder_page;
  answer.prepare_payload();
  co_return answer;
}

} // namespace

void add_routes(http::router& routes, const dependencies& with) {
  using handler_function = boost::asio::awaitable<http::response> (*)(http::request_context&,
                                                                      const dependencies&);
  const auto bind = [&with](handler_function function) {
    return [&with, function](http::request_context& context) { return function(context, with); };
  };
  routes.add(verb::post, "/api/v1/auth/code", bind(request_code));
  routes.add(verb::post, "/api/v1/auth/verify", bind(verify));
  routes.add(verb::post, "/api/v1/auth/logout", bind(logout));
  routes.add(verb::get, "/api/v1/me", bind(get_me));
  routes.add(verb::patch, "/api/v1/me", bind(patch_me));
  routes.add(verb::get, "/healthz", bind(healthz));
  routes.add(verb::get, "/metrics", bind(metrics));
  if (with.web != nullptr && !with.web->empty()) {
    routes.set_fallback("static", [&with](http::request_context& context)
                                      -> boost::asio::awaitable<http::response> {
      co_return with.web->serve(context.message, context.path);
    });
  } else {
    routes.add(verb::get, "/", bind(index_page));
  }
  if (with.chat != nullptr) {
    add_chat_routes(routes, with);
  }
  if (with.uploads != nullptr) {
    add_upload_routes(routes, with);
  }
  if (with.push != nullptr) {
    add_push_routes(routes, with);
  }
}

} // namespace parley::api

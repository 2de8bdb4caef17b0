#pragma once
// The REST API and the operational endpoints, mounted on the HTTP router:
//   POST /api/v1/auth/code, /api/v1/auth/verify, /api/v1/auth/logout,
//   GET/PATCH /api/v1/me, GET /healthz, GET /metrics, GET / (placeholder page), and the chat,
//   upload and push routes of chat_routes.hpp, upload_routes.hpp and push_routes.hpp.
// Handlers translate between HTTP and the domain services; they hold no state.

#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "http/static_files.hpp"
#include "push/push_service.hpp"
#include "uploads/upload_service.hpp"

#include <functional>
#include <string>
#include <vector>

namespace parley::api {

struct dependencies {
  auth::auth_service& auth;
  http::metrics& metrics;
  /// Origins allowed for cookie-authenticated writes, besides a request's own Host.
  std::vector<std::string> allowed_origins;
  /// True while the server drains (healthz answers 503).
  std::function<bool()> draining;
  /// Contacts, conversations and history; when null those routes are not mounted.
  chat::chat_service* chat = nullptr;
  /// The web client's files, served at / and for every other unrouted GET; when null or
  /// empty, / is a placeholder page.
  const http::static_files* web = nullptr;
  /// This node's --node-id (named in /healthz); empty for a single node.
  std::string node_id;
  /// Uploads, media and profile pictures; when null those routes are not mounted.
  uploads::upload_service* uploads = nullptr;
  /// Web Push subscriptions and notification settings; when null those routes are not mounted.
  push::push_service* push = nullptr;
};

/// Adds every route. `with` must outlive the router.
void add_routes(http::router& routes, const dependencies& with);

/// The name of the session cookie.
inline constexpr std::string_view k_session_cookie = "parley_session";

} // namespace parley::api

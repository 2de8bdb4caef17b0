#pragma once
// The notification routes (API.md "Notifications"): GET /api/v1/push/key, POST and DELETE
// /api/v1/push/subscriptions, PATCH /api/v1/conversations/{id}/settings (push_routes.cpp).

#include "api/routes.hpp"

namespace parley::api {

/// Adds them (called by add_routes when `with.push` is set; the settings route needs
/// `with.chat`). `with` must outlive the router.
void add_push_routes(http::router& routes, const dependencies& with);

} // namespace parley::api

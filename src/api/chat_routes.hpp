#pragma once
// The chat REST API: GET/POST /api/v1/contacts, PATCH/DELETE /api/v1/contacts/{user_id},
// GET/POST /api/v1/conversations, GET /api/v1/conversations/{id}/messages.

#include "api/routes.hpp"

namespace parley::api {

/// Adds the chat routes (called by add_routes). `with` must outlive the router.
void add_chat_routes(http::router& routes, const dependencies& with);

} // namespace parley::api

#pragma once
// The chat REST API: GET/POST /api/v1/contacts, PATCH/DELETE /api/v1/contacts/{user_id},
// GET/POST /api/v1/conversations, GET /api/v1/conversations/{id}/messages, GET /api/v1/config,
// and the group calls (group_routes.cpp).

#include "api/routes.hpp"

namespace parley::api {

/// Adds the chat routes (called by add_routes). `with` must outlive the router.
void add_chat_routes(http::router& routes, const dependencies& with);
/// PATCH /api/v1/conversations/{id}, POST …/members, DELETE and PATCH …/members/{user_id}.
void add_group_routes(http::router& routes, const dependencies& with);

/// The HTTP status of a chat error, and the contract's error answer for it.
[[nodiscard]] http::status status_of(chat::error_code code);
[[nodiscard]] http::response error_answer(const http::request& message, const chat::error& failure);

} // namespace parley::api

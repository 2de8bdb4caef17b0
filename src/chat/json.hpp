#pragma once
// The contract's JSON shapes of the chat objects, shared by the REST API and the events.

#include "store/rows.hpp"

#include <boost/json/object.hpp>

namespace parley::chat {

/// {"id", "name", "phone"}
[[nodiscard]] boost::json::object user_json(const store::user_row& user);
/// {"id", "conversation_id", "sender_id", "body", "sent_at", "client_id"}
[[nodiscard]] boost::json::object message_json(const store::message_row& message);
/// {"user", "name", "conversation_id", "online"}
[[nodiscard]] boost::json::object contact_json(const store::contact_row& contact, bool online);
/// {"id", "kind", "title", "members", "last_message", "unread_count"} as `viewer` sees it: a
/// direct conversation is titled with the viewer's nickname for the other member, or their name.
[[nodiscard]] boost::json::object conversation_json(const store::conversation_summary& summary,
                                                    store::id viewer);

} // namespace parley::chat

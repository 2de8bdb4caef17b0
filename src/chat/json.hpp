#pragma once
// The contract's JSON shapes of the chat objects, shared by the REST API and the events.

#include "store/rows.hpp"

#include <boost/json/object.hpp>

#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::chat {

/// {"id", "name", "phone", "avatar_url"}: avatar_url is the thumbnail of their profile
/// picture (thumbnail_url of the upload), or null.
[[nodiscard]] boost::json::object user_json(const store::user_row& user);
/// The caller's own user object: user_json plus "notification_previews".
[[nodiscard]] boost::json::object own_user_json(const store::user_row& user);
/// Where an upload's bytes are served: "/media/{id}".
[[nodiscard]] std::string media_url(store::id upload);
/// Where an image upload's thumbnail is served: "/media/{id}/thumbnail".
[[nodiscard]] std::string thumbnail_url(store::id upload);
/// The upload object of `POST /api/v1/uploads`: {"id", "kind", "mime", "size", "name",
/// "width"?, "height"?} (width and height only when known).
[[nodiscard]] boost::json::object upload_json(const store::upload_row& upload);
/// One of a message's attachments: upload_json plus "url" and, for images, "thumbnail_url".
[[nodiscard]] boost::json::object attachment_json(const store::upload_row& upload);
/// The v2 message object as JSON text: ids, body, times, seq / updated_seq, edited_at,
/// deleted, the quote of reply_to, reactions and attachments (API.md; each attachment_json,
/// in the message's order). A tombstone has no body, no reactions and no attachments. Written
/// directly: it goes out with every message, ack and page.
[[nodiscard]] std::string message_text(const store::message_row& message);
/// message_text appended to `out`.
void append_message_text(std::string& out, const store::message_row& message);
/// The same object as a Boost.JSON value (parsed from message_text), to nest in others.
[[nodiscard]] boost::json::object message_json(const store::message_row& message);
/// The messages as a JSON array, in order.
[[nodiscard]] std::string messages_text(const std::vector<store::message_row>& messages);
/// messages_text appended to `out`.
void append_messages_text(std::string& out, const std::vector<store::message_row>& messages);
/// {"user", "name", "conversation_id", "online"}
[[nodiscard]] boost::json::object contact_json(const store::contact_row& contact, bool online);
/// {"id", "kind", "title", "members" (users with admin, read_up_to, delivered_up_to),
/// "last_message", "unread_count", "seq", "muted_until"} as `viewer` sees it: a
/// direct conversation is titled with the viewer's nickname for the other member, or their name.
[[nodiscard]] boost::json::object conversation_json(const store::conversation_summary& summary,
                                                    store::id viewer);

/// conversation_json for each member of a conversation at once, with what they share written
/// once: a 1,000-member group's change is then 1,000 small objects and one members' array, not
/// 1,000 copies of the array (each member's view used to be read and kept whole).
struct rendered_views {
  std::string members; ///< The members' array.
  /// Each viewer's object without "members" (whole_view() gives the pieces of the whole one).
  std::vector<std::pair<store::id, std::string>> viewers;
};
/// The views of the members for whom `wanted` says yes (no `wanted`: every member's).
[[nodiscard]] rendered_views render_views(const store::member_views& views,
                                          const std::function<bool(store::id)>& wanted = {});
/// A viewer's whole object (one of rendered_views' viewers with its members), as pieces to be
/// joined as they are: the members go in before its closing brace.
[[nodiscard]] inline std::array<std::string_view, 4> whole_view(std::string_view viewer_object,
                                                                std::string_view members) {
  return {viewer_object.substr(0, viewer_object.size() - 1), R"(,"members":)", members, "}"};
}

} // namespace parley::chat

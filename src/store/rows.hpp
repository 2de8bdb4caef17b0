#pragma once
// Plain rows as the store keeps them. No behaviour here: the domain layers decide.

#include "common/clock.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::store {

using id = std::int64_t;
using bytes = std::vector<unsigned char>;

struct user_row {
  id user_id = 0;
  std::string phone; ///< E.164, unique.
  std::string name;
  unix_ms created_at = 0;
  std::optional<id> avatar_upload_id; ///< Their profile picture (an image upload).
  bool notification_previews = true;  ///< Message text in their push notifications.
};

struct session_row {
  id session_id = 0;
  bytes token_hash; ///< Keyed hash of the token; the token itself is never stored.
  id user_id = 0;
  unix_ms created_at = 0;
  unix_ms last_seen_at = 0;
  std::optional<unix_ms> revoked_at;
};

/// A session and its user, read together (session_by_token_hash).
struct session_with_user {
  session_row session;
  user_row user;
};

struct login_code_row {
  std::string phone;              ///< E.164; one live code per phone.
  std::optional<bytes> code_hash; ///< Keyed hash; empty when the SMS provider keeps the code.
  unix_ms created_at = 0;
  unix_ms expires_at = 0;
  int attempts = 0; ///< Wrong tries so far.
};

/// One entry of a user's contact list: the owner's nickname for a person.
struct contact_row {
  user_row user;                        ///< The person.
  std::string name;                     ///< The owner's nickname for them.
  std::optional<id> conversation_id;    ///< Their direct conversation, if one exists.
  unix_ms created_at = 0;
};

enum class conversation_kind { direct, group };

enum class upload_kind { image, file };

/// An uploaded file: an image (re-encoded without metadata, with a thumbnail) or any other
/// file (served as a download). Its bytes are in the blob store under `blob`.
struct upload_row {
  id upload_id = 0;
  id owner_id = 0;
  upload_kind kind = upload_kind::file;
  std::string mime;      ///< Of the stored bytes (detected from them, never declared).
  std::int64_t size = 0; ///< Of the stored bytes.
  std::string name;      ///< The file's name as given, made safe (never a path).
  std::optional<int> width;  ///< Images: after autorotation.
  std::optional<int> height;
  std::string blob;                          ///< SHA-256 hex of the stored bytes.
  std::optional<std::string> thumbnail_blob; ///< Images: the thumbnail's bytes.
  std::optional<std::string> thumbnail_mime;
  unix_ms created_at = 0;
  std::optional<id> message_id; ///< The message it is attached to, if any.
};

/// The quoted message of a reply, as it is now (taken when the reply is read).
struct quote_row {
  id message_id = 0;
  id sender_id = 0;
  std::string body; ///< The first 100 characters of its current body; empty once deleted.
  bool deleted = false;
  id updated_seq = 0; ///< Its latest change: the quoted part of the reply's version.
};

/// One emoji on a message and who chose it, in the order they did.
struct reaction_row {
  std::string emoji;
  std::vector<id> user_ids;
};

/// A message in its current state. Reads fill `reply_to`, `reactions` and `attachments`.
struct message_row {
  id message_id = 0; ///< Unique over the server; within a conversation it grows with seq.
  id conversation_id = 0;
  id sender_id = 0;
  std::string body; ///< Empty once deleted.
  unix_ms sent_at = 0;
  std::string client_id; ///< Unique per sender: a retried send finds the original.
  id seq = 0;            ///< The conversation's log position at which it was sent.
  id updated_seq = 0;    ///< The position of its latest change (== seq until it changes).
  std::optional<unix_ms> edited_at;
  std::optional<unix_ms> deleted_at; ///< Set: a tombstone.
  std::optional<id> reply_to_id;
  std::optional<quote_row> reply_to;   ///< Filled when reply_to_id names a message.
  std::vector<reaction_row> reactions; ///< Emoji by first use.
  int attachment_count = 0;             ///< How many uploads it carries (none once deleted).
  std::vector<upload_row> attachments;  ///< Filled by reads, in the order they were attached.

  [[nodiscard]] bool deleted() const { return deleted_at.has_value(); }
};

/// What a message's JSON depends on: its latest change and, for a reply, the quoted message's
/// (a quote shows that message as it is now). Attachments never change once sent; every edit,
/// delete and reaction moves updated_seq. So two reads with equal versions read equal messages.
struct message_version {
  id message_id = 0;
  id updated_seq = 0;
  std::optional<id> reply_to_id;
  std::optional<id> quoted_updated_seq; ///< Nullopt unless the quoted message is there.

  bool operator==(const message_version&) const = default;
};

/// Where a message is in its conversation's log (its seq), and its latest change.
struct message_position {
  id message_id = 0;
  id seq = 0;
  id updated_seq = 0;
};

/// A message append_message stored, and the conversation's members then (ascending).
struct appended_message {
  message_row message;
  std::vector<id> member_ids;
};

struct conversation_row {
  id conversation_id = 0;
  conversation_kind kind = conversation_kind::direct;
  std::optional<std::string> title; ///< Groups only.
  id created_by = 0;
  unix_ms created_at = 0;
  std::optional<id> last_message_id; ///< The message with the highest seq, if any.
  unix_ms last_activity_at = 0; ///< The last message's time, or the creation time.
  id last_seq = 0;              ///< The seq of its latest change: the log's length.
};

/// A member's state in one conversation.
struct member_row {
  id conversation_id = 0;
  id user_id = 0;
  id last_read_id = 0;      ///< Every message up to this id is read by this member.
  id last_delivered_id = 0; ///< … and up to this one delivered to one of their devices.
  bool admin = false;
  id from_seq = 0; ///< The member sees the changes after this seq (0: everything).
  unix_ms joined_at = 0;
  std::optional<unix_ms> muted_until; ///< No pushes before then.
};

/// A member as the conversation object shows them.
struct member_view {
  user_row user;
  bool admin = false;
  id read_up_to = 0;
  id delivered_up_to = 0;
};

/// A conversation as one member sees it in their list.
struct conversation_summary {
  conversation_row conversation;
  std::vector<member_view> members; ///< Every member, the viewer included, by user id.
  std::optional<message_row> last_message; ///< Only one the viewer can see.
  std::int64_t unread_count = 0; ///< Messages from others above the viewer's last read.
  std::optional<std::string> nickname; ///< Direct only: the viewer's contact name for the other.
  std::optional<unix_ms> muted_until;  ///< The viewer's: no pushes before then (null: never muted).
};

/// What one member's view of a conversation has of its own (member_views holds the rest).
struct viewer_part {
  id viewer = 0;
  bool sees_last_message = true; ///< false: it came before the viewer joined.
  std::int64_t unread_count = 0;
  std::optional<std::string> nickname;
  std::optional<unix_ms> muted_until;
};

/// Every member's view of a conversation, with what they share read once: `shared` is the
/// conversation, its members and its last message (its own fields left empty), then one part
/// per member. shared + a part is that member's summary (viewing()).
struct member_views {
  conversation_summary shared;
  std::vector<viewer_part> viewers;

  /// The members' ids, ascending (as read_transaction::member_ids gives them).
  [[nodiscard]] std::vector<id> member_ids() const {
    std::vector<id> ids;
    ids.reserve(viewers.size());
    for (const auto& part : viewers) {
      ids.push_back(part.viewer);
    }
    return ids;
  }
};

/// The summary `part.viewer` has of `shared` (a member_views' shared summary).
[[nodiscard]] inline conversation_summary viewing(conversation_summary shared,
                                                  const viewer_part& part) {
  if (!part.sees_last_message) {
    shared.last_message.reset();
  }
  shared.unread_count = part.unread_count;
  shared.nickname = part.nickname;
  shared.muted_until = part.muted_until;
  return shared;
}

/// One of a user's conversations, for `sync`: where its log is and where the user's view starts.
struct log_position {
  id conversation_id = 0;
  id last_seq = 0;
  id from_seq = 0;
};

/// A delivered mark to raise: `user_id` has had `conversation_id`'s messages up to the message
/// `up_to`.
struct delivered_mark {
  id conversation_id = 0;
  id user_id = 0;
  id up_to = 0;
};

/// A delivered mark that moved: where it was, and the distinct senders (ascending) of the
/// messages it newly covers, when those span at most the ids the caller let it scan.
struct delivered_mark_moved {
  id conversation_id = 0;
  id user_id = 0;
  id before = 0;
  std::optional<std::vector<id>> senders;
};

/// A browser's Web Push subscription.
struct push_subscription_row {
  id subscription_id = 0;
  id user_id = 0;
  std::string endpoint;
  bytes p256dh; ///< 65 bytes, a P-256 point.
  bytes auth;   ///< 16 bytes.
};

/// One subscription of one member of a conversation, with what a push to it needs.
struct push_target {
  push_subscription_row subscription;
  bool previews = true;
  std::optional<unix_ms> muted_until;
  std::string title;       ///< The conversation as this member sees it (nickname or group title).
  std::string sender_name; ///< The sender as this member sees them.
};

enum class subscription_outcome { created, existing, too_many };

} // namespace parley::store

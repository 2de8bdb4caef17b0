#pragma once
// The SQL of the chat queries, named so that a test can check each one's plan (every lookup
// uses an index, no table is scanned whole). Written once for both engines: SQLite's ?N
// parameters (rewritten for PostgreSQL), CASE rather than the two engines' different
// two-argument min/max, and aliases on every subquery in FROM.

#include "store/sql_rows.hpp"

#include <array>

namespace parley::store::chat_sql {

// A contact's direct conversation is keyed by the pair, smaller id first. Names compare with
// lower(): ASCII case folding on SQLite, and on PostgreSQL too, where text columns use the
// "C" collation.

inline constexpr const char* contacts_of =
    "SELECT " PARLEY_U_USER_COLUMNS ", k.name, c.id, k.created_at "
    "FROM contacts k JOIN users u ON u.id = k.contact_id "
    "LEFT JOIN conversations c "
    "ON c.direct_low = CASE WHEN k.owner_id < k.contact_id THEN k.owner_id ELSE k.contact_id END "
    "AND c.direct_high = CASE WHEN k.owner_id < k.contact_id THEN k.contact_id ELSE k.owner_id END "
    "WHERE k.owner_id = ?1 ORDER BY lower(k.name), u.id";

inline constexpr const char* contact =
    "SELECT " PARLEY_U_USER_COLUMNS ", k.name, c.id, k.created_at "
    "FROM contacts k JOIN users u ON u.id = k.contact_id "
    "LEFT JOIN conversations c "
    "ON c.direct_low = CASE WHEN k.owner_id < k.contact_id THEN k.owner_id ELSE k.contact_id END "
    "AND c.direct_high = CASE WHEN k.owner_id < k.contact_id THEN k.contact_id ELSE k.owner_id END "
    "WHERE k.owner_id = ?1 AND k.contact_id = ?2";

inline constexpr const char* contact_owners_of =
    "SELECT owner_id FROM contacts WHERE contact_id = ?1 ORDER BY owner_id";

inline constexpr const char* direct_conversation =
    "SELECT id FROM conversations WHERE direct_low = ?1 AND direct_high = ?2";

inline constexpr const char* conversation =
    "SELECT c.id, c.kind, c.title, c.created_by, c.created_at, "
    "(SELECT id FROM messages WHERE conversation_id = c.id ORDER BY seq DESC LIMIT 1), "
    "c.last_activity_at, c.last_seq FROM conversations c WHERE c.id = ?1";

inline constexpr const char* membership =
    "SELECT conversation_id, user_id, last_read_id, last_delivered_id, admin, from_seq, joined_at, "
    "muted_until FROM conversation_members WHERE conversation_id = ?1 AND user_id = ?2";

inline constexpr const char* member_ids =
    "SELECT user_id FROM conversation_members WHERE conversation_id = ?1 ORDER BY user_id";

inline constexpr const char* member_rows =
    "SELECT conversation_id, user_id, last_read_id, last_delivered_id, admin, from_seq, joined_at, "
    "muted_until FROM conversation_members WHERE conversation_id = ?1 "
    "ORDER BY from_seq, joined_at, user_id";

// Id bounds become seq bounds first (ids grow with seq within a conversation).
// Each sender once, in order, is made by the caller: DISTINCT and ORDER BY would make SQLite
// build an ephemeral b-tree and a sorter for every delivered mark, most of them covering one
// message.
inline constexpr const char* senders_between =
    "SELECT sender_id FROM messages WHERE conversation_id = ?1 AND seq > ?2 AND seq <= ?3";
// The same in one statement when both id bounds are messages of the conversation (or the lower
// one is 0), as a delivered mark's are: no rows when one is not (the caller then takes the
// general way).
inline constexpr const char* senders_between_messages =
    "SELECT sender_id FROM messages WHERE conversation_id = ?1 "
    "AND seq > CASE WHEN ?2 = 0 THEN 0 "
    "ELSE (SELECT seq FROM messages WHERE id = ?2 AND conversation_id = ?1) END "
    "AND seq <= (SELECT seq FROM messages WHERE id = ?3 AND conversation_id = ?1)";

inline constexpr const char* members =
    "SELECT " PARLEY_U_USER_COLUMNS ", m.admin, m.last_read_id, m.last_delivered_id "
    "FROM conversation_members m JOIN users u ON u.id = m.user_id "
    "WHERE m.conversation_id = ?1 ORDER BY u.id";

inline constexpr const char* conversations_of =
    "SELECT c.id, c.kind, c.title, c.created_by, c.created_at, "
    "(SELECT id FROM messages WHERE conversation_id = c.id ORDER BY seq DESC LIMIT 1), "
    "c.last_activity_at, c.last_seq, m.last_read_id, m.from_seq, m.muted_until "
    "FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id "
    "WHERE m.user_id = ?1 AND (c.kind = 'group' OR c.last_seq > 0 "
    "OR c.created_by = ?1) ORDER BY c.last_activity_at DESC, c.id DESC";

inline constexpr const char* log_positions =
    "SELECT c.id, c.last_seq, m.from_seq "
    "FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id "
    "WHERE m.user_id = ?1 ORDER BY c.id";

// Messages from others after the viewer's read mark (as a seq), tombstones and what came
// before the viewer joined not counted.
inline constexpr const char* unread_count =
    "SELECT count(*) FROM messages WHERE conversation_id = ?1 AND seq > ?2 "
    "AND sender_id <> ?3 AND deleted_at IS NULL";

inline constexpr const char* nickname =
    "SELECT name FROM contacts WHERE owner_id = ?1 AND contact_id = ?2";

inline constexpr const char* message_by_id =
    "SELECT id, conversation_id, sender_id, body, sent_at, client_id, seq, updated_seq, edited_at, "
    "deleted_at, reply_to, attachments FROM messages WHERE id = ?1";

inline constexpr const char* message_by_client_id =
    "SELECT id, conversation_id, sender_id, body, sent_at, client_id, seq, updated_seq, edited_at, "
    "deleted_at, reply_to, attachments FROM messages WHERE sender_id = ?1 AND client_id = ?2";

// A page's messages from messages_by_seq alone (id is the row id on SQLite), and the changed
// ones of a seq range from messages_changed_by_seq: their versions without their rows.
inline constexpr const char* page_ids =
    "SELECT id, seq FROM messages WHERE conversation_id = ?1 AND seq < ?2 AND seq > ?3 "
    "ORDER BY seq DESC LIMIT ?4";
inline constexpr const char* page_changes =
    "SELECT seq, updated_seq FROM messages "
    "WHERE conversation_id = ?1 AND seq < ?2 AND seq > ?3 AND updated_seq > seq";
inline constexpr const char* updated_seq_of = "SELECT updated_seq FROM messages WHERE id = ?1";
// The messages changed after a seq: the new ones (messages_by_seq), then those changed since
// they were sent (messages_changed, partial); each once.
inline constexpr const char* positions_changed_after =
    "SELECT * FROM (SELECT id, seq, updated_seq FROM messages "
    "WHERE conversation_id = ?1 AND seq > ?2 AND updated_seq = seq ORDER BY seq LIMIT ?3) AS sent "
    "UNION ALL "
    "SELECT * FROM (SELECT id, seq, updated_seq FROM messages "
    "WHERE conversation_id = ?1 AND updated_seq > ?2 AND updated_seq > seq "
    "ORDER BY updated_seq LIMIT ?3) AS changed";

// Where a message of the conversation is in its log; and the message at or below a seq (to
// find where an id that is not one of its messages falls).
inline constexpr const char* seq_of_message =
    "SELECT seq FROM messages WHERE id = ?2 AND conversation_id = ?1";
inline constexpr const char* message_at_or_below =
    "SELECT seq, id FROM messages WHERE conversation_id = ?1 AND seq <= ?2 "
    "ORDER BY seq DESC LIMIT 1";

// The new messages after the cursor (messages_by_seq), then the changed ones
// (messages_changed, partial), merged by updated_seq.
inline constexpr const char* changes_after =
    "SELECT * FROM (SELECT id, conversation_id, sender_id, body, sent_at, client_id, seq, updated_seq, edited_at, deleted_at, reply_to, attachments FROM messages "
    "WHERE conversation_id = ?1 AND seq > ?2 AND seq > ?3 AND updated_seq = seq "
    "ORDER BY seq LIMIT ?4) AS sent "
    "UNION ALL "
    "SELECT * FROM (SELECT id, conversation_id, sender_id, body, sent_at, client_id, seq, updated_seq, edited_at, deleted_at, reply_to, attachments FROM messages "
    "WHERE conversation_id = ?1 AND updated_seq > ?2 AND updated_seq > seq AND seq > ?3 "
    "ORDER BY updated_seq LIMIT ?4) AS changed "
    "ORDER BY 8 LIMIT ?4";

// The quote of a reply: 100 characters (code points) of the quoted message's current body.
inline constexpr const char* quote =
    "SELECT id, sender_id, substr(body, 1, 100), deleted_at IS NOT NULL, updated_seq "
    "FROM messages WHERE id = ?1";

// Emoji by the start of their current run on the message, users in the order they reacted.
inline constexpr const char* reactions =
    "SELECT emoji, user_id FROM reactions WHERE message_id = ?1 ORDER BY emoji_since, seq";

inline constexpr const char* reaction_run =
    "SELECT min(emoji_since) FROM reactions WHERE message_id = ?1 AND emoji = ?2";

// The rows of the conversations in the array ?1, locked in ascending id order (PostgreSQL
// locks the rows as the sort hands them over).
inline constexpr const char* lock_conversations =
    "SELECT id FROM conversations WHERE id = ANY(CAST(?1 AS BIGINT[])) ORDER BY id "
    "FOR NO KEY UPDATE";

inline constexpr const char* insert_contact =
    "INSERT INTO contacts (owner_id, contact_id, name, created_at) VALUES (?1, ?2, ?3, ?4)";
inline constexpr const char* update_contact_name =
    "UPDATE contacts SET name = ?3 WHERE owner_id = ?1 AND contact_id = ?2";
inline constexpr const char* delete_contact =
    "DELETE FROM contacts WHERE owner_id = ?1 AND contact_id = ?2";
inline constexpr const char* insert_conversation =
    "INSERT INTO conversations (kind, title, direct_low, direct_high, created_by, created_at, "
    "last_activity_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id";
inline constexpr const char* insert_member =
    "INSERT INTO conversation_members (conversation_id, user_id, joined_at, from_seq, admin) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
inline constexpr const char* delete_member =
    "DELETE FROM conversation_members WHERE conversation_id = ?1 AND user_id = ?2";
inline constexpr const char* set_admin =
    "UPDATE conversation_members SET admin = ?3 WHERE conversation_id = ?1 AND user_id = ?2";
inline constexpr const char* set_title = "UPDATE conversations SET title = ?2 WHERE id = ?1";
inline constexpr const char* delete_messages = "DELETE FROM messages WHERE conversation_id = ?1";
inline constexpr const char* next_seq =
    "UPDATE conversations SET last_seq = last_seq + 1, "
    "last_activity_at = CASE WHEN ?2 > last_activity_at THEN ?2 ELSE last_activity_at END "
    "WHERE id = ?1 RETURNING last_seq";
// next_seq in two plain statements, for an engine where RETURNING costs (SQLite).
inline constexpr const char* raise_seq_by_one =
    "UPDATE conversations SET last_seq = last_seq + 1, "
    "last_activity_at = CASE WHEN ?2 > last_activity_at THEN ?2 ELSE last_activity_at END "
    "WHERE id = ?1";
inline constexpr const char* last_seq = "SELECT last_seq FROM conversations WHERE id = ?1";
// (PostgreSQL; SQLite gives the id itself: insert_message_at_new_id.)
inline constexpr const char* insert_message =
    "INSERT INTO messages (conversation_id, sender_id, body, sent_at, client_id, seq, "
    "updated_seq, reply_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) RETURNING id";
// A send (PostgreSQL): the message at the conversation's next seq (read under the row lock
// the writer holds) if the sender is a member and has not sent this client_id before, with the
// conversation's member ids, ascending, as "1,2,3" (one wait for a send instead of two); then
// the row raised to it without waiting. Not in `all`: SQLite 3.40 has no string_agg.
inline constexpr const char* append_message_with_members =
    "INSERT INTO messages (conversation_id, sender_id, body, sent_at, client_id, seq, "
    "updated_seq, reply_to) SELECT ?1, ?2, ?3, ?4, ?5, last_seq + 1, last_seq + 1, "
    "CAST(?6 AS BIGINT) FROM conversations WHERE id = ?1 AND EXISTS (SELECT 1 FROM "
    "conversation_members WHERE conversation_id = ?1 AND user_id = ?2) "
    "ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, seq, "
    "(SELECT string_agg(CAST(user_id AS TEXT), ',' ORDER BY user_id) FROM conversation_members "
    "WHERE conversation_id = ?1)";
// A new message's id on SQLite, which has no identity: ?8 when the writer knows it (the next
// after its last insert), else the next above every id there is and the largest ever
// deleted (message_id_floor, raised by a trigger), so that none comes back. SQLite-only (its
// two-argument max; PostgreSQL has no such table).
#define PARLEY_NEW_MESSAGE_ID                                                                      \
  "coalesce(?8, (SELECT max(floor, coalesce((SELECT max(id) FROM messages), 0)) + 1 "              \
  "FROM message_id_floor WHERE id = 1))"
// The insert of a send in two plain statements, for an engine where RETURNING costs (SQLite):
// the conversation's last seq (and a direct one's pair) if the sender is a member, then the
// insert at the next one (no row when the client_id was sent before: changes() says 0); a
// group's members come from member_ids, a direct conversation's are its pair.
inline constexpr const char* last_seq_if_member =
    "SELECT last_seq, direct_low, direct_high FROM conversations WHERE id = ?1 AND EXISTS "
    "(SELECT 1 FROM conversation_members WHERE conversation_id = ?1 AND user_id = ?2)";
inline constexpr const char* append_message_at =
    "INSERT INTO messages (id, conversation_id, sender_id, body, sent_at, client_id, seq, "
    "updated_seq, reply_to) VALUES (" PARLEY_NEW_MESSAGE_ID ", ?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) "
    "ON CONFLICT (sender_id, client_id) DO NOTHING";
// insert_message on SQLite.
inline constexpr const char* insert_message_at_new_id =
    "INSERT INTO messages (id, conversation_id, sender_id, body, sent_at, client_id, seq, "
    "updated_seq, reply_to) VALUES (" PARLEY_NEW_MESSAGE_ID ", ?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) "
    "RETURNING id";
#undef PARLEY_NEW_MESSAGE_ID
inline constexpr const char* raise_seq =
    "UPDATE conversations SET last_seq = ?2, "
    "last_activity_at = CASE WHEN ?3 > last_activity_at THEN ?3 ELSE last_activity_at END "
    "WHERE id = ?1";
inline constexpr const char* save_version =
    "INSERT INTO message_versions (message_id, replaced_seq, body, written_at) "
    "SELECT id, ?2, body, coalesce(edited_at, sent_at) FROM messages WHERE id = ?1";
inline constexpr const char* edit_message =
    "UPDATE messages SET body = ?2, edited_at = ?3, updated_seq = ?4 WHERE id = ?1";
inline constexpr const char* tombstone =
    "UPDATE messages SET body = '', deleted_at = ?2, updated_seq = ?3, attachments = 0 "
    "WHERE id = ?1";
inline constexpr const char* delete_versions = "DELETE FROM message_versions WHERE message_id = ?1";
inline constexpr const char* delete_reactions = "DELETE FROM reactions WHERE message_id = ?1";
inline constexpr const char* put_reaction =
    "INSERT INTO reactions (message_id, user_id, emoji, emoji_since, seq) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (message_id, user_id) DO UPDATE SET "
    "emoji = excluded.emoji, emoji_since = excluded.emoji_since, seq = excluded.seq";
inline constexpr const char* delete_reaction =
    "DELETE FROM reactions WHERE message_id = ?1 AND user_id = ?2";
inline constexpr const char* touch_message = "UPDATE messages SET updated_seq = ?2 WHERE id = ?1";
inline constexpr const char* advance_read =
    "UPDATE conversation_members SET last_read_id = ?3, "
    "last_delivered_id = CASE WHEN last_delivered_id < ?3 THEN ?3 ELSE last_delivered_id END "
    "WHERE conversation_id = ?1 AND user_id = ?2 AND last_read_id < ?3";
inline constexpr const char* advance_delivered =
    "UPDATE conversation_members SET last_delivered_id = ?3 "
    "WHERE conversation_id = ?1 AND user_id = ?2 AND last_delivered_id < ?3";
// Many delivered marks in one statement (PostgreSQL: ?1, ?2, ?3 are arrays of conversation
// ids, user ids and up_to ids, ?4 the scan limit). The member rows are locked in (conversation,
// user) order and read as they are then (a mark another node raised meanwhile is seen). One row
// per moved mark and sender, by conversation, user and sender: `before`, whether the range is
// within the scan limit, whether both bounds are messages of the conversation (when not, the
// sender column says nothing and the caller asks senders_between), and a sender (NULL when
// none is listed). OFFSET 0 keeps the bounds a subquery of their own, looked up once per mark
// (pulled up, each lookup was planned twice: once per column that uses it).
inline constexpr const char* advance_delivered_marks =
    "WITH wanted AS (SELECT * FROM unnest(CAST(?1 AS BIGINT[]), CAST(?2 AS BIGINT[]), "
    "CAST(?3 AS BIGINT[])) AS w (conversation_id, user_id, up_to)), "
    "old AS (SELECT m.conversation_id, m.user_id, m.last_delivered_id AS before, w.up_to "
    "FROM wanted w JOIN conversation_members m "
    "ON m.conversation_id = w.conversation_id AND m.user_id = w.user_id "
    "WHERE m.last_delivered_id < w.up_to ORDER BY m.conversation_id, m.user_id "
    "FOR NO KEY UPDATE OF m), "
    "moved AS (UPDATE conversation_members m SET last_delivered_id = old.up_to FROM old "
    "WHERE m.conversation_id = old.conversation_id AND m.user_id = old.user_id "
    "RETURNING old.conversation_id, old.user_id, old.before, old.up_to) "
    "SELECT mv.conversation_id, mv.user_id, mv.before, "
    "CASE WHEN mv.up_to - mv.before <= ?4 THEN 1 ELSE 0 END, "
    "CASE WHEN b.low IS NULL OR b.high IS NULL THEN 0 ELSE 1 END, s.sender_id "
    "FROM moved mv CROSS JOIN LATERAL (SELECT "
    "CASE WHEN mv.before = 0 THEN 0 ELSE (SELECT seq FROM messages "
    "WHERE id = mv.before AND conversation_id = mv.conversation_id) END AS low, "
    "(SELECT seq FROM messages WHERE id = mv.up_to AND conversation_id = mv.conversation_id) "
    "AS high OFFSET 0) b "
    "LEFT JOIN LATERAL (SELECT DISTINCT sender_id FROM messages "
    "WHERE mv.up_to - mv.before <= ?4 AND conversation_id = mv.conversation_id "
    "AND seq > b.low AND seq <= b.high) s ON TRUE "
    "ORDER BY mv.conversation_id, mv.user_id, s.sender_id";

/// Every statement above, for the query-plan test.
inline constexpr std::array all{
    contacts_of,
    contact,
    contact_owners_of,
    direct_conversation,
    conversation,
    membership,
    member_ids,
    member_rows,
    members,
    senders_between,
    senders_between_messages,
    conversations_of,
    log_positions,
    unread_count,
    nickname,
    message_by_id,
    message_by_client_id,
    page_ids,
    page_changes,
    updated_seq_of,
    positions_changed_after,
    changes_after,
    quote,
    reactions,
    reaction_run,
    update_contact_name,
    delete_contact,
    delete_member,
    set_admin,
    set_title,
    delete_messages,
    next_seq,
    raise_seq_by_one,
    last_seq,
    last_seq_if_member,
    raise_seq,
    save_version,
    edit_message,
    tombstone,
    delete_versions,
    delete_reactions,
    delete_reaction,
    touch_message,
    advance_read,
    advance_delivered,
};

// SQLite's own statements (PostgreSQL has an identity for ids, and one statement for a send).
inline constexpr std::array sqlite_only{
    append_message_at,
    insert_message_at_new_id,
};

} // namespace parley::store::chat_sql

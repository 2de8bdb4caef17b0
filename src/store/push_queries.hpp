#pragma once
// The SQL of notifications (push subscriptions, mutes, previews), in the dialect both engines
// understand (see chat_queries.hpp). Internal to the store.

namespace parley::store::push_sql {

// The contact name the member (cm.user_id) gave the sender (?2), if any.
#define PARLEY_SENDER_NICKNAME                                                                      \
  "(SELECT ct.name FROM contacts ct WHERE ct.owner_id = cm.user_id AND ct.contact_id = ?2)"

inline constexpr const char* targets =
    "SELECT ps.id, ps.user_id, ps.endpoint, ps.p256dh, ps.auth, u.notification_previews, "
    "cm.muted_until, coalesce(c.title, " PARLEY_SENDER_NICKNAME ", s.name), "
    "coalesce(" PARLEY_SENDER_NICKNAME ", s.name) "
    "FROM conversation_members cm "
    "JOIN push_subscriptions ps ON ps.user_id = cm.user_id "
    "JOIN users u ON u.id = cm.user_id "
    "JOIN conversations c ON c.id = cm.conversation_id "
    "JOIN users s ON s.id = ?2 "
    "WHERE cm.conversation_id = ?1 AND cm.user_id <> ?2 ORDER BY ps.user_id, ps.id";

#undef PARLEY_SENDER_NICKNAME

inline constexpr const char* holder = "SELECT user_id FROM push_subscriptions WHERE endpoint = ?1";
inline constexpr const char* count_of_user =
    "SELECT count(*) FROM push_subscriptions WHERE user_id = ?1";
inline constexpr const char* upsert =
    "INSERT INTO push_subscriptions (user_id, session_id, endpoint, p256dh, auth, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (endpoint) DO UPDATE SET "
    "user_id = excluded.user_id, session_id = excluded.session_id, p256dh = excluded.p256dh, "
    "auth = excluded.auth, created_at = excluded.created_at";
inline constexpr const char* delete_of_user =
    "DELETE FROM push_subscriptions WHERE user_id = ?1 AND endpoint = ?2";
inline constexpr const char* drop = "DELETE FROM push_subscriptions WHERE id = ?1";
inline constexpr const char* drop_of_session =
    "DELETE FROM push_subscriptions WHERE session_id = ?1";
inline constexpr const char* set_muted =
    "UPDATE conversation_members SET muted_until = CAST(?3 AS BIGINT) "
    "WHERE conversation_id = ?1 AND user_id = ?2";
inline constexpr const char* set_previews =
    "UPDATE users SET notification_previews = ?2 WHERE id = ?1";

} // namespace parley::store::push_sql

#pragma once
// The SQL of uploads, blobs and profile pictures, in the dialect both engines understand (see
// chat_queries.hpp). Internal to the store.

#include <array>

namespace parley::store::upload_sql {

#define PARLEY_UPLOAD_COLUMNS                                                                       \
  "up.id, up.owner_id, up.kind, up.mime, up.size, up.name, up.width, up.height, up.blob, "       \
  "up.thumbnail_blob, up.thumbnail_mime, up.created_at, up.message_id"

inline constexpr const char* upload =
    "SELECT " PARLEY_UPLOAD_COLUMNS " FROM uploads up WHERE up.id = ?1";

// Its uploader; anyone for a profile picture; a member who sees the (undeleted) message.
inline constexpr const char* readable_upload =
    "SELECT " PARLEY_UPLOAD_COLUMNS " FROM uploads up WHERE up.id = ?1 AND (up.owner_id = ?2 "
    "OR EXISTS (SELECT 1 FROM users a WHERE a.avatar_upload_id = up.id) "
    "OR EXISTS (SELECT 1 FROM messages m JOIN conversation_members cm "
    "ON cm.conversation_id = m.conversation_id AND cm.user_id = ?2 "
    "WHERE m.id = up.message_id AND m.seq > cm.from_seq AND m.deleted_at IS NULL))";

inline constexpr const char* attachments =
    "SELECT " PARLEY_UPLOAD_COLUMNS " FROM uploads up WHERE up.message_id = ?1 ORDER BY up.position";

inline constexpr const char* bytes_uploaded_on =
    "SELECT coalesce(sum(bytes), 0) FROM upload_days WHERE owner_id = ?1 AND day = ?2";
inline constexpr const char* bytes_stored =
    "SELECT coalesce(sum(size), 0) FROM uploads WHERE owner_id = ?1";

inline constexpr const char* keep_blob =
    "INSERT INTO blobs (key, size, stored_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (key) DO UPDATE SET stored_at = excluded.stored_at";
inline constexpr const char* insert_upload =
    "INSERT INTO uploads (owner_id, kind, mime, size, name, width, height, blob, thumbnail_blob, "
    "thumbnail_mime, created_at) VALUES (?1, ?2, ?3, ?4, ?5, CAST(?6 AS INTEGER), "
    "CAST(?7 AS INTEGER), ?8, ?9, ?10, ?11) RETURNING id";
inline constexpr const char* count_day =
    "INSERT INTO upload_days (owner_id, day, bytes) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (owner_id, day) DO UPDATE SET bytes = upload_days.bytes + excluded.bytes";
inline constexpr const char* attach =
    "UPDATE uploads SET message_id = ?1, position = ?4 "
    "WHERE id = ?2 AND owner_id = ?3 AND message_id IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM users a WHERE a.avatar_upload_id = ?2)";
inline constexpr const char* count_attachments = "UPDATE messages SET attachments = ?2 WHERE id = ?1";
inline constexpr const char* delete_upload = "DELETE FROM uploads WHERE id = ?1";
inline constexpr const char* delete_attachments = "DELETE FROM uploads WHERE message_id = ?1";
inline constexpr const char* avatar_of = "SELECT avatar_upload_id FROM users WHERE id = ?1";
inline constexpr const char* set_avatar =
    "UPDATE users SET avatar_upload_id = CAST(?2 AS BIGINT) WHERE id = ?1";
inline constexpr const char* stale_uploads =
    "SELECT up.id FROM uploads up WHERE up.message_id IS NULL AND up.created_at < ?1 "
    "AND NOT EXISTS (SELECT 1 FROM users a WHERE a.avatar_upload_id = up.id) "
    "ORDER BY up.created_at LIMIT ?2";
inline constexpr const char* take_unreferenced_blobs =
    "DELETE FROM blobs WHERE stored_at < ?1 AND key IN (SELECT b.key FROM blobs b WHERE b.stored_at < ?1 "
    "AND NOT EXISTS (SELECT 1 FROM uploads WHERE blob = b.key) "
    "AND NOT EXISTS (SELECT 1 FROM uploads WHERE thumbnail_blob = b.key) "
    "ORDER BY b.stored_at LIMIT ?2) RETURNING key";

/// Every statement above, for the query-plan test.
inline constexpr std::array all{
    upload,        readable_upload, attachments,   bytes_uploaded_on, bytes_stored,
    keep_blob,     insert_upload,   count_day,     attach,            count_attachments,
    delete_upload, delete_attachments, avatar_of,  set_avatar,        stale_uploads,
    take_unreferenced_blobs,
};

} // namespace parley::store::upload_sql

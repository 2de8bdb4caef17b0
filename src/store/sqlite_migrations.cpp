#include "store/sqlite_migrations.hpp"

#include <array>
#include <fmt/format.h>

namespace parley::store {
namespace {

constexpr std::array k_migrations{
    migration{1, "users, sessions, login codes", R"sql(
CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  phone      TEXT    NOT NULL UNIQUE,
  name       TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
  id           INTEGER PRIMARY KEY,
  token_hash   BLOB    NOT NULL UNIQUE,
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  revoked_at   INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- One live code per phone. code_hash is NULL when the SMS provider keeps the code.
CREATE TABLE login_codes (
  phone      TEXT    PRIMARY KEY,
  code_hash  BLOB,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX login_codes_by_expiry ON login_codes (expires_at);

CREATE TABLE server_secrets (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
)sql"},
    migration{2, "contacts, conversations, members, messages", R"sql(
-- A user's contact list: the owner's own nickname for each person.
CREATE TABLE contacts (
  owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  contact_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name       TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (owner_id, contact_id),
  CHECK (owner_id <> contact_id)
) WITHOUT ROWID;
-- Presence goes to everyone who has a user as a contact.
CREATE INDEX contacts_by_contact ON contacts (contact_id, owner_id);

-- direct_low/direct_high: the two members of a direct conversation (smaller id first), so
-- that a pair has at most one; NULL for groups (NULLs are distinct in a UNIQUE index).
CREATE TABLE conversations (
  id               INTEGER PRIMARY KEY,
  kind             TEXT    NOT NULL CHECK (kind IN ('direct', 'group')),
  title            TEXT,
  direct_low       INTEGER REFERENCES users (id),
  direct_high      INTEGER REFERENCES users (id),
  created_by       INTEGER NOT NULL REFERENCES users (id),
  created_at       INTEGER NOT NULL,
  last_message_id  INTEGER,
  last_activity_at INTEGER NOT NULL,
  CHECK ((kind = 'direct') = (direct_low IS NOT NULL AND direct_high IS NOT NULL)),
  CHECK (direct_low < direct_high)
);
CREATE UNIQUE INDEX conversations_direct ON conversations (direct_low, direct_high);

CREATE TABLE conversation_members (
  conversation_id   INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  joined_at         INTEGER NOT NULL,
  last_read_id      INTEGER NOT NULL DEFAULT 0,
  last_delivered_id INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON conversation_members (user_id, conversation_id);

-- AUTOINCREMENT: ids are never reused, even after the newest row is deleted, so they stay a
-- valid sync cursor.
CREATE TABLE messages (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  sender_id       INTEGER NOT NULL REFERENCES users (id),
  body            TEXT    NOT NULL,
  sent_at         INTEGER NOT NULL,
  client_id       TEXT    NOT NULL,
  UNIQUE (sender_id, client_id)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
)sql"},
    migration{3, "the conversation log: seq, edits, deletes, replies, reactions, admins", R"sql(
-- Every change to a conversation takes its next seq: UPDATE … SET last_seq = last_seq + 1
-- RETURNING last_seq, in the transaction that makes the change.
ALTER TABLE conversations ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;

-- seq: where the message was sent in its conversation's log; updated_seq: its latest change.
ALTER TABLE messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN updated_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
-- reply_to names a message of the same conversation (checked by the chat layer). No foreign
-- key: it would need an index of its own for deletes to check it, and a conversation's messages
-- only ever go all together.
ALTER TABLE messages ADD COLUMN reply_to INTEGER;

-- A group's creation was its first change (seq 1); a direct conversation starts with its
-- first message. Existing messages take the following seqs in id order.
UPDATE messages SET seq = numbered.seq, updated_seq = numbered.seq
FROM (SELECT m.id AS id,
             row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.id)
               + (c.kind = 'group') AS seq
      FROM messages m JOIN conversations c ON c.id = m.conversation_id) AS numbered
WHERE messages.id = numbered.id;
UPDATE conversations SET last_seq = coalesce(
  (SELECT max(seq) FROM messages WHERE conversation_id = conversations.id), kind = 'group');
-- The last message is found by the index (the highest seq), so a send updates the
-- conversation row once: last_seq and last_activity_at together.
ALTER TABLE conversations DROP COLUMN last_message_id;

-- One index per message on (conversation_id, …), not two: each such index dirties a page per
-- conversation per commit. (conversation_id, seq) serves history, unread counts, delivered
-- ranges and the new messages of sync (ids grow with seq within a conversation, so an id
-- bound becomes a seq bound); the changed messages of sync, far fewer, have a partial index
-- that a new message never enters.
DROP INDEX messages_by_conversation;
CREATE UNIQUE INDEX messages_by_seq ON messages (conversation_id, seq);
CREATE INDEX messages_changed ON messages (conversation_id, updated_seq) WHERE updated_seq > seq;

-- The bodies an edit replaced (replaced_seq: the seq of the edit that replaced it).
CREATE TABLE message_versions (
  message_id   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  replaced_seq INTEGER NOT NULL,
  body         TEXT    NOT NULL,
  written_at   INTEGER NOT NULL,
  PRIMARY KEY (message_id, replaced_seq)
) WITHOUT ROWID;

-- One reaction per user per message. emoji_since: the seq at which this emoji's current run
-- on the message began (emoji are listed by it); seq: when this user chose it.
CREATE TABLE reactions (
  message_id  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  emoji       TEXT    NOT NULL,
  emoji_since INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  PRIMARY KEY (message_id, user_id)
) WITHOUT ROWID;

-- admin: may rename, add, remove and promote. from_seq: the member sees the changes after it
-- (0: the whole log). The creator of a group was its first admin.
ALTER TABLE conversation_members ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversation_members ADD COLUMN from_seq INTEGER NOT NULL DEFAULT 0;
UPDATE conversation_members SET admin = 1
WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.id = conversation_members.conversation_id
              AND c.kind = 'group' AND c.created_by = conversation_members.user_id);
)sql"},
};

} // namespace

std::span<const migration> sqlite_migrations() { return k_migrations; }

int schema_version(sqlite::connection& db) {
  auto statement = sqlite::statement(db, "PRAGMA user_version");
  statement.step();
  return static_cast<int>(statement.integer(0));
}

int migrate(sqlite::connection& db, int target) {
  const auto all = sqlite_migrations();
  const int latest = all.empty() ? 0 : all.back().version;
  if (target < 0) {
    target = latest;
  }
  int version = schema_version(db);
  if (version > latest) {
    throw std::runtime_error(fmt::format(
        "the database has schema version {} but this build knows only up to {}: use a newer build",
        version, latest));
  }
  for (const auto& step : all) {
    if (step.version <= version || step.version > target) {
      continue;
    }
    sqlite::transaction_guard transaction(db, sqlite::transaction_guard::kind::immediate);
    db.execute(step.sql);
    db.execute(fmt::format("PRAGMA user_version = {}", step.version));
    transaction.commit();
    version = step.version;
  }
  return version;
}

} // namespace parley::store

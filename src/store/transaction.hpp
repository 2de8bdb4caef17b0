#pragma once
// The store's row-level operations, as seen from inside one transaction. Domain code (auth,
// later chat) is written against these interfaces and runs on a store thread inside a job
// (see database.hpp); SQLite implements them now, PostgreSQL later. Every call may throw
// (a storage failure), which fails the whole job.

#include "store/rows.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::store {

class read_transaction {
public:
  virtual ~read_transaction() = default;

  [[nodiscard]] virtual std::optional<user_row> user_by_id(id user_id) = 0;
  [[nodiscard]] virtual std::optional<user_row> user_by_phone(std::string_view phone) = 0;
  /// The session with this token hash and its user (one read: every request makes it).
  [[nodiscard]] virtual std::optional<session_with_user>
  session_by_token_hash(std::span<const unsigned char> token_hash) = 0;
  [[nodiscard]] virtual std::optional<login_code_row> login_code(std::string_view phone) = 0;
  /// A named server-wide secret (e.g. the key for hashing codes and tokens).
  [[nodiscard]] virtual std::optional<bytes> server_secret(std::string_view name) = 0;

  // -- contacts ------------------------------------------------------------------------
  /// `owner`'s contacts, by name (ASCII case-insensitive), then user id.
  [[nodiscard]] virtual std::vector<contact_row> contacts_of(id owner) = 0;
  [[nodiscard]] virtual std::optional<contact_row> contact(id owner, id contact_id) = 0;
  /// The users who have `user` as a contact (for presence).
  [[nodiscard]] virtual std::vector<id> contact_owners_of(id user) = 0;

  // -- conversations -------------------------------------------------------------------
  [[nodiscard]] virtual std::optional<id> direct_conversation(id first, id second) = 0;
  [[nodiscard]] virtual std::optional<conversation_row> conversation(id conversation_id) = 0;
  [[nodiscard]] virtual std::optional<member_row> membership(id conversation_id, id user_id) = 0;
  /// Member user ids, ascending.
  [[nodiscard]] virtual std::vector<id> member_ids(id conversation_id) = 0;
  /// Every member's row, longest-standing first (by from_seq, joined_at, user id).
  [[nodiscard]] virtual std::vector<member_row> members(id conversation_id) = 0;
  /// The distinct senders of the messages with `after` < id <= `up_to`, ascending.
  [[nodiscard]] virtual std::vector<id> senders_between(id conversation_id, id after,
                                                        id up_to) = 0;
  /// The conversation as `viewer` sees it in their list; nullopt when not a member.
  [[nodiscard]] virtual std::optional<conversation_summary> summary(id conversation_id,
                                                                    id viewer) = 0;
  /// Every member's view of the conversation at once (after a change to it), its members read
  /// once rather than once per member; viewers in member_ids' order. nullopt: no conversation.
  [[nodiscard]] virtual std::optional<member_views> views_of_members(id conversation_id) = 0;
  /// `viewer`'s conversations, most recent activity first. A direct conversation without
  /// messages is listed only to the member who opened it.
  [[nodiscard]] virtual std::vector<conversation_summary> conversations_of(id viewer) = 0;
  /// Where the log of each of `user`'s conversations is, by conversation id.
  [[nodiscard]] virtual std::vector<log_position> log_positions(id user) = 0;

  // -- messages (every row in its current state, quote and reactions filled) ---------------
  [[nodiscard]] virtual std::optional<message_row> message(id message_id) = 0;
  [[nodiscard]] virtual std::optional<message_row> message_by_client_id(id sender,
                                                                        std::string_view client_id) = 0;
  /// Where a page of history is: up to `limit` messages of a conversation with ids below
  /// `before` (all when nullopt) and seq above `from_seq`, newest first, each one's id, seq
  /// and updated_seq, from two indexes (no row is read; message() reads one).
  [[nodiscard]] virtual std::vector<message_position>
  page_positions(id conversation_id, std::optional<id> before, id from_seq, int limit) = 0;
  /// The message's updated_seq; nullopt when there is no such message.
  [[nodiscard]] virtual std::optional<id> updated_seq_of(id message_id) = 0;
  /// The seq of the conversation's latest change; nullopt when there is no such conversation.
  [[nodiscard]] virtual std::optional<id> last_seq_of(id conversation_id) = 0;
  /// Where the messages of a conversation whose latest change is after `after` are (new ones
  /// by seq, then changed ones by updated_seq): up to `limit` of each kind, from two indexes.
  [[nodiscard]] virtual std::vector<message_position>
  positions_changed_after(id conversation_id, id after, int limit) = 0;
  /// Up to `limit` messages of a conversation whose latest change is after `after` and that
  /// were sent after `from_seq`, by updated_seq.
  [[nodiscard]] virtual std::vector<message_row> changes_after(id conversation_id, id after,
                                                               id from_seq, int limit) = 0;

  // -- uploads ---------------------------------------------------------------------------
  [[nodiscard]] virtual std::optional<upload_row> upload(id upload_id) = 0;
  /// The upload if `viewer` may read it: its uploader; anyone, when it is someone's profile
  /// picture; a member who sees the message it is attached to (sent after they joined, not
  /// deleted). Otherwise nullopt, as for no upload at all.
  [[nodiscard]] virtual std::optional<upload_row> readable_upload(id upload_id, id viewer) = 0;
  /// Bytes `owner` uploaded on `day` (days since 1970-01-01 UTC), deleted ones included.
  [[nodiscard]] virtual std::int64_t bytes_uploaded_on(id owner, std::int64_t day) = 0;
  /// Bytes of `owner`'s uploads that are kept now.
  [[nodiscard]] virtual std::int64_t bytes_stored(id owner) = 0;

  // -- notifications (sql_push_impl.hpp) --
  /// Every subscription of every member of the conversation but `sender`, by user.
  [[nodiscard]] virtual std::vector<push_target> push_targets(id conversation_id, id sender) = 0;
};

class write_transaction : public read_transaction {
public:
  /// Inserts a user; throws when the phone is taken (callers look it up first).
  virtual user_row insert_user(std::string_view phone, std::string_view name, unix_ms now) = 0;
  virtual void update_user_name(id user_id, std::string_view name) = 0;

  virtual id insert_session(std::span<const unsigned char> token_hash, id user_id, unix_ms now) = 0;
  virtual void touch_session(id session_id, unix_ms now) = 0;
  virtual void revoke_session(id session_id, unix_ms now) = 0;

  /// Replaces any code for the same phone.
  virtual void put_login_code(const login_code_row& code) = 0;
  virtual void set_login_code_attempts(std::string_view phone, int attempts) = 0;
  virtual void delete_login_code(std::string_view phone) = 0;
  /// Deletes codes that expired before `now`; returns how many.
  virtual int delete_expired_login_codes(unix_ms now) = 0;

  virtual void put_server_secret(std::string_view name, std::span<const unsigned char> value) = 0;
  /// Stores `value` under `name` unless a secret is there already, and returns the one stored:
  /// nodes starting together on one database all end up with the same secret.
  virtual bytes keep_server_secret(std::string_view name, std::span<const unsigned char> value) = 0;

  virtual void insert_contact(id owner, id contact_id, std::string_view name, unix_ms now) = 0;
  /// False when there is no such contact.
  virtual bool update_contact_name(id owner, id contact_id, std::string_view name) = 0;
  virtual bool delete_contact(id owner, id contact_id) = 0;

  /// A new conversation with no members yet. `direct_pair`: the two members of a direct one.
  virtual conversation_row insert_conversation(conversation_kind kind,
                                               std::optional<std::string_view> title,
                                               std::optional<std::pair<id, id>> direct_pair,
                                               id created_by, unix_ms now) = 0;
  virtual void insert_member(id conversation_id, id user_id, unix_ms now, id from_seq = 0,
                             bool admin = false) = 0;
  virtual void delete_member(id conversation_id, id user_id) = 0;
  virtual void set_admin(id conversation_id, id user_id, bool admin) = 0;
  virtual void set_title(id conversation_id, std::string_view title) = 0;
  /// Removes every message of a conversation (a group whose last member left). The
  /// conversation row stays, so that its id is never reused.
  virtual void delete_messages(id conversation_id) = 0;

  /// Orders this transaction after every other one that changes the conversation, and those
  /// after it, until COMMIT: call it before checking who may change the conversation, so that
  /// the checks see every change committed before (a member removed on another node). The
  /// row lock that next_seq takes anyway, taken first. (SQLite's one writer orders everything.)
  virtual void lock_conversation(id conversation_id) = 0;
  /// Takes the conversation's next log position; `activity` (a new message's time) also
  /// raises its last_activity_at. The row update is also what orders the writers of one
  /// conversation: the change that takes seq N commits before the one taking N + 1, on every
  /// engine.
  virtual id next_seq(id conversation_id, std::optional<unix_ms> activity = std::nullopt) = 0;
  /// Stores a message at `seq` (from next_seq with its time). Throws on a duplicate
  /// (sender, client_id): callers look it up first.
  virtual message_row insert_message(id conversation_id, id sender_id, std::string_view body,
                                     unix_ms sent_at, std::string_view client_id, id seq,
                                     std::optional<id> reply_to = std::nullopt) = 0;
  /// next_seq with the message's time and insert_message at that seq, and the member list
  /// (who hears of it), in one call that waits for the engine once (a send's round trips are a
  /// PostgreSQL writer's limit). Nothing is stored, and nullopt comes back, when `sender_id` is
  /// not a member of the conversation or already sent `client_id`: the caller finds out which.
  /// A direct conversation's members are its pair (both join when it is made and none ever
  /// leaves), which an engine may answer without reading the member rows. The conversation's
  /// raised last seq may be written later in the transaction, as raise_read's mark may.
  virtual std::optional<appended_message>
  append_message(id conversation_id, id sender_id, std::string_view body, unix_ms sent_at,
                 std::string_view client_id, std::optional<id> reply_to = std::nullopt) = 0;
  /// Replaces the body, keeping the previous one as a version; edited_at = now.
  virtual void edit_message(id message_id, std::string_view body, unix_ms now, id seq) = 0;
  /// Makes the message a tombstone: body, earlier versions and reactions leave the disk.
  virtual void delete_message(id message_id, unix_ms now, id seq) = 0;
  /// Sets (or with nullopt removes) `user_id`'s reaction and moves the message to `seq`.
  virtual void set_reaction(id message_id, id user_id, std::optional<std::string_view> emoji,
                            id seq) = 0;
  /// Raises the member's read mark (and delivered mark) to `up_to`; true when read moved.
  /// Like every write of a member's row, it locks the conversation's row first
  /// (lock_conversation): member rows are only ever locked under their conversation's lock, so
  /// they add no lock order of their own.
  virtual bool advance_read(id conversation_id, id user_id, id up_to) = 0;
  /// advance_read for a caller who need not know whether it moved: the engine is not waited
  /// for (a failure surfaces later in the transaction, and fails it), and it may write the mark
  /// later in the transaction, before any other statement reads it (SQLite's writer holds a
  /// batch's raises: sql_transaction::hold_raises).
  virtual void raise_read(id conversation_id, id user_id, id up_to) = 0;
  /// Raises each member's delivered mark to its `up_to` (a mark never goes back; a user who is
  /// not a member has none) and returns the marks that moved, by conversation then user, each
  /// with its senders when `up_to - before <= scan_limit` (a longer range is left to the
  /// caller). The marks name distinct (conversation, user) pairs. On PostgreSQL this is one
  /// statement and one wait however many marks there are (a mark job's round trips were most of
  /// a PostgreSQL writer's time per message). The marks' conversations are locked first, in
  /// ascending id order (lock_order_conflict when the transaction holds a higher one already).
  virtual std::vector<delivered_mark_moved> advance_delivered(std::span<const delivered_mark> marks,
                                                              id scan_limit) = 0;

  // -- uploads ---------------------------------------------------------------------------
  /// Records that an upload is storing the blob `key` now: its row is created, or its
  /// stored_at refreshed, so that the collector leaves it alone for a while (see
  /// unreferenced_blobs).
  virtual void keep_blob(std::string_view key, std::int64_t size, unix_ms now) = 0;
  /// Stores an upload (its upload_id and message_id are ignored) and adds its size to what its
  /// owner uploaded on `day`; returns it with its id.
  virtual upload_row insert_upload(const upload_row& upload, std::int64_t day) = 0;
  /// Attaches `owner`'s uploads to a message, in this order, and records how many it carries.
  /// False when one of them is not theirs or is attached already: the caller then fails the
  /// job (throws), since some may have been attached.
  virtual bool attach_uploads(id message_id, id owner, std::span<const id> upload_ids) = 0;
  virtual void delete_upload(id upload_id) = 0;
  /// Sets (or with nullopt clears) a user's profile picture; returns the one it replaced.
  virtual std::optional<id> set_avatar(id user_id, std::optional<id> upload_id) = 0;
  /// Up to `limit` uploads attached to nothing, created before `before`, that are nobody's
  /// profile picture.
  virtual std::vector<id> stale_uploads(unix_ms before, int limit) = 0;
  /// Deletes up to `limit` blob rows that no upload refers to and that were last stored
  /// before `before`, and returns their keys. The rows stay locked until COMMIT, so a
  /// concurrent keep_blob of one of them waits: remove the bytes before committing.
  virtual std::vector<std::string> take_unreferenced_blobs(unix_ms before, int limit) = 0;

  // -- notifications (sql_push_impl.hpp) --
  /// Stores `endpoint` for `user`'s `session` (taken from whoever held it; its keys replaced):
  /// `existing` when this user held it already, `too_many` (nothing stored) when the user holds
  /// `limit` others.
  virtual subscription_outcome put_push_subscription(id user, id session, std::string_view endpoint,
                                                     std::span<const unsigned char> p256dh,
                                                     std::span<const unsigned char> auth,
                                                     unix_ms now, std::size_t limit) = 0;
  /// False when `user` holds no subscription with that endpoint.
  virtual bool delete_push_subscription(id user, std::string_view endpoint) = 0;
  /// The push service said it is gone (404/410).
  virtual void drop_push_subscription(id subscription_id) = 0;
  /// False when `user` is not a member. Locks the conversation first, as advance_read does.
  virtual bool set_muted(id conversation_id, id user, std::optional<unix_ms> until) = 0;
  virtual void set_notification_previews(id user, bool previews) = 0;
};

} // namespace parley::store

#pragma once
// The transaction interfaces over SQL, for both engines: `Connection` is sqlite::connection or
// postgres::connection, which offer the same statements (bind, step, integer, text …). The
// SQL is written once, in the dialect both understand; each engine compiles this class in
// its own translation unit (sqlite_transaction.cpp, postgres_transaction.cpp). Internal to
// the store.

#include "store/transaction.hpp"

#include <optional>
#include <unordered_map>
#include <vector>

namespace parley::store {

template <class Connection> class sql_transaction final : public write_transaction {
public:
  using query_type = typename Connection::statement_type;
  explicit sql_transaction(Connection& db) : db_(db) {}

  /// A new transaction began on the connection (the writer's): it holds no conversation's
  /// lock yet, and from now on locks must come in ascending id order (else lock_order_conflict).
  /// Without this call (autocommit, the tests' own transactions) the order is not checked.
  void transaction_started() { highest_locked_ = 0; }

  /// From now on, until write_held_raises() or drop_held_raises(), a send's raises of its
  /// conversation's last seq and of the sender's read mark are held and then written once per
  /// conversation and per member (SQLite's writer: a batch of sends writes each conversation's
  /// row and each sender's member row once instead of once a message). Any other statement of
  /// this transaction writes the held raises first, so every read sees them. Without this call
  /// each raise is written at once.
  void hold_raises() { holding_ = true; }
  /// Writes the held raises (before a commit or a savepoint's release) and stops holding.
  void write_held_raises();
  /// Forgets the held raises (their transaction or savepoint is being rolled back) and stops
  /// holding; forgets the next message id too (forget_message_id).
  void drop_held_raises() noexcept;
  /// SQLite: forgets the id the next message would take, so that the next insert finds it in
  /// the database again. The writer knows it from one batch to the next (the id after its last
  /// insert) and calls this when another connection may have inserted meanwhile or when what
  /// it inserted is rolled back.
  void forget_message_id() noexcept { next_message_id_.reset(); }

  std::optional<user_row> user_by_id(id user_id) override;
  std::optional<user_row> user_by_phone(std::string_view phone) override;
  std::optional<session_with_user>
  session_by_token_hash(std::span<const unsigned char> token_hash) override;
  std::optional<login_code_row> login_code(std::string_view phone) override;
  std::optional<bytes> server_secret(std::string_view name) override;

  user_row insert_user(std::string_view phone, std::string_view name, unix_ms now) override;
  void update_user_name(id user_id, std::string_view name) override;
  id insert_session(std::span<const unsigned char> token_hash, id user_id, unix_ms now) override;
  void touch_session(id session_id, unix_ms now) override;
  void revoke_session(id session_id, unix_ms now) override;
  void put_login_code(const login_code_row& code) override;
  void set_login_code_attempts(std::string_view phone, int attempts) override;
  void delete_login_code(std::string_view phone) override;
  int delete_expired_login_codes(unix_ms now) override;
  void put_server_secret(std::string_view name, std::span<const unsigned char> value) override;
  bytes keep_server_secret(std::string_view name, std::span<const unsigned char> value) override;

  std::vector<contact_row> contacts_of(id owner) override;
  std::optional<contact_row> contact(id owner, id contact_id) override;
  std::vector<id> contact_owners_of(id user) override;
  std::optional<id> direct_conversation(id first, id second) override;
  std::optional<conversation_row> conversation(id conversation_id) override;
  std::optional<member_row> membership(id conversation_id, id user_id) override;
  std::vector<id> member_ids(id conversation_id) override;
  std::vector<member_row> members(id conversation_id) override;
  std::vector<log_position> log_positions(id user) override;
  std::optional<message_row> message(id message_id) override;
  std::vector<id> senders_between(id conversation_id, id after, id up_to) override;
  std::optional<conversation_summary> summary(id conversation_id, id viewer) override;
  std::optional<member_views> views_of_members(id conversation_id) override;
  std::vector<conversation_summary> conversations_of(id viewer) override;
  std::optional<message_row> message_by_client_id(id sender, std::string_view client_id) override;
  std::vector<message_position> page_positions(id conversation_id, std::optional<id> before,
                                               id from_seq, int limit) override;
  std::optional<id> updated_seq_of(id message_id) override;
  std::optional<id> last_seq_of(id conversation_id) override;
  std::vector<message_position> positions_changed_after(id conversation_id, id after,
                                                        int limit) override;
  std::vector<message_row> changes_after(id conversation_id, id after, id from_seq,
                                         int limit) override;
  std::optional<upload_row> upload(id upload_id) override;
  std::optional<upload_row> readable_upload(id upload_id, id viewer) override;
  std::int64_t bytes_uploaded_on(id owner, std::int64_t day) override;
  std::int64_t bytes_stored(id owner) override;
  std::vector<push_target> push_targets(id conversation_id, id sender) override;

  void insert_contact(id owner, id contact_id, std::string_view name, unix_ms now) override;
  bool update_contact_name(id owner, id contact_id, std::string_view name) override;
  bool delete_contact(id owner, id contact_id) override;
  conversation_row insert_conversation(conversation_kind kind, std::optional<std::string_view> title,
                                       std::optional<std::pair<id, id>> direct_pair, id created_by,
                                       unix_ms now) override;
  void insert_member(id conversation_id, id user_id, unix_ms now, id from_seq = 0,
                     bool admin = false) override;
  void delete_member(id conversation_id, id user_id) override;
  void set_admin(id conversation_id, id user_id, bool admin) override;
  void set_title(id conversation_id, std::string_view title) override;
  void delete_messages(id conversation_id) override;
  void lock_conversation(id conversation_id) override;
  id next_seq(id conversation_id, std::optional<unix_ms> activity = std::nullopt) override;
  message_row insert_message(id conversation_id, id sender_id, std::string_view body,
                             unix_ms sent_at, std::string_view client_id, id seq,
                             std::optional<id> reply_to = std::nullopt) override;
  std::optional<appended_message>
  append_message(id conversation_id, id sender_id, std::string_view body, unix_ms sent_at,
                 std::string_view client_id, std::optional<id> reply_to = std::nullopt) override;
  void edit_message(id message_id, std::string_view body, unix_ms now, id seq) override;
  void delete_message(id message_id, unix_ms now, id seq) override;
  void set_reaction(id message_id, id user_id, std::optional<std::string_view> emoji,
                    id seq) override;
  bool advance_read(id conversation_id, id user_id, id up_to) override;
  void raise_read(id conversation_id, id user_id, id up_to) override;
  std::vector<delivered_mark_moved> advance_delivered(std::span<const delivered_mark> marks,
                                                      id scan_limit) override;

  void keep_blob(std::string_view key, std::int64_t size, unix_ms now) override;
  upload_row insert_upload(const upload_row& upload, std::int64_t day) override;
  bool attach_uploads(id message_id, id owner, std::span<const id> upload_ids) override;
  void delete_upload(id upload_id) override;
  std::optional<id> set_avatar(id user_id, std::optional<id> upload_id) override;
  std::vector<id> stale_uploads(unix_ms before, int limit) override;
  std::vector<std::string> take_unreferenced_blobs(unix_ms before, int limit) override;
  subscription_outcome put_push_subscription(id user, id session, std::string_view endpoint,
                                             std::span<const unsigned char> p256dh,
                                             std::span<const unsigned char> auth, unix_ms now,
                                             std::size_t limit) override;
  bool delete_push_subscription(id user, std::string_view endpoint) override;
  void drop_push_subscription(id subscription_id) override;
  bool set_muted(id conversation_id, id user, std::optional<unix_ms> until) override;
  void set_notification_previews(id user, bool previews) override;

private:
  /// The row of a message just inserted.
  message_row stored_message(id message_id, id conversation_id, id sender_id,
                             std::string_view body, unix_ms sent_at, std::string_view client_id,
                             id seq, std::optional<id> reply_to);
  /// What every member's summary of the conversation has: its members and last message.
  conversation_summary shared_summary(conversation_row conversation);
  /// What `viewer`'s summary has of its own, but muted_until (from their member row).
  viewer_part viewer_part_of(const conversation_summary& shared, id viewer, id last_read_id,
                             id from_seq);
  conversation_summary summarise(conversation_row conversation, id viewer, id last_read_id,
                                 id from_seq);
  /// Where a message of the conversation is in its log (nullopt: not one of its messages).
  std::optional<id> seq_of(id conversation_id, id message_id);
  /// The seq of the conversation's last message with an id up to `message_id` (0: none).
  id seq_up_to(id conversation_id, id message_id);
  /// The seq below which the conversation's messages have ids below `before`.
  id seq_bound(id conversation_id, id before);
  /// Fills the quote and the reactions of a message read from a row.
  void complete(message_row& message);
  /// Every row of a message query, completed.
  std::vector<message_row> completed(query_type& query);

  /// Takes note that the transaction locks `conversation_id`'s row; throws
  /// lock_order_conflict when it holds a higher one already (engines with row locks only).
  /// Returns false when that row is locked already.
  bool note_lock(id conversation_id);

  /// The connection's prepared `sql`, after writing any held raises (every statement but a
  /// send's own goes through here).
  query_type& cached(const char* sql) {
    if (!held_seqs_.empty() || !held_reads_.empty()) {
      write_held();
    }
    return db_.cached(sql);
  }
  /// Writes and forgets the held raises, holding on.
  void write_held();
  /// SQLite: the id the next message takes when the writer knows it (?8 of a new message's
  /// insert), and noting the one an insert took.
  [[nodiscard]] std::optional<id> known_message_id() const {
    return holding_ ? next_message_id_ : std::nullopt;
  }
  void message_id_taken(id taken) {
    if (holding_) {
      next_message_id_ = taken + 1;
    }
  }
  /// The one statement of each raise, written at once: by write_held, or by a send when
  /// nothing is held (raises are only held while holding_).
  void post_raise_seq(id conversation_id, id seq, unix_ms activity);
  void post_raise_read(id conversation_id, id user_id, id up_to);

  Connection& db_;
  /// The highest conversation whose row this transaction locked; nullopt: not checked.
  std::optional<id> highest_locked_;

  struct held_seq {
    id seq;
    unix_ms activity;
  };
  struct held_read {
    id conversation_id, user_id, up_to;
  };
  bool holding_ = false;
  /// SQLite, used while holding_: the id the next message takes, once an insert has found it
  /// (PARLEY_NEW_MESSAGE_ID reads the floor and the largest id). The writer's transaction holds
  /// the database's write lock, so no other connection inserts before it ends; it is kept
  /// from one commit to the next unless another connection wrote in between
  /// (sqlite_database::commit, by the data version), and forgotten at a rollback.
  std::optional<id> next_message_id_;
  /// Per conversation, its highest seq taken by a held send and that send's time.
  std::unordered_map<id, held_seq> held_seqs_;
  /// The read marks to raise, in the order asked (several per member are possible).
  std::vector<held_read> held_reads_;
};

} // namespace parley::store

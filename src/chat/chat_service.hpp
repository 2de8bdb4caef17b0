#pragma once
// Contacts, conversations and messages: the domain rules of the contract's chat sections,
// independent of HTTP and of packet shapes. Coroutines are awaited on an I/O thread; storage
// runs on the store's threads.
//
// Delivery order: a message is handed to the hub on the writer thread right after its
// COMMIT (see store::database::write), so every socket receives a conversation's messages in
// id order even when several members send at once; only then is the sender acknowledged.
// "The writer thread" here and in chat, push and the relay is whichever thread commits: the
// store's writer, or under a light load the I/O thread that asked for the write
// (store::database::write_here); one at a time, in commit order either way.
//
// Thread-safety: all members may be called concurrently from any I/O thread.

#include "auth/auth_service.hpp"
#include "bus/presence.hpp"
#include "chat/log_index.hpp"
#include "chat/message_texts.hpp"
#include "chat/rate.hpp"
#include "chat/relay.hpp"
#include "socketio/hub.hpp"
#include "store/database.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::chat {

enum class error_code {
  bad_request,
  not_found,
  body_too_long,
  rate_limited,
  invalid_phone,
  invalid_name,
  cannot_add_self,
  user_not_found,
  already_contact,
  not_a_contact,
  not_allowed,
};

/// The contract's snake_case name of `code`.
[[nodiscard]] std::string_view to_string(error_code code);

struct error {
  error_code code;
  std::string message; ///< A human sentence.
  std::optional<std::chrono::seconds> retry_after = std::nullopt; ///< For rate_limited.
};

template <class T> using result = std::expected<T, error>;

struct policy {
  std::string default_region = "US";
  std::size_t max_message_length = 4000; ///< Code points after trimming.
  double message_rate = 20;              ///< Per user per second; 0 = unlimited.
  double message_burst = 40;
  double typing_rate = 2; ///< typing events per user per second…
  double typing_burst = 10;
  std::size_t max_group_members = 100;           ///< Besides the creator.
  std::chrono::seconds edit_window{24 * 3600};   ///< After sent_at, for the sender.
  std::chrono::seconds delete_window{48 * 3600}; ///< After sent_at, for the sender.
  double edit_rate = 10;                         ///< Edits per user per second (0 = unlimited)…
  double edit_burst = 30;
  double delete_rate = 10;
  double delete_burst = 30;
  double reaction_rate = 10;
  double reaction_burst = 30;
  std::size_t max_client_id_length = 100;
  std::size_t max_attachments = 10; ///< Uploads per message.
  std::chrono::milliseconds delivery_ack_timeout{60'000};
  /// Messages kept as text (message_texts), and a quarter of it for where they are in their
  /// conversations' logs (log_index).
  std::size_t message_cache_bytes = 64 << 20;
};

/// Who is acting in real time: the user and the socket the request came from.
struct actor {
  store::id user_id = 0;
  std::shared_ptr<socketio::socket> socket;
};

struct send_request {
  std::optional<store::id> conversation_id;
  std::optional<store::id> to; ///< A user: their direct conversation (opened when needed).
  std::string body;
  std::string client_id;
  std::optional<store::id> reply_to;
  /// The sender's uploads to attach, in this order (distinct; at most policy::max_attachments).
  /// With at least one, the body may be empty.
  std::vector<store::id> attachments;
};

/// A sent message and its JSON (message_text): as its members were given it, rendered once for
/// them and the sender's answer; for a retry, the original as it is now.
struct sent_message {
  store::message_row message;
  std::string text;
};

/// How a send ended: its result, or (unexpected) the exception the store failed with, which
/// the API answers as an internal error.
using send_outcome = std::expected<result<sent_message>, std::exception_ptr>;
using send_handler = std::move_only_function<void(send_outcome)>;

/// A client's position in one conversation's log.
struct sync_cursor {
  store::id conversation_id = 0;
  store::id seq = 0;
};

/// The `sync` answer: one consistent snapshot (see API.md "Catching up").
struct sync_answer {
  std::vector<store::conversation_summary> conversations;
  std::vector<store::message_row> messages; ///< By (conversation_id, updated_seq).
  std::vector<store::id> left;
  bool has_more = false;
};

struct page {
  /// The answer's JSON, `{"messages":[…],"has_more":…}`: the messages (message_text) by
  /// ascending id. Written whole here, so that the API sends it without copying it again.
  std::string text;
};

/// A page of a conversation's history (`limit` messages before `before`, or the latest) as
/// `viewer` may see it: not_found unless they are a member; nothing from before they joined.
/// A read job of the store, which the API runs in the same read as its session check
/// (auth::auth_service::authenticate_and_read). With `texts`, the messages found there at
/// the version the store has are not read again, and those read are kept there.
struct history_read {
  store::id conversation = 0;
  std::optional<store::id> before;
  int limit = 50;
  message_texts* texts = nullptr;
  log_index* index = nullptr; ///< Where conversations' messages are, kept (log_index.hpp).
  [[nodiscard]] result<page> operator()(store::read_transaction& transaction,
                                        store::id viewer) const;
};

struct contact_view {
  store::contact_row contact;
  bool online = false;
};

struct opened_conversation {
  store::conversation_summary summary;
  bool created = false;
};

class chat_service {
public:
  /// Everything passed must outlive the service. With a `bus` (several nodes), changes also
  /// go to the other nodes and theirs come here; `executor` then runs the reads of what the bus
  /// lost (see relay.hpp).
  chat_service(policy rules, store::database& database, socketio::hub& hub,
               const parley::clock& clock, bus::transport* bus = nullptr,
               boost::asio::any_io_executor executor = {});
  /// Waits for the delivered marks' job under way, if any (it refers to the service).
  ~chat_service();
  chat_service(const chat_service&) = delete;
  chat_service& operator=(const chat_service&) = delete;

  // -- contacts -------------------------------------------------------------------------
  boost::asio::awaitable<std::vector<contact_view>> contacts(store::id owner);
  boost::asio::awaitable<result<contact_view>> add_contact(store::id owner, std::string phone,
                                                           std::optional<std::string> name);
  boost::asio::awaitable<result<contact_view>> rename_contact(store::id owner, store::id contact,
                                                              std::string name);
  boost::asio::awaitable<result<bool>> delete_contact(store::id owner, store::id contact);

  // -- conversations and history ----------------------------------------------------------
  boost::asio::awaitable<std::vector<store::conversation_summary>> conversations(store::id viewer);
  /// One other member: their direct conversation (created when new); more: a new group.
  boost::asio::awaitable<result<opened_conversation>>
  open_conversation(store::id caller, std::vector<store::id> members,
                    std::optional<std::string> title);

  // -- real time ----------------------------------------------------------------------------
  /// Stores the message (or finds the one with the same client_id) and delivers it, then
  /// calls `done` on the sending socket's executor (`from.socket` is required); a request
  /// refused before the store is answered at once, from within this call. A callback, not a
  /// coroutine: this is the message path (docs/performance.md, "A message under batching").
  void send(actor from, send_request request, send_handler done);
  /// Brings a client from its cursors to the present (`limit`: messages per answer).
  boost::asio::awaitable<sync_answer> sync(store::id user, std::vector<sync_cursor> cursors,
                                           int limit);

  // -- the conversation log: each change takes the conversation's next seq -------------------
  boost::asio::awaitable<result<store::message_row>> edit(actor editor, store::id message,
                                                          std::string body);
  /// Delete for everyone: the message becomes a tombstone.
  boost::asio::awaitable<result<store::message_row>> remove(actor remover, store::id message);
  /// Sets the caller's reaction, or removes it (nullopt).
  boost::asio::awaitable<result<store::message_row>> react(actor reactor, store::id message,
                                                           std::optional<std::string> emoji);

  // -- groups (REST: the actor has no socket, so every socket of theirs hears of it) ---------
  boost::asio::awaitable<result<store::conversation_summary>>
  rename_group(actor admin, store::id conversation, std::string title);
  boost::asio::awaitable<result<store::conversation_summary>>
  add_members(actor admin, store::id conversation, std::vector<store::id> users);
  /// An admin removing a member, or anyone leaving (user == the actor).
  boost::asio::awaitable<result<bool>> remove_member(actor who, store::id conversation,
                                                     store::id user);
  boost::asio::awaitable<result<store::conversation_summary>>
  set_admin(actor admin, store::id conversation, store::id user, bool admin_flag);
  boost::asio::awaitable<result<bool>> mark_read(actor reader, store::id conversation,
                                                 store::id up_to);
  boost::asio::awaitable<result<bool>> typing(actor typist, store::id conversation, bool typing);
  /// A member's client acknowledged a `message`. Marks are batched: one store job at a time
  /// writes every mark acknowledged since the previous one (the highest per member and
  /// conversation), so a burst of acks costs one job, and one `receipt` per mark that moved.
  /// An ack while a job is under way only records its mark; otherwise it submits the job. The
  /// job sends its receipts and submits its successor itself, on the store's writer thread:
  /// marks never wait for an I/O thread.
  void delivered(store::id user, store::id conversation, store::id message);
  /// A user's first socket on this node is about to join (before it is told it has connected):
  /// every change committed from now on reaches it live. Its own `sync` brings it up to now.
  boost::asio::awaitable<void> user_arriving(store::id user);
  /// A user's last socket on this node left: what this node kept of their conversations only
  /// for them is dropped (relay::user_departed). Never throws.
  boost::asio::awaitable<void> user_departed(store::id user);
  /// A user's first socket on this node connected / their last one left.
  boost::asio::awaitable<void> presence_changed(store::id user, bool online);
  /// A session was logged out: its sockets are disconnected, on every node.
  void session_revoked(store::id session);
  /// `user` stored a push subscription here: every node's push planner hears of it, through
  /// `hook` of observe_push_subscribers (this node's too).
  void push_subscribed(store::id user);
  /// See relay::on_push_subscriber.
  void observe_push_subscribers(std::function<void(std::optional<store::id>)> hook) {
    relay_.on_push_subscriber(std::move(hook));
  }
  /// With several nodes: who is online is asked of `cluster` (set before serving; see
  /// bus/presence.hpp), and presence changes only when a user comes to or leaves the cluster.
  void use_presence(bus::presence* cluster) { presence_ = cluster; }
  /// Tells the users' contact owners that they came online or went offline (on every node).
  boost::asio::awaitable<void> announce_presence(store::id user, bool online);
  /// A user's profile (name or picture) changed and is committed: `user:updated {"user"}`,
  /// their user object as stored now, goes to every socket of every user who has them as a
  /// contact or shares a conversation with them, and to their own sockets, on every node.
  /// Call it after the change's write has completed. Never throws for a storage failure (the
  /// change stands; the event is lost and logged), so a handler may await it after answering
  /// is decided.
  boost::asio::awaitable<void> profile_changed(store::id user);
  /// Deliveries to the sockets and between nodes.
  [[nodiscard]] chat::relay& relay() { return relay_; }

  /// Mutes the conversation's pushes for `user` until `until` (nullopt: unmuted); their view
  /// of it is returned (their other sockets see it at their next sync or list).
  boost::asio::awaitable<result<store::conversation_summary>>
  set_muted(store::id user, store::id conversation, std::optional<unix_ms> until);

  /// Called on the writer thread right after a new message committed (never for a retried
  /// send), with the members it went to: the push hook. Must not block. Set before serving.
  using message_observer =
      std::function<void(const store::message_row&, const std::vector<store::id>& members)>;
  void observe_new_messages(message_observer observer) { new_message_observer_ = std::move(observer); }

  /// Whether each user is online: on any node with several, else on this one.
  boost::asio::awaitable<std::vector<bool>> online(const std::vector<store::id>& users);
  /// Whether every one of `users` but `except` has a socket on this node (then they are
  /// online, whatever the other nodes say). Cheap, and safe on any thread.
  [[nodiscard]] bool all_connected_here(const std::vector<store::id>& users, store::id except) const {
    return hub_.all_online(users, except);
  }

  [[nodiscard]] const policy& rules() const { return rules_; }
  /// Messages kept as text for the readers of history (safe on any thread).
  [[nodiscard]] message_texts& texts() { return texts_; }
  /// Where conversations' messages are, for the same readers; nullptr when its share of the
  /// budget could not hold a few pages (every page would read positions only to drop them).
  [[nodiscard]] log_index* index() {
    return rules_.message_cache_bytes / 4 >= log_index::least_budget ? &index_ : nullptr;
  }
  [[nodiscard]] log_index::counts index_statistics() const { return index_.statistics(); }

  /// Called on the writer thread after a message's COMMIT: hands it to every socket of every
  /// member except the sending one, each asked for an ack (which marks it delivered).
  /// `text` is the message's JSON (message_text).
  void deliver(const store::message_row& message, std::string text,
               const std::vector<store::id>& members, const socketio::socket* except);

  /// What a committed change to a conversation tells whom (called on the writer thread, in
  /// commit order, so that no socket hears of a conversation after it left it).
  struct announcement {
    store::id seq = 0; ///< The change's place in the conversation's log.
    std::optional<store::message_row> updated; ///< `message:updated` to `members`.
    /// `conversation`: each viewer's own view of it, to that viewer's sockets.
    std::optional<store::member_views> views;
    std::vector<store::id> removed; ///< `conversation:left` (and the fence).
    std::vector<store::id> members;
    store::id conversation = 0;
  };
  void announce(const announcement& change, const socketio::socket* except);

private:

  policy rules_;
  store::database& database_;
  socketio::hub& hub_;
  const parley::clock& clock_;
  chat::relay relay_;
  bus::presence* presence_ = nullptr;
  message_observer new_message_observer_;
  token_buckets message_limits_;
  token_buckets typing_limits_;
  token_buckets edit_limits_;
  token_buckets delete_limits_;
  token_buckets reaction_limits_;
  message_texts texts_;
  log_index index_;

  struct mark_key {
    store::id user;
    store::id conversation;
    bool operator==(const mark_key&) const = default;
  };
  struct mark_key_hash {
    std::size_t operator()(const mark_key& key) const noexcept {
      return std::hash<store::id>()(key.user) * 31 + std::hash<store::id>()(key.conversation);
    }
  };
  std::mutex marks_mutex_;
  /// Delivered marks acknowledged and not yet taken by a job: the highest message per member
  /// and conversation. Guarded by marks_mutex_, like marks_job_running_.
  std::unordered_map<mark_key, store::id, mark_key_hash> pending_marks_;
  bool marks_job_running_ = false;
  std::condition_variable marks_idle_; ///< Told when marks_job_running_ turns false.
  /// The store job writing a batch of delivered marks (status.cpp).
  class marks_job;
  /// Submits a job for the pending delivered marks, or records that none runs when there are
  /// none. Called with marks_job_running_ set, by delivered() and by the previous job.
  void write_pending_marks();
};

/// Trims and checks a group title: valid UTF-8, no control characters, 1–100 characters.
[[nodiscard]] result<std::string> validate_title(std::string_view title);

} // namespace parley::chat

#pragma once
// Contacts, conversations and messages: the domain rules of the contract's chat sections,
// independent of HTTP and of packet shapes. Coroutines are awaited on an I/O thread; storage
// runs on the store's threads.
//
// Delivery order: a message is handed to the hub on the writer thread right after its
// COMMIT (see store::database::write), so every socket receives a conversation's messages in
// id order even when several members send at once; only then is the sender acknowledged.
//
// Thread-safety: all members may be called concurrently from any I/O thread.

#include "auth/auth_service.hpp"
#include "chat/rate.hpp"
#include "socketio/hub.hpp"
#include "store/database.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <expected>
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
  std::size_t max_group_members = 100; ///< Besides the creator.
  std::size_t max_client_id_length = 100;
  std::chrono::milliseconds delivery_ack_timeout{60'000};
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
};

struct page {
  std::vector<store::message_row> messages; ///< Ascending ids.
  bool has_more = false;
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
  /// Everything passed must outlive the service.
  chat_service(policy rules, store::database& database, socketio::hub& hub,
               const parley::clock& clock);

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
  boost::asio::awaitable<result<page>> history(store::id viewer, store::id conversation,
                                               std::optional<store::id> before, int limit);

  // -- real time ----------------------------------------------------------------------------
  /// Stores the message (or finds the one with the same client_id) and delivers it.
  boost::asio::awaitable<result<store::message_row>> send(actor from, send_request request);
  boost::asio::awaitable<page> sync(store::id user, store::id after, int limit);
  boost::asio::awaitable<result<bool>> mark_read(actor reader, store::id conversation,
                                                 store::id up_to);
  boost::asio::awaitable<result<bool>> typing(actor typist, store::id conversation, bool typing);
  /// A member's client acknowledged a `message`. Marks are batched: one store job at a time
  /// writes every mark acknowledged since the previous one (the highest per member and
  /// conversation), so a burst of acks costs one job, and one `receipt` per mark that moved.
  boost::asio::awaitable<void> delivered(store::id user, store::id conversation,
                                         store::id message);
  /// A user's first socket on this node connected / their last one left.
  boost::asio::awaitable<void> presence_changed(store::id user, bool online);

  [[nodiscard]] const policy& rules() const { return rules_; }

  /// Called on the writer thread after a message's COMMIT: hands it to every socket of every
  /// member except the sending one, each asked for an ack (which marks it delivered).
  void deliver(const store::message_row& message, const std::vector<store::id>& members,
               const socketio::socket* except);

private:
  policy rules_;
  store::database& database_;
  socketio::hub& hub_;
  const parley::clock& clock_;
  token_buckets message_limits_;
  token_buckets typing_limits_;

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
};

/// Trims and checks a group title: valid UTF-8, no control characters, 1–100 characters.
[[nodiscard]] result<std::string> validate_title(std::string_view title);

} // namespace parley::chat

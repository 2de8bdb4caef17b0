#pragma once
// Deliveries between the chat layer and the sockets, on one node or many.
//
// A `delivery` is what one committed change tells whom, rendered once as JSON text on the node
// that made it: a new message, a changed one, each member's view of the conversation, who was
// removed; or an event outside the log (a receipt, typing, presence, a logout). The relay
// applies it to this node's sockets through the hub and, with a bus, publishes it to the
// other nodes, which apply it to theirs.
//
// With a bus, log changes reach each node's sockets in seq order, with no seq skipped: every
// node keeps, per conversation, the last seq it delivered (for the conversations whose last
// change concerned someone here and that someone here is still in: a node forgets the others,
// which it would otherwise keep for every conversation of the cluster). A change that arrives
// after a gap (a publish lost while Redis was away, or overtaken by a later one from another
// node) waits while the node reads the conversation's current state after that seq from the
// database and delivers it (new messages as `message`, changed ones as `message:updated`, each
// local member's view as `conversation`); what then arrives late is dropped. Live events and
// `sync` carry the same current state, so a client that gets something twice converges (a read
// of what was missed may see this node's own commit before the writer hands it over, and then
// the socket that sent a message also gets it as an event, besides its ack). Without a bus (one
// node), the writer's commit order already is seq order and changes go straight out.
//
// Thread-safety: every member may be called from any thread.

#include "bus/bus.hpp"
#include "chat/json.hpp"
#include "socketio/hub.hpp"
#include "store/database.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace parley::chat {

struct delivery {
  store::id conversation = 0;
  store::id seq = 0; ///< Its place in the conversation's log; 0: not a log change.
  /// A new message (JSON text): `message` to `members`, each asked for an ack.
  std::string created;
  store::id message_id = 0;
  store::id sender = 0;
  /// A changed message (JSON text): `message:updated` to `members`.
  std::string updated;
  std::vector<store::id> members;
  /// `conversation`: each viewer's own view (render_views); it lets them back into the scope.
  /// With no `members`, each viewer's object is the whole one (from a node of an earlier build).
  rendered_views views;
  /// `conversation:left`, and nothing more of the conversation, to their sockets.
  std::vector<store::id> removed;
  /// An event outside the log: `event` with one argument (JSON text) to `users`.
  std::string event;
  std::string argument;
  std::vector<store::id> users;
  /// A session logged out: its sockets are disconnected on every node.
  store::id revoked_session = 0;
  /// A user stored a push subscription: every node's push planner hears of it.
  store::id push_subscriber = 0;
};

/// The delivery as one bus payload, and back (nullopt: not a valid payload).
[[nodiscard]] std::string encode(const delivery& change);
[[nodiscard]] std::optional<delivery> decode(std::string_view payload);

class relay {
public:
  /// A member's socket acknowledged `message` (on that socket's executor).
  using ack_handler =
      std::function<void(store::id user, store::id conversation, store::id message)>;
  struct counters {
    std::uint64_t published = 0; ///< Deliveries sent to the other nodes.
    std::uint64_t received = 0;  ///< Deliveries from the other nodes.
    std::uint64_t late = 0;      ///< Log changes dropped: already delivered.
    std::uint64_t gaps = 0;      ///< Reads of what was missed from the database.
    std::uint64_t resynchronisations = 0; ///< Checks of every conversation here (resynchronise).
    std::uint64_t tracked = 0; ///< Conversations whose last delivered seq is kept, now.
  };

  /// `bus` may be null (one node). `executor` runs the reads of what was missed and, with a bus,
  /// the sequencing of log changes: one thread, the one the bus calls received() on (the
  /// order of what this node's sockets get is the order of the posts made there).
  relay(store::database& database, socketio::hub& hub, std::chrono::milliseconds ack_timeout,
        ack_handler on_ack, bus::transport* bus, boost::asio::any_io_executor executor);

  /// A committed log change, on the writer thread in commit order: to this node's sockets in
  /// seq order (but `except`, the socket that made it), and to the other nodes. With a bus,
  /// that happens on `executor`'s thread, where everything else that is sequenced is too.
  void committed(delivery change, const socketio::socket* except);
  /// An event outside the log: here (but `except`) and on every other node.
  void broadcast(delivery event, const socketio::socket* except = nullptr);
  /// A user's first socket here, before it joins the hub: this node delivers their
  /// conversations' changes after what the database holds now (the client's own `sync`, which
  /// follows its connection, brings it that far). Done after the socket joined, this could
  /// read a change that was committed since it joined but had not come over the bus yet, and
  /// then drop that change as late: a connected socket would miss it. And a change committed
  /// before this read but published after it (a group just made on another node) is read
  /// again for the members already here, if nothing of its conversation went out here since.
  boost::asio::awaitable<void> user_arriving(store::id user);
  /// A user's last socket here is gone: the conversations of theirs that nobody here is in any
  /// more are forgotten now (else their marks stayed until each one's next change, which may
  /// never come), unless something of them waits or is being read. Logs `relay.departed`.
  boost::asio::awaitable<void> user_departed(store::id user);
  /// Told of each `push_subscriber` (from any node, this one included), and with nullopt
  /// whenever the bus may have lost words (resynchronise). May be set while the bus runs.
  void on_push_subscriber(std::function<void(std::optional<store::id>)> hook);
  /// A payload from another node (the bus's callback).
  void received(std::string_view payload);
  /// The bus (re)connected, or another node left the cluster (it may have died between a
  /// commit and its publish): every conversation of this node's users is checked against the
  /// database, and what was missed is delivered.
  void resynchronise();

  [[nodiscard]] counters stats() const;

private:
  struct pending {
    delivery change;
    const socketio::socket* except = nullptr;
  };
  struct track {
    store::id delivered = -1; ///< The last seq delivered here; -1: none yet.
    bool reading = false;     ///< A read of what was missed is under way.
    /// `delivered` is where the database was when a user arrived, and nothing has been applied
    /// here since: a change at or below it may be one that the members already here never got.
    bool from_arrival = false;
    /// Whether the last change applied here concerned someone with a socket here.
    bool here = true;
    std::map<store::id, pending> waiting; ///< Arrived after a gap, by seq.
  };

  /// On `executor_`: sequences, applies and publishes what committed() queued.
  void send_committed();
  /// Sequences a log change (mutex_ held).
  void accept(delivery change, const socketio::socket* except);
  /// Delivers what waits and follows on (mutex_ held).
  void release(track& state);
  /// Applies a log change of the conversation `state` tracks, noting whether it concerned
  /// anyone here (mutex_ held).
  void apply_tracked(track& state, const delivery& change, const socketio::socket* except);
  /// Forgets the conversation's track when nobody here was concerned by its last change and
  /// nothing of it waits or is being read (mutex_ held). Without this every node would keep a
  /// track for every conversation of the cluster. Forgotten is the same as never seen: the
  /// next change is applied as the first one here (nobody here can have missed one before
  /// it), and a user who arrives starts from where the database is (user_arriving).
  void forget_if_nobody_here(store::id conversation);
  /// Hands a delivery to this node's sockets (mutex_ held for log changes).
  void apply(const delivery& change, const socketio::socket* except);
  /// Starts reading the conversation's changes after `after` (mutex_ held).
  void read_missed(store::id conversation, store::id after);
  boost::asio::awaitable<void> fill(store::id conversation, store::id after);
  /// Compares where the conversations of `users` are with what was delivered here, and reads
  /// what was missed. A conversation this node has delivered nothing of starts at the present
  /// when `arriving` (the user's socket is about to join), else it is read from where the
  /// member's view of it starts.
  boost::asio::awaitable<void> catch_up(std::vector<store::id> users, bool arriving);
  /// Calls the on_push_subscriber hook, if one is set.
  void tell_push_subscriber(std::optional<store::id> user);
  /// Whether the conversation has a track (any thread).
  [[nodiscard]] bool tracks(store::id conversation) const;
  /// True when a socket here belongs to one of the delivery's people.
  [[nodiscard]] bool concerns_this_node(const delivery& change) const;

  store::database& database_;
  socketio::hub& hub_;
  std::chrono::milliseconds ack_timeout_;
  ack_handler on_ack_;
  std::mutex hook_mutex_;
  std::function<void(std::optional<store::id>)> on_push_subscriber_; // guarded by hook_mutex_
  bus::transport* bus_;
  boost::asio::any_io_executor executor_;

  mutable std::mutex mutex_;
  std::unordered_map<store::id, track> tracks_; // guarded by mutex_
  std::vector<pending> outbox_;                 // guarded by mutex_: committed, not yet sent
  counters counters_;                           // guarded by mutex_
};

} // namespace parley::chat

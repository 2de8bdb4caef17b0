#pragma once
// Who is connected where: the sockets of each user on this node (the `Hub` seam of the
// design). Delivery posts onto each socket's own executor, so a slow client never blocks
// the caller or the others; each Engine.IO session bounds its own outbound queue and is
// closed when that overflows. A later `bus` implementation (Redis) carries deliveries
// between nodes behind the same calls.
//
// Thread-safety: every member may be called from any thread.

#include "socketio/server.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace parley::socketio {

/// What an event is about, e.g. a conversation (0: nothing in particular). A socket shut out of
/// a scope (hub::close_scope) gets nothing tagged with it any more; `open` lets it in again
/// (a member added back).
struct scope {
  std::int64_t id = 0;
  bool open = false;
};

class hub {
public:
  using user_id = std::int64_t;
  using session_id = std::int64_t;

  /// Registers a connected socket. Returns true when it is the user's first socket here.
  bool add(user_id user, session_id session, const std::shared_ptr<socket>& client);
  /// Unregisters it. Returns true when it was the user's last socket here.
  bool remove(user_id user, const std::shared_ptr<socket>& client);

  /// Sends `event` to every socket of each of `users`, except `except` (the sending socket).
  void emit_to_users(const std::vector<user_id>& users, std::string event, const message& args,
                     const socket* except = nullptr, scope about = {});
  /// Sends `event` to every socket of each of `users` (but `except`) with one argument of that
  /// user's own: `argument(user, out)` appends its JSON text to `out`, on the socket's thread as
  /// the event goes out. An argument that is large and differs per user (a group's members with
  /// each member's own fields) is then not written for every user at once on the caller's thread.
  void emit_to_each(const std::vector<user_id>& users, std::string_view event,
                    std::function<void(user_id user, std::string& out)> argument,
                    const socket* except = nullptr, scope about = {});
  /// Like emit_to_users, asking each socket for an acknowledgement: `on_ack(user)` runs on
  /// that socket's executor (passed along) when it answers within `timeout`.
  void emit_to_users_with_ack(const std::vector<user_id>& users, std::string event,
                              const message& args, std::chrono::milliseconds timeout,
                              std::function<void(user_id user, const boost::asio::any_io_executor&)> on_ack,
                              const socket* except = nullptr, scope about = {});
  /// Shuts every socket of `users` out of `about` and sends them `event` as the last thing
  /// tagged with it: an event posted later with that scope is dropped on the socket's own
  /// executor, whichever thread it came from.
  void close_scope(const std::vector<user_id>& users, std::int64_t about, std::string event,
                   const message& args);
  /// Disconnects every socket opened with `session` (after logout).
  void disconnect_session(session_id session);

  [[nodiscard]] std::size_t socket_count() const;
  [[nodiscard]] std::size_t user_count() const;
  [[nodiscard]] bool is_online(user_id user) const;
  /// Whether every user of `users` but `except` has a socket here (one lock for all).
  [[nodiscard]] bool all_online(const std::vector<user_id>& users, user_id except) const;
  /// Whether any user of `users` has a socket here (one lock for all).
  [[nodiscard]] bool any_online(const std::vector<user_id>& users) const;
  /// The users with a socket here.
  [[nodiscard]] std::vector<user_id> users() const;

private:
  /// The live sockets of `users` (but `except`), with their user.
  [[nodiscard]] std::vector<std::pair<user_id, std::shared_ptr<socket>>>
  live_sockets(const std::vector<user_id>& users, const socket* except) const;

  struct entry {
    session_id session;
    std::weak_ptr<socket> client;
  };
  mutable std::mutex mutex_;
  std::unordered_map<user_id, std::vector<entry>> sockets_; // guarded by mutex_
  std::size_t socket_count_ = 0;                            // guarded by mutex_
};

} // namespace parley::socketio

#include "socketio/hub.hpp"

#include "common/post_batch.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

#include <algorithm>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace parley::socketio {

bool hub::add(user_id user, session_id session, const std::shared_ptr<socket>& client) {
  std::lock_guard lock(mutex_);
  auto& entries = sockets_[user];
  entries.push_back(entry{session, client});
  ++socket_count_;
  return entries.size() == 1;
}

bool hub::remove(user_id user, const std::shared_ptr<socket>& client) {
  std::lock_guard lock(mutex_);
  const auto found = sockets_.find(user);
  if (found == sockets_.end()) {
    return false;
  }
  auto& entries = found->second;
  const auto before = entries.size();
  std::erase_if(entries, [&](const entry& candidate) {
    const auto live = candidate.client.lock();
    return !live || live == client;
  });
  socket_count_ -= before - entries.size();
  if (entries.empty()) {
    sockets_.erase(found);
    return before > 0;
  }
  return false;
}

namespace {

// On the socket's executor: whether an event tagged `about` may go out.
bool admits(socket& target, const scope& about) {
  if (about.id == 0) {
    return true;
  }
  if (about.open) {
    target.open_scope(about.id);
    return true;
  }
  return !target.in_closed_scope(about.id);
}

using target_list = std::vector<std::pair<hub::user_id, std::shared_ptr<socket>>>;

// One hand-off per I/O thread, not one per socket: `deliver(user, socket)` runs for every
// target on its socket's executor, the targets of one executor in one posted handler, in
// their order (so each socket's events keep the order they were emitted in).
template <class Deliver> void post_per_executor(target_list targets, const Deliver& deliver) {
  std::vector<std::pair<boost::asio::any_io_executor, target_list>> groups;
  for (auto& target : targets) {
    const auto& executor = target.second->executor();
    auto group = std::ranges::find_if(groups, [&](const auto& g) { return g.first == executor; });
    if (group == groups.end()) {
      groups.emplace_back(executor, target_list{});
      group = std::prev(groups.end());
    }
    group->second.push_back(std::move(target));
  }
  for (auto& [executor, group] : groups) {
    common::post_batch::post(executor, [group = std::move(group), deliver] {
      for (const auto& [user, target] : group) {
        deliver(user, *target);
      }
    });
  }
}

} // namespace

std::vector<std::pair<hub::user_id, std::shared_ptr<socket>>>
hub::live_sockets(const std::vector<user_id>& users, const socket* except) const {
  std::vector<std::pair<user_id, std::shared_ptr<socket>>> targets;
  std::lock_guard lock(mutex_);
  for (const auto user : users) {
    if (const auto found = sockets_.find(user); found != sockets_.end()) {
      for (const auto& candidate : found->second) {
        if (auto live = candidate.client.lock(); live && live.get() != except) {
          targets.emplace_back(user, std::move(live));
        }
      }
    }
  }
  return targets;
}

void hub::close_scope(const std::vector<user_id>& users, std::int64_t about, std::string event,
                      const message& args) {
  const auto serialized = serialize_event(event, args);
  post_per_executor(live_sockets(users, nullptr), [serialized, about](user_id, socket& target) {
    if (!target.in_closed_scope(about)) {
      target.emit(serialized);
      target.close_scope(about);
    }
  });
}

void hub::emit_to_users(const std::vector<user_id>& users, std::string event, const message& args,
                        const socket* except, scope about) {
  auto targets = live_sockets(users, except);
  // Writes happen outside the lock, each on its socket's executor; the JSON is written once.
  if (!args.attachments.empty()) {
    post_per_executor(std::move(targets), [event, args, about](user_id, socket& target) {
      if (admits(target, about)) {
        target.emit(event, args);
      }
    });
    return;
  }
  const auto serialized = serialize_event(event, args);
  post_per_executor(std::move(targets), [serialized, about](user_id, socket& target) {
    if (admits(target, about)) {
      target.emit(serialized);
    }
  });
}

void hub::emit_to_each(const std::vector<user_id>& users, std::string_view event,
                       std::function<void(user_id user, std::string& out)> argument,
                       const socket* except, scope about) {
  const auto head = std::make_shared<const std::string>(
      "[" + boost::json::serialize(boost::json::string_view(event)) + ",");
  const auto write = std::make_shared<const decltype(argument)>(std::move(argument));
  post_per_executor(live_sockets(users, except), [head, write, about](user_id user,
                                                                      socket& target) {
    if (admits(target, about)) {
      auto text = std::make_shared<std::string>(*head);
      (*write)(user, *text);
      text->push_back(']');
      target.emit(serialized_event(std::move(text)));
    }
  });
}

void hub::emit_to_users_with_ack(const std::vector<user_id>& users, std::string event,
                                 const message& args, std::chrono::milliseconds timeout,
                                 std::function<void(user_id user, const boost::asio::any_io_executor&)> on_ack,
                                 const socket* except, scope about) {
  // The JSON is written once for every target (text arguments: the chat's messages).
  const auto serialized = args.attachments.empty() ? serialize_event(event, args) : nullptr;
  const auto shared_ack = std::make_shared<const decltype(on_ack)>(std::move(on_ack));
  auto deliver = [event, args = serialized ? message{} : args, serialized, timeout, shared_ack,
                  about](user_id user, socket& target) {
    if (!admits(target, about)) {
      return;
    }
    auto on_reply = [user, shared_ack,
                     executor = target.executor()](const std::optional<message>& reply) {
      if (reply && *shared_ack) {
        (*shared_ack)(user, executor);
      }
    };
    if (serialized) {
      target.emit_with_ack(serialized, timeout, std::move(on_reply));
    } else {
      target.emit_with_ack(event, args, timeout, std::move(on_reply));
    }
  };
  post_per_executor(live_sockets(users, except), deliver);
}

void hub::disconnect_session(session_id session) {
  std::vector<std::shared_ptr<socket>> targets;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [user, entries] : sockets_) {
      for (const auto& candidate : entries) {
        if (candidate.session == session) {
          if (auto live = candidate.client.lock()) {
            targets.push_back(std::move(live));
          }
        }
      }
    }
  }
  for (auto& target : targets) {
    auto leave = [target] { target->disconnect(); };
    common::post_batch::post(target->executor(), std::move(leave));
  }
}

std::size_t hub::socket_count() const {
  std::lock_guard lock(mutex_);
  return socket_count_;
}

std::size_t hub::user_count() const {
  std::lock_guard lock(mutex_);
  return sockets_.size();
}

std::vector<hub::user_id> hub::users() const {
  std::lock_guard lock(mutex_);
  std::vector<user_id> result;
  result.reserve(sockets_.size());
  for (const auto& [user, entries] : sockets_) {
    result.push_back(user);
  }
  return result;
}

bool hub::is_online(user_id user) const {
  std::lock_guard lock(mutex_);
  return sockets_.contains(user);
}

bool hub::any_online(const std::vector<user_id>& users) const {
  std::lock_guard lock(mutex_);
  return std::ranges::any_of(users, [&](user_id user) { return sockets_.contains(user); });
}

bool hub::all_online(const std::vector<user_id>& users, user_id except) const {
  std::lock_guard lock(mutex_);
  return std::ranges::all_of(
      users, [&](user_id user) { return user == except || sockets_.contains(user); });
}

} // namespace parley::socketio

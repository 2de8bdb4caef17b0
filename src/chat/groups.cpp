// Running a group (chat_service.hpp): rename, add and remove members, admins, leave. Each
// change takes the conversation's next seq; after COMMIT, on the writer thread, every member
// gets the `conversation` as they now see it and a removed member `conversation:left`, after
// which their sockets hear nothing more of it (hub::close_scope).
#include "chat/changes.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace parley::chat {
namespace {

using boost::asio::awaitable;
using store::id;

using detail::make_error;

// Who acts on which group, and the announcement made after COMMIT.
struct group_job {
  chat_service* service;
  id actor;
  id conversation;
  unix_ms now;
  mutable chat_service::announcement announced;

  [[nodiscard]] id conversation_hint() const { return conversation; }

  // The actor's membership of a group: not_found for non-members (existence is not leaked),
  // bad_request for a direct conversation, not_allowed when an admin is needed.
  result<store::member_row> check(store::write_transaction& transaction, bool admin_needed) const {
    announced = {}; // first in every change, which may run again (store::job::run_write)
    transaction.lock_conversation(conversation); // the checks see what other nodes committed
    auto member = transaction.membership(conversation, actor);
    const auto found = transaction.conversation(conversation);
    if (!member || !found) {
      return std::unexpected(make_error(error_code::not_found, "No such conversation."));
    }
    if (found->kind != store::conversation_kind::group) {
      return std::unexpected(
          make_error(error_code::bad_request, "A direct conversation has no members to manage."));
    }
    if (admin_needed && !member->admin) {
      return std::unexpected(make_error(error_code::not_allowed, "Only a group admin can do that."));
    }
    return std::move(*member);
  }

  // After a change: every member's view, and who must hear of it.
  void announce_to_members(store::write_transaction& transaction) const {
    announced = detail::to_every_member(transaction, conversation);
  }

  // REST: the actor has no socket of the request, so all their sockets hear of it.
  template <class Outcome> void committed(Outcome& outcome) const {
    if (outcome && announced.conversation != 0) {
      service->announce(announced, nullptr);
    }
  }
};

struct rename_job : group_job {
  std::string title;
  result<store::conversation_summary> operator()(store::write_transaction& transaction) const {
    if (auto member = check(transaction, true); !member) {
      return std::unexpected(std::move(member.error()));
    }
    if (transaction.conversation(conversation)->title != title) {
      transaction.next_seq(conversation);
      transaction.set_title(conversation, title);
      announce_to_members(transaction);
    }
    return *transaction.summary(conversation, actor);
  }
};

struct add_members_job : group_job {
  std::vector<id> users; // sorted, unique
  std::size_t max_members;
  result<store::conversation_summary> operator()(store::write_transaction& transaction) const {
    if (auto member = check(transaction, true); !member) {
      return std::unexpected(std::move(member.error()));
    }
    std::vector<id> joining;
    for (const auto user : users) {
      if (!transaction.user_by_id(user)) {
        return std::unexpected(
            make_error(error_code::user_not_found, fmt::format("There is no user {}.", user)));
      }
      if (!transaction.membership(conversation, user)) {
        joining.push_back(user);
      }
    }
    if (!joining.empty()) {
      if (transaction.member_ids(conversation).size() + joining.size() > max_members) {
        return std::unexpected(make_error(error_code::bad_request,
                                      fmt::format("A group has at most {} members.", max_members)));
      }
      // They see what follows their addition, not what came before.
      const id seq = transaction.next_seq(conversation);
      for (const auto user : joining) {
        transaction.insert_member(conversation, user, now, seq, false);
      }
      announce_to_members(transaction);
    }
    return *transaction.summary(conversation, actor);
  }
};

struct remove_member_job : group_job {
  id user;
  result<bool> operator()(store::write_transaction& transaction) const {
    auto member = check(transaction, user != actor);
    if (!member) {
      return std::unexpected(std::move(member.error()));
    }
    if (!transaction.membership(conversation, user)) {
      return std::unexpected(make_error(error_code::not_found, "That person is not a member."));
    }
    transaction.next_seq(conversation);
    transaction.delete_member(conversation, user);
    const auto remaining = transaction.members(conversation);
    if (remaining.empty()) {
      transaction.delete_messages(conversation); // the last one left: the group is gone
    } else if (std::ranges::none_of(remaining, &store::member_row::admin)) {
      // The last admin left: the longest-standing member takes over.
      transaction.set_admin(conversation, remaining.front().user_id, true);
    }
    announce_to_members(transaction);
    announced.removed = {user};
    return true;
  }
};

struct set_admin_job : group_job {
  id user;
  bool admin;
  result<store::conversation_summary> operator()(store::write_transaction& transaction) const {
    if (auto member = check(transaction, true); !member) {
      return std::unexpected(std::move(member.error()));
    }
    const auto target = transaction.membership(conversation, user);
    if (!target) {
      return std::unexpected(make_error(error_code::not_found, "That person is not a member."));
    }
    if (target->admin != admin) {
      if (!admin) {
        const auto members = transaction.members(conversation);
        if (std::ranges::count_if(members, &store::member_row::admin) == 1) {
          return std::unexpected(
              make_error(error_code::not_allowed,
                     "A group keeps at least one admin: make someone else admin first, or leave."));
        }
      }
      transaction.next_seq(conversation);
      transaction.set_admin(conversation, user, admin);
      announce_to_members(transaction);
    }
    return *transaction.summary(conversation, actor);
  }
};

} // namespace

awaitable<result<store::conversation_summary>>
chat_service::rename_group(actor admin, id conversation, std::string title) {
  auto valid = validate_title(title);
  if (!valid) {
    co_return std::unexpected(std::move(valid.error()));
  }
  rename_job job{{this, admin.user_id, conversation, clock_.now_ms(), {}}, std::move(*valid)};
  co_return co_await database_.write(std::move(job));
}

awaitable<result<store::conversation_summary>>
chat_service::add_members(actor admin, id conversation, std::vector<id> users) {
  std::ranges::sort(users);
  const auto [first, last] = std::ranges::unique(users);
  users.erase(first, last);
  // The creator plus max_group_members others (the limit of POST /conversations).
  const std::size_t max_members = rules_.max_group_members + 1;
  if (users.empty() || users.size() > max_members) {
    co_return std::unexpected(
        make_error(error_code::bad_request,
               fmt::format("Name 1 to {} people to add (a group has at most {} members).",
                           max_members, max_members)));
  }
  add_members_job job{
      {this, admin.user_id, conversation, clock_.now_ms(), {}}, std::move(users), max_members};
  co_return co_await database_.write(std::move(job));
}

awaitable<result<bool>> chat_service::remove_member(actor who, id conversation, id user) {
  remove_member_job job{{this, who.user_id, conversation, clock_.now_ms(), {}}, user};
  co_return co_await database_.write(std::move(job));
}

awaitable<result<store::conversation_summary>> chat_service::set_admin(actor admin, id conversation,
                                                                       id user, bool admin_flag) {
  set_admin_job job{{this, admin.user_id, conversation, clock_.now_ms(), {}}, user, admin_flag};
  co_return co_await database_.write(std::move(job));
}

} // namespace parley::chat

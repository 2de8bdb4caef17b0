#pragma once
// The summaries of sql_transaction: a conversation as one member sees it in their list, and as
// every member sees it at once after a change (the `conversation` event). Included by each
// engine's transaction translation unit. Internal to the store.

#include "store/chat_queries.hpp"
#include "store/sql_chat_impl.hpp"
#include "store/sql_rows.hpp"
#include "store/sql_transaction.hpp"

#include <algorithm>
#include <tuple>

namespace parley::store {

template <class Connection>
conversation_summary sql_transaction<Connection>::shared_summary(conversation_row conversation) {
  conversation_summary result;
  auto& statement = cached(chat_sql::members);
  statement.bind(1, conversation.conversation_id);
  result.members = all_rows(statement, [](const auto& row) {
    constexpr int next = sql_rows::user_columns;
    return member_view{read_user(row), row.integer(next) != 0, row.integer(next + 1),
                       row.integer(next + 2)};
  });
  if (conversation.last_message_id) {
    result.last_message = message(*conversation.last_message_id);
  }
  result.conversation = std::move(conversation);
  return result;
}

template <class Connection>
viewer_part sql_transaction<Connection>::viewer_part_of(const conversation_summary& shared,
                                                        id viewer, id last_read_id, id from_seq) {
  viewer_part part;
  part.viewer = viewer;
  const auto& conversation = shared.conversation;
  if (conversation.last_message_id) {
    // One from before the viewer joined is not theirs to see.
    part.sees_last_message = !shared.last_message || shared.last_message->seq > from_seq;
    auto& unread = cached(chat_sql::unread_count);
    unread.bind(1, conversation.conversation_id)
        .bind(2, std::max(from_seq, seq_up_to(conversation.conversation_id, last_read_id)))
        .bind(3, viewer);
    part.unread_count =
        single_row(unread, [](const auto& row) { return row.integer(0); }).value_or(0);
  }
  if (conversation.kind == conversation_kind::direct) {
    for (const auto& member : shared.members) {
      if (member.user.user_id != viewer) {
        auto& statement = cached(chat_sql::nickname);
        statement.bind(1, viewer).bind(2, member.user.user_id);
        part.nickname = single_row(statement, [](const auto& row) { return row.text(0); });
      }
    }
  }
  return part;
}

template <class Connection>
conversation_summary sql_transaction<Connection>::summarise(conversation_row conversation, id viewer,
                                                         id last_read_id, id from_seq) {
  auto shared = shared_summary(std::move(conversation));
  const auto part = viewer_part_of(shared, viewer, last_read_id, from_seq);
  return viewing(std::move(shared), part);
}

template <class Connection>
std::optional<member_views> sql_transaction<Connection>::views_of_members(id conversation_id) {
  auto found = conversation(conversation_id);
  if (!found) {
    return std::nullopt;
  }
  auto rows = members(conversation_id);
  std::ranges::sort(rows, {}, &member_row::user_id);
  member_views result;
  result.shared = shared_summary(std::move(*found));
  result.viewers.reserve(rows.size());
  for (const auto& member : rows) {
    auto part = viewer_part_of(result.shared, member.user_id, member.last_read_id, member.from_seq);
    part.muted_until = member.muted_until;
    result.viewers.push_back(std::move(part));
  }
  return result;
}

template <class Connection>
std::optional<conversation_summary> sql_transaction<Connection>::summary(id conversation_id,
                                                                      id viewer) {
  const auto member = membership(conversation_id, viewer);
  if (!member) {
    return std::nullopt;
  }
  auto found = conversation(conversation_id);
  if (!found) {
    return std::nullopt;
  }
  auto result = summarise(std::move(*found), viewer, member->last_read_id, member->from_seq);
  result.muted_until = member->muted_until;
  return result;
}

template <class Connection>
std::vector<conversation_summary> sql_transaction<Connection>::conversations_of(id viewer) {
  auto& statement = cached(chat_sql::conversations_of);
  statement.bind(1, viewer);
  // Collect first: summarise() runs other cached statements.
  auto rows = all_rows(statement, [](const auto& row) {
    return std::tuple{read_conversation(row), row.integer(8), row.integer(9),
                      row.optional_integer(10)};
  });
  std::vector<conversation_summary> result;
  result.reserve(rows.size());
  for (auto& [conversation, last_read_id, from_seq, muted_until] : rows) {
    result.push_back(summarise(std::move(conversation), viewer, last_read_id, from_seq));
    result.back().muted_until = muted_until;
  }
  return result;
}

} // namespace parley::store

#pragma once
// The chat half of sql_transaction: contacts, conversations, members, reading messages and read
// marks (the message writes are in sql_message_impl.hpp, the summaries in
// sql_summary_impl.hpp). Included by each engine's transaction translation unit. Internal to
// the store.

#include "store/chat_queries.hpp"
#include "store/sql_rows.hpp"
#include "store/sql_transaction.hpp"
#include "store/sql_upload_impl.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <ranges>
#include <stdexcept>
#include <tuple>

namespace parley::store {
namespace sql_chat {

inline constexpr auto read_contact = [](const auto& row) -> contact_row {
  constexpr int next = sql_rows::user_columns;
  return contact_row{sql_rows::read_user(row), row.text(next), row.optional_integer(next + 1),
                     row.integer(next + 2)};
};

inline constexpr auto read_message = [](const auto& row) -> message_row {
  message_row message;
  message.message_id = row.integer(0);
  message.conversation_id = row.integer(1);
  message.sender_id = row.integer(2);
  message.body = row.text(3);
  message.sent_at = row.integer(4);
  message.client_id = row.text(5);
  message.seq = row.integer(6);
  message.updated_seq = row.integer(7);
  message.edited_at = row.optional_integer(8);
  message.deleted_at = row.optional_integer(9);
  message.reply_to_id = row.optional_integer(10);
  message.attachment_count = static_cast<int>(row.integer(11));
  return message;
};

inline constexpr auto read_member = [](const auto& row) -> member_row {
  return member_row{row.integer(0),      row.integer(1), row.integer(2), row.integer(3),
                    row.integer(4) != 0, row.integer(5), row.integer(6),
                    row.optional_integer(7)};
};

inline conversation_kind kind_from(std::string_view text) {
  if (text == "direct") {
    return conversation_kind::direct;
  }
  if (text == "group") {
    return conversation_kind::group;
  }
  throw std::runtime_error("unknown conversation kind in the database");
}

inline constexpr auto read_conversation = [](const auto& row) -> conversation_row {
  conversation_row conversation;
  conversation.conversation_id = row.integer(0);
  conversation.kind = kind_from(row.text(1));
  if (!row.is_null(2)) {
    conversation.title = row.text(2);
  }
  conversation.created_by = row.integer(3);
  conversation.created_at = row.integer(4);
  conversation.last_message_id = row.optional_integer(5);
  conversation.last_activity_at = row.integer(6);
  conversation.last_seq = row.integer(7);
  return conversation;
};

} // namespace sql_chat

using sql_chat::read_contact;
using sql_chat::read_conversation;
using sql_chat::read_member;
using sql_chat::read_message;
using sql_rows::all_rows;
using sql_rows::read_user;
using sql_rows::returned_integer;
using sql_rows::single_row;

template <class Connection>
std::vector<contact_row> sql_transaction<Connection>::contacts_of(id owner) {
  auto& statement = cached(chat_sql::contacts_of);
  statement.bind(1, owner);
  return all_rows(statement, read_contact);
}

template <class Connection>
std::optional<contact_row> sql_transaction<Connection>::contact(id owner, id contact_id) {
  auto& statement = cached(chat_sql::contact);
  statement.bind(1, owner).bind(2, contact_id);
  return single_row(statement, read_contact);
}

template <class Connection>
std::vector<id> sql_transaction<Connection>::contact_owners_of(id user) {
  auto& statement = cached(chat_sql::contact_owners_of);
  statement.bind(1, user);
  return all_rows(statement, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
std::optional<id> sql_transaction<Connection>::direct_conversation(id first, id second) {
  auto& statement = cached(chat_sql::direct_conversation);
  statement.bind(1, std::min(first, second)).bind(2, std::max(first, second));
  return single_row(statement, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
std::optional<conversation_row> sql_transaction<Connection>::conversation(id conversation_id) {
  auto& statement = cached(chat_sql::conversation);
  statement.bind(1, conversation_id);
  return single_row(statement, read_conversation);
}

template <class Connection>
std::optional<member_row> sql_transaction<Connection>::membership(id conversation_id, id user_id) {
  auto& statement = cached(chat_sql::membership);
  statement.bind(1, conversation_id).bind(2, user_id);
  return single_row(statement, read_member);
}

template <class Connection>
std::vector<member_row> sql_transaction<Connection>::members(id conversation_id) {
  auto& statement = cached(chat_sql::member_rows);
  statement.bind(1, conversation_id);
  return all_rows(statement, read_member);
}

template <class Connection>
std::vector<log_position> sql_transaction<Connection>::log_positions(id user) {
  auto& statement = cached(chat_sql::log_positions);
  statement.bind(1, user);
  return all_rows(statement, [](const auto& row) {
    return log_position{row.integer(0), row.integer(1), row.integer(2)};
  });
}

template <class Connection>
void sql_transaction<Connection>::complete(message_row& message) {
  if (message.reply_to_id) {
    auto& statement = cached(chat_sql::quote);
    statement.bind(1, *message.reply_to_id);
    message.reply_to = single_row(statement, [](const auto& row) {
      return quote_row{row.integer(0), row.integer(1), row.text(2), row.integer(3) != 0,
                       row.integer(4)};
    });
  }
  if (message.attachment_count > 0 && !message.deleted()) {
    auto& statement = cached(upload_sql::attachments);
    statement.bind(1, message.message_id);
    message.attachments = all_rows(statement, sql_upload::read_upload);
  }
  if (message.deleted() || message.updated_seq == message.seq) {
    return; // a reaction moves updated_seq: a message never changed has none
  }
  auto& statement = cached(chat_sql::reactions);
  statement.bind(1, message.message_id);
  while (statement.step()) {
    auto emoji = statement.text(0);
    const auto user = statement.integer(1);
    auto same = std::ranges::find(message.reactions, emoji, &reaction_row::emoji);
    if (same == message.reactions.end()) {
      message.reactions.push_back(reaction_row{std::move(emoji), {user}});
    } else {
      same->user_ids.push_back(user);
    }
  }
  statement.reset();
}

template <class Connection>
std::vector<message_row> sql_transaction<Connection>::completed(query_type& query) {
  // Collect first: complete() runs other cached statements.
  auto rows = all_rows(query, read_message);
  for (auto& row : rows) {
    complete(row);
  }
  return rows;
}

template <class Connection>
std::optional<message_row> sql_transaction<Connection>::message(id message_id) {
  auto& statement = cached(chat_sql::message_by_id);
  statement.bind(1, message_id);
  auto found = single_row(statement, read_message);
  if (found) {
    complete(*found);
  }
  return found;
}

template <class Connection>
std::vector<id> sql_transaction<Connection>::member_ids(id conversation_id) {
  // Who is a member does not depend on the raises held (hold_raises): they stay held.
  auto& statement = db_.cached(chat_sql::member_ids);
  statement.bind(1, conversation_id);
  return all_rows(statement, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
std::vector<id> sql_transaction<Connection>::senders_between(id conversation_id, id after, id up_to) {
  const auto sender = [](const auto& row) { return row.integer(0); };
  auto& messages = cached(chat_sql::senders_between_messages);
  messages.bind(1, conversation_id).bind(2, after).bind(3, up_to);
  auto senders = all_rows(messages, sender);
  if (senders.empty() && after < up_to) {
    // A bound that is not one of the conversation's messages (or nothing in between): the
    // bounds' seqs first.
    auto& statement = cached(chat_sql::senders_between);
    statement.bind(1, conversation_id)
        .bind(2, seq_up_to(conversation_id, after))
        .bind(3, seq_up_to(conversation_id, up_to));
    senders = all_rows(statement, sender);
  }
  std::ranges::sort(senders);
  const auto [first, last] = std::ranges::unique(senders);
  senders.erase(first, last);
  return senders;
}

template <class Connection>
std::optional<message_row>
sql_transaction<Connection>::message_by_client_id(id sender, std::string_view client_id) {
  auto& statement = cached(chat_sql::message_by_client_id);
  statement.bind(1, sender).bind(2, client_id);
  auto found = single_row(statement, read_message);
  if (found) {
    complete(*found);
  }
  return found;
}

template <class Connection>
std::optional<id> sql_transaction<Connection>::seq_of(id conversation_id, id message_id) {
  auto& lookup = cached(chat_sql::seq_of_message);
  lookup.bind(1, conversation_id).bind(2, message_id);
  return single_row(lookup, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
id sql_transaction<Connection>::seq_up_to(id conversation_id, id message_id) {
  if (message_id <= 0) {
    return 0;
  }
  if (const auto seq = seq_of(conversation_id, message_id)) {
    return *seq; // the usual case: a mark or a page bound is one of its messages
  }
  // An id that is not one of this conversation's messages: binary search for the last
  // message at or below it (ids grow with seq), a few index seeks.
  auto& at_or_below = cached(chat_sql::message_at_or_below);
  id low = 0;
  id high = conversation(conversation_id).value_or(conversation_row{}).last_seq;
  id found = 0;
  while (low <= high) {
    const id middle = low + (high - low) / 2;
    at_or_below.bind(1, conversation_id).bind(2, middle);
    const auto probe = single_row(at_or_below, [](const auto& row) {
      return std::pair{row.integer(0), row.integer(1)};
    });
    if (!probe) {
      low = middle + 1; // every message is above `middle`
    } else if (probe->second <= message_id) {
      found = probe->first;
      low = middle + 1;
    } else {
      high = probe->first - 1;
    }
  }
  return found;
}

template <class Connection>
id sql_transaction<Connection>::seq_bound(id conversation_id, id before) {
  if (const auto seq = seq_of(conversation_id, before)) {
    return *seq;
  }
  return seq_up_to(conversation_id, before - 1) + 1;
}

template <class Connection>
std::vector<message_row> sql_transaction<Connection>::changes_after(id conversation_id, id after,
                                                                 id from_seq, int limit) {
  auto& statement = cached(chat_sql::changes_after);
  statement.bind(1, conversation_id).bind(2, after).bind(3, from_seq).bind(4, std::int64_t{limit});
  return completed(statement);
}

template <class Connection>
void sql_transaction<Connection>::insert_contact(id owner, id contact_id, std::string_view name,
                                              unix_ms now) {
  cached(chat_sql::insert_contact)
      .bind(1, owner)
      .bind(2, contact_id)
      .bind(3, name)
      .bind(4, now)
      .run();
}

template <class Connection>
bool sql_transaction<Connection>::update_contact_name(id owner, id contact_id, std::string_view name) {
  cached(chat_sql::update_contact_name).bind(1, owner).bind(2, contact_id).bind(3, name).run();
  return db_.changes() > 0;
}

template <class Connection>
bool sql_transaction<Connection>::delete_contact(id owner, id contact_id) {
  cached(chat_sql::delete_contact).bind(1, owner).bind(2, contact_id).run();
  return db_.changes() > 0;
}

template <class Connection>
conversation_row sql_transaction<Connection>::insert_conversation(
    conversation_kind kind, std::optional<std::string_view> title,
    std::optional<std::pair<id, id>> direct_pair, id created_by, unix_ms now) {
  auto& statement = cached(chat_sql::insert_conversation);
  statement.bind(1, kind == conversation_kind::direct ? "direct" : "group");
  statement.bind(2, title);
  if (direct_pair) {
    statement.bind(3, std::min(direct_pair->first, direct_pair->second))
        .bind(4, std::max(direct_pair->first, direct_pair->second));
  } else {
    statement.bind_null(3).bind_null(4);
  }
  statement.bind(5, created_by).bind(6, now);
  conversation_row row;
  row.conversation_id = returned_integer(statement);
  row.kind = kind;
  if (title) {
    row.title = std::string(*title);
  }
  row.created_by = created_by;
  row.created_at = now;
  row.last_activity_at = now;
  return row;
}

template <class Connection>
void sql_transaction<Connection>::insert_member(id conversation_id, id user_id, unix_ms now,
                                             id from_seq, bool admin) {
  cached(chat_sql::insert_member)
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, now)
      .bind(4, from_seq)
      .bind(5, std::int64_t{admin ? 1 : 0})
      .run();
}

template <class Connection>
void sql_transaction<Connection>::delete_member(id conversation_id, id user_id) {
  cached(chat_sql::delete_member).bind(1, conversation_id).bind(2, user_id).run();
}

template <class Connection>
void sql_transaction<Connection>::set_admin(id conversation_id, id user_id, bool admin) {
  cached(chat_sql::set_admin)
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, std::int64_t{admin ? 1 : 0})
      .run();
}

template <class Connection>
void sql_transaction<Connection>::set_title(id conversation_id, std::string_view title) {
  cached(chat_sql::set_title).bind(1, conversation_id).bind(2, title).run();
}

template <class Connection>
void sql_transaction<Connection>::delete_messages(id conversation_id) {
  cached(chat_sql::delete_messages).bind(1, conversation_id).run();
}

template <class Connection>
bool sql_transaction<Connection>::advance_read(id conversation_id, id user_id, id up_to) {
  lock_conversation(conversation_id); // member rows only under their conversation's lock
  cached(chat_sql::advance_read).bind(1, conversation_id).bind(2, user_id).bind(3, up_to).run();
  return db_.changes() > 0;
}

template <class Connection>
void sql_transaction<Connection>::raise_read(id conversation_id, id user_id, id up_to) {
  if (holding_) {
    held_reads_.push_back({conversation_id, user_id, up_to});
    return;
  }
  post_raise_read(conversation_id, user_id, up_to);
}

template <class Connection>
std::vector<delivered_mark_moved>
sql_transaction<Connection>::advance_delivered(std::span<const delivered_mark> marks,
                                               id scan_limit) {
  std::vector<delivered_mark_moved> moved;
  if constexpr (Connection::array_parameters) {
    if (marks.empty()) {
      return moved;
    }
    // A PostgreSQL array literal of ids ({1,2,3}); `ids` is not empty.
    const auto array_of = [](const auto& ids) {
      std::string out = "{";
      for (const id value : ids) {
        out += std::to_string(value);
        out += ',';
      }
      out.back() = '}';
      return out;
    };
    const auto array = [&](id delivered_mark::*field) {
      return array_of(marks | std::views::transform(field));
    };
    if constexpr (Connection::row_locks) {
      // The marks' conversations first, in ascending order (member rows are only ever locked
      // under their conversation's lock), but for those this transaction holds already.
      std::vector<id> ids;
      ids.reserve(marks.size());
      for (const auto& mark : marks) {
        ids.push_back(mark.conversation_id);
      }
      std::ranges::sort(ids);
      const auto [first, last] = std::ranges::unique(ids);
      ids.erase(first, last);
      std::vector<id> to_lock; // note_lock in ascending order: it throws on a step down
      for (const id conversation : ids) {
        if (note_lock(conversation)) {
          to_lock.push_back(conversation);
        }
      }
      if (!to_lock.empty()) {
        cached(chat_sql::lock_conversations).bind(1, array_of(to_lock)).post();
      }
    }
    auto& statement = cached(chat_sql::advance_delivered_marks);
    statement.bind(1, array(&delivered_mark::conversation_id))
        .bind(2, array(&delivered_mark::user_id))
        .bind(3, array(&delivered_mark::up_to))
        .bind(4, scan_limit);
    std::vector<std::size_t> inexact; // within the limit, but a bound is not a message of it
    while (statement.step()) {
      const id conversation_id = statement.integer(0);
      const id user_id = statement.integer(1);
      if (moved.empty() || moved.back().conversation_id != conversation_id ||
          moved.back().user_id != user_id) {
        auto& mark = moved.emplace_back(conversation_id, user_id, statement.integer(2));
        if (statement.integer(3) != 0) {
          mark.senders.emplace();
          if (statement.integer(4) == 0) {
            inexact.push_back(moved.size() - 1);
          }
        }
      }
      if (const auto sender = statement.optional_integer(5); sender && moved.back().senders) {
        moved.back().senders->push_back(*sender);
      }
    }
    statement.reset();
    for (const auto index : inexact) {
      auto& mark = moved[index];
      const auto wanted = std::ranges::find_if(marks, [&](const delivered_mark& candidate) {
        return candidate.conversation_id == mark.conversation_id &&
               candidate.user_id == mark.user_id;
      });
      mark.senders = senders_between(mark.conversation_id, mark.before, wanted->up_to);
    }
  } else {
    // A mark at a time: here each statement is a library call, not a round trip. Marks that
    // move over the same range of the same conversation (a group's members acknowledging the
    // same message) have the same senders, read once.
    std::map<std::tuple<id, id, id>, std::vector<id>> senders_of_range;
    for (const auto& mark : marks) {
      const auto member = membership(mark.conversation_id, mark.user_id);
      if (!member || member->last_delivered_id >= mark.up_to) {
        continue;
      }
      cached(chat_sql::advance_delivered)
          .bind(1, mark.conversation_id)
          .bind(2, mark.user_id)
          .bind(3, mark.up_to)
          .run();
      if (db_.changes() == 0) {
        continue;
      }
      auto& out = moved.emplace_back(mark.conversation_id, mark.user_id, member->last_delivered_id);
      if (mark.up_to - out.before <= scan_limit) {
        const auto range = std::tuple{mark.conversation_id, out.before, mark.up_to};
        auto found = senders_of_range.find(range);
        if (found == senders_of_range.end()) {
          found = senders_of_range
                      .emplace(range, senders_between(mark.conversation_id, out.before, mark.up_to))
                      .first;
        }
        out.senders = found->second;
      }
    }
    std::ranges::sort(moved, {}, [](const delivered_mark_moved& mark) {
      return std::pair{mark.conversation_id, mark.user_id};
    });
  }
  return moved;
}

} // namespace parley::store

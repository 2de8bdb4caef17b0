#pragma once
// The chat half of sql_transaction: contacts, conversations, members, messages. Included by
// each engine's transaction translation unit. Internal to the store.

#include "store/chat_queries.hpp"
#include "store/errors.hpp"
#include "store/sql_rows.hpp"
#include "store/sql_transaction.hpp"
#include "store/sql_upload_impl.hpp"

#include <algorithm>
#include <limits>
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
                    row.integer(4) != 0, row.integer(5), row.integer(6)};
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
  auto& statement = db_.cached(chat_sql::contacts_of);
  statement.bind(1, owner);
  return all_rows(statement, read_contact);
}

template <class Connection>
std::optional<contact_row> sql_transaction<Connection>::contact(id owner, id contact_id) {
  auto& statement = db_.cached(chat_sql::contact);
  statement.bind(1, owner).bind(2, contact_id);
  return single_row(statement, read_contact);
}

template <class Connection>
std::vector<id> sql_transaction<Connection>::contact_owners_of(id user) {
  auto& statement = db_.cached(chat_sql::contact_owners_of);
  statement.bind(1, user);
  return all_rows(statement, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
std::optional<id> sql_transaction<Connection>::direct_conversation(id first, id second) {
  auto& statement = db_.cached(chat_sql::direct_conversation);
  statement.bind(1, std::min(first, second)).bind(2, std::max(first, second));
  return single_row(statement, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
std::optional<conversation_row> sql_transaction<Connection>::conversation(id conversation_id) {
  auto& statement = db_.cached(chat_sql::conversation);
  statement.bind(1, conversation_id);
  return single_row(statement, read_conversation);
}

template <class Connection>
std::optional<member_row> sql_transaction<Connection>::membership(id conversation_id, id user_id) {
  auto& statement = db_.cached(chat_sql::membership);
  statement.bind(1, conversation_id).bind(2, user_id);
  return single_row(statement, read_member);
}

template <class Connection>
std::vector<member_row> sql_transaction<Connection>::members(id conversation_id) {
  auto& statement = db_.cached(chat_sql::member_rows);
  statement.bind(1, conversation_id);
  return all_rows(statement, read_member);
}

template <class Connection>
std::vector<log_position> sql_transaction<Connection>::log_positions(id user) {
  auto& statement = db_.cached(chat_sql::log_positions);
  statement.bind(1, user);
  return all_rows(statement, [](const auto& row) {
    return log_position{row.integer(0), row.integer(1), row.integer(2)};
  });
}

template <class Connection>
void sql_transaction<Connection>::complete(message_row& message) {
  if (message.reply_to_id) {
    auto& statement = db_.cached(chat_sql::quote);
    statement.bind(1, *message.reply_to_id);
    message.reply_to = single_row(statement, [](const auto& row) {
      return quote_row{row.integer(0), row.integer(1), row.text(2), row.integer(3) != 0};
    });
  }
  if (message.attachment_count > 0 && !message.deleted()) {
    auto& statement = db_.cached(upload_sql::attachments);
    statement.bind(1, message.message_id);
    message.attachments = all_rows(statement, sql_upload::read_upload);
  }
  if (message.deleted() || message.updated_seq == message.seq) {
    return; // a reaction moves updated_seq: a message never changed has none
  }
  auto& statement = db_.cached(chat_sql::reactions);
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
  auto& statement = db_.cached(chat_sql::message_by_id);
  statement.bind(1, message_id);
  auto found = single_row(statement, read_message);
  if (found) {
    complete(*found);
  }
  return found;
}

template <class Connection>
std::vector<id> sql_transaction<Connection>::member_ids(id conversation_id) {
  auto& statement = db_.cached(chat_sql::member_ids);
  statement.bind(1, conversation_id);
  return all_rows(statement, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
std::vector<id> sql_transaction<Connection>::senders_between(id conversation_id, id after, id up_to) {
  auto& statement = db_.cached(chat_sql::senders_between);
  statement.bind(1, conversation_id)
      .bind(2, seq_up_to(conversation_id, after))
      .bind(3, seq_up_to(conversation_id, up_to));
  return all_rows(statement, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
conversation_summary sql_transaction<Connection>::summarise(conversation_row conversation, id viewer,
                                                         id last_read_id, id from_seq) {
  conversation_summary result;
  {
    auto& statement = db_.cached(chat_sql::members);
    statement.bind(1, conversation.conversation_id);
    result.members = all_rows(statement, [](const auto& row) {
      constexpr int next = sql_rows::user_columns;
      return member_view{read_user(row), row.integer(next) != 0, row.integer(next + 1),
                         row.integer(next + 2)};
    });
  }
  if (conversation.last_message_id) {
    result.last_message = message(*conversation.last_message_id);
    if (result.last_message && result.last_message->seq <= from_seq) {
      result.last_message.reset(); // from before the viewer joined
    }
    auto& unread = db_.cached(chat_sql::unread_count);
    unread.bind(1, conversation.conversation_id)
        .bind(2, std::max(from_seq, seq_up_to(conversation.conversation_id, last_read_id)))
        .bind(3, viewer);
    result.unread_count =
        single_row(unread, [](const auto& row) { return row.integer(0); }).value_or(0);
  }
  if (conversation.kind == conversation_kind::direct) {
    for (const auto& member : result.members) {
      if (member.user.user_id != viewer) {
        auto& statement = db_.cached(chat_sql::nickname);
        statement.bind(1, viewer).bind(2, member.user.user_id);
        result.nickname =
            single_row(statement, [](const auto& row) { return row.text(0); });
      }
    }
  }
  result.conversation = std::move(conversation);
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
  return summarise(std::move(*found), viewer, member->last_read_id, member->from_seq);
}

template <class Connection>
std::vector<conversation_summary> sql_transaction<Connection>::conversations_of(id viewer) {
  auto& statement = db_.cached(chat_sql::conversations_of);
  statement.bind(1, viewer);
  // Collect first: summarise() runs other cached statements.
  auto rows = all_rows(statement, [](const auto& row) {
    return std::tuple{read_conversation(row), row.integer(8), row.integer(9)};
  });
  std::vector<conversation_summary> result;
  result.reserve(rows.size());
  for (auto& [conversation, last_read_id, from_seq] : rows) {
    result.push_back(summarise(std::move(conversation), viewer, last_read_id, from_seq));
  }
  return result;
}

template <class Connection>
std::optional<message_row>
sql_transaction<Connection>::message_by_client_id(id sender, std::string_view client_id) {
  auto& statement = db_.cached(chat_sql::message_by_client_id);
  statement.bind(1, sender).bind(2, client_id);
  auto found = single_row(statement, read_message);
  if (found) {
    complete(*found);
  }
  return found;
}

template <class Connection>
std::optional<id> sql_transaction<Connection>::seq_of(id conversation_id, id message_id) {
  auto& lookup = db_.cached(chat_sql::seq_of_message);
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
  auto& at_or_below = db_.cached(chat_sql::message_at_or_below);
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
std::vector<message_row> sql_transaction<Connection>::messages_before(id conversation_id,
                                                                   std::optional<id> before,
                                                                   id from_seq, int limit) {
  auto& statement = db_.cached(chat_sql::messages_before);
  statement.bind(1, conversation_id)
      .bind(2, before ? seq_bound(conversation_id, *before) : std::numeric_limits<id>::max())
      .bind(3, from_seq)
      .bind(4, std::int64_t{limit});
  return completed(statement);
}

template <class Connection>
std::vector<message_row> sql_transaction<Connection>::changes_after(id conversation_id, id after,
                                                                 id from_seq, int limit) {
  auto& statement = db_.cached(chat_sql::changes_after);
  statement.bind(1, conversation_id).bind(2, after).bind(3, from_seq).bind(4, std::int64_t{limit});
  return completed(statement);
}

template <class Connection>
void sql_transaction<Connection>::insert_contact(id owner, id contact_id, std::string_view name,
                                              unix_ms now) {
  db_.cached(chat_sql::insert_contact)
      .bind(1, owner)
      .bind(2, contact_id)
      .bind(3, name)
      .bind(4, now)
      .run();
}

template <class Connection>
bool sql_transaction<Connection>::update_contact_name(id owner, id contact_id, std::string_view name) {
  db_.cached(chat_sql::update_contact_name).bind(1, owner).bind(2, contact_id).bind(3, name).run();
  return db_.changes() > 0;
}

template <class Connection>
bool sql_transaction<Connection>::delete_contact(id owner, id contact_id) {
  db_.cached(chat_sql::delete_contact).bind(1, owner).bind(2, contact_id).run();
  return db_.changes() > 0;
}

template <class Connection>
conversation_row sql_transaction<Connection>::insert_conversation(
    conversation_kind kind, std::optional<std::string_view> title,
    std::optional<std::pair<id, id>> direct_pair, id created_by, unix_ms now) {
  auto& statement = db_.cached(chat_sql::insert_conversation);
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
  db_.cached(chat_sql::insert_member)
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, now)
      .bind(4, from_seq)
      .bind(5, std::int64_t{admin ? 1 : 0})
      .run();
}

template <class Connection>
void sql_transaction<Connection>::delete_member(id conversation_id, id user_id) {
  db_.cached(chat_sql::delete_member).bind(1, conversation_id).bind(2, user_id).run();
}

template <class Connection>
void sql_transaction<Connection>::set_admin(id conversation_id, id user_id, bool admin) {
  db_.cached(chat_sql::set_admin)
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, std::int64_t{admin ? 1 : 0})
      .run();
}

template <class Connection>
void sql_transaction<Connection>::set_title(id conversation_id, std::string_view title) {
  db_.cached(chat_sql::set_title).bind(1, conversation_id).bind(2, title).run();
}

template <class Connection>
void sql_transaction<Connection>::delete_messages(id conversation_id) {
  db_.cached(chat_sql::delete_messages).bind(1, conversation_id).run();
}

template <class Connection> bool sql_transaction<Connection>::note_lock(id conversation_id) {
  if constexpr (Connection::row_locks) {
    if (!highest_locked_) {
      return true;
    }
    if (conversation_id < *highest_locked_) {
      throw lock_order_conflict();
    }
    if (conversation_id == *highest_locked_) {
      return false;
    }
    highest_locked_ = conversation_id;
  }
  return true;
}

template <class Connection> void sql_transaction<Connection>::lock_conversation(id conversation_id) {
  if constexpr (Connection::row_locks) {
    if (note_lock(conversation_id)) {
      // Nobody needs its answer: it only has to come before the statements sent after it.
      db_.cached("SELECT id FROM conversations WHERE id = ?1 FOR NO KEY UPDATE")
          .bind(1, conversation_id)
          .post();
    }
  }
}

template <class Connection>
id sql_transaction<Connection>::next_seq(id conversation_id, std::optional<unix_ms> activity) {
  note_lock(conversation_id); // the UPDATE locks the row
  auto& statement = db_.cached(chat_sql::next_seq);
  statement.bind(1, conversation_id).bind(2, activity);
  const auto seq =
      single_row(statement, [](const auto& row) { return row.integer(0); });
  if (!seq) {
    throw std::runtime_error("next_seq: no such conversation");
  }
  return *seq;
}

template <class Connection>
message_row sql_transaction<Connection>::insert_message(id conversation_id, id sender_id,
                                                     std::string_view body, unix_ms sent_at,
                                                     std::string_view client_id, id seq,
                                                     std::optional<id> reply_to) {
  auto& insert = db_.cached(chat_sql::insert_message);
  insert.bind(1, conversation_id)
      .bind(2, sender_id)
      .bind(3, body)
      .bind(4, sent_at)
      .bind(5, client_id)
      .bind(6, seq);
  if (reply_to) {
    insert.bind(7, *reply_to);
  } else {
    insert.bind_null(7);
  }
  return stored_message(returned_integer(insert), conversation_id, sender_id, body, sent_at,
                        client_id, seq, reply_to);
}

template <class Connection>
message_row sql_transaction<Connection>::stored_message(id message_id, id conversation_id,
                                                     id sender_id, std::string_view body,
                                                     unix_ms sent_at, std::string_view client_id,
                                                     id seq, std::optional<id> reply_to) {
  message_row message;
  message.message_id = message_id;
  message.conversation_id = conversation_id;
  message.sender_id = sender_id;
  message.body = std::string(body);
  message.sent_at = sent_at;
  message.client_id = std::string(client_id);
  message.seq = seq;
  message.updated_seq = seq;
  message.reply_to_id = reply_to;
  if (reply_to) {
    complete(message); // its quote; a new message has no reactions yet
  }
  return message;
}

template <class Connection>
std::optional<message_row>
sql_transaction<Connection>::append_message(id conversation_id, id sender_id,
                                            std::string_view body, unix_ms sent_at,
                                            std::string_view client_id,
                                            std::optional<id> reply_to) {
  lock_conversation(conversation_id); // the seq read below stays ours until COMMIT
  auto& insert = db_.cached(chat_sql::append_message);
  insert.bind(1, conversation_id)
      .bind(2, sender_id)
      .bind(3, body)
      .bind(4, sent_at)
      .bind(5, client_id)
      .bind(6, reply_to);
  const auto stored = single_row(insert, [](const auto& row) {
    return std::pair{row.integer(0), row.integer(1)};
  });
  if (!stored) {
    return std::nullopt; // not a member, or a client_id sent before
  }
  db_.cached(chat_sql::raise_seq)
      .bind(1, conversation_id)
      .bind(2, stored->second)
      .bind(3, sent_at)
      .post();
  return stored_message(stored->first, conversation_id, sender_id, body, sent_at, client_id,
                        stored->second, reply_to);
}

template <class Connection>
void sql_transaction<Connection>::edit_message(id message_id, std::string_view body, unix_ms now,
                                            id seq) {
  db_.cached(chat_sql::save_version).bind(1, message_id).bind(2, seq).run();
  db_.cached(chat_sql::edit_message)
      .bind(1, message_id)
      .bind(2, body)
      .bind(3, now)
      .bind(4, seq)
      .run();
}

template <class Connection>
void sql_transaction<Connection>::delete_message(id message_id, unix_ms now, id seq) {
  db_.cached(chat_sql::tombstone).bind(1, message_id).bind(2, now).bind(3, seq).run();
  db_.cached(upload_sql::delete_attachments).bind(1, message_id).run(); // their blobs go later
  db_.cached(chat_sql::delete_versions).bind(1, message_id).run();
  db_.cached(chat_sql::delete_reactions).bind(1, message_id).run();
}

template <class Connection>
void sql_transaction<Connection>::set_reaction(id message_id, id user_id,
                                            std::optional<std::string_view> emoji, id seq) {
  if (emoji) {
    // Joining a run keeps its place; a new run (or one whose users all left) goes last.
    auto& run = db_.cached(chat_sql::reaction_run);
    run.bind(1, message_id).bind(2, *emoji);
    const auto since =
        single_row(run, [](const auto& row) { return row.optional_integer(0); });
    db_.cached(chat_sql::put_reaction)
        .bind(1, message_id)
        .bind(2, user_id)
        .bind(3, *emoji)
        .bind(4, since && *since ? **since : seq)
        .bind(5, seq)
        .run();
  } else {
    db_.cached(chat_sql::delete_reaction).bind(1, message_id).bind(2, user_id).run();
  }
  db_.cached(chat_sql::touch_message).bind(1, message_id).bind(2, seq).run();
}

template <class Connection>
bool sql_transaction<Connection>::advance_read(id conversation_id, id user_id, id up_to) {
  db_.cached(chat_sql::advance_read).bind(1, conversation_id).bind(2, user_id).bind(3, up_to).run();
  return db_.changes() > 0;
}

template <class Connection>
void sql_transaction<Connection>::raise_read(id conversation_id, id user_id, id up_to) {
  db_.cached(chat_sql::advance_read).bind(1, conversation_id).bind(2, user_id).bind(3, up_to).post();
}

template <class Connection>
bool sql_transaction<Connection>::advance_delivered(id conversation_id, id user_id, id up_to) {
  db_.cached(chat_sql::advance_delivered)
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, up_to)
      .run();
  return db_.changes() > 0;
}

} // namespace parley::store

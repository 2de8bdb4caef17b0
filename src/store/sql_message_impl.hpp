#pragma once
// The message writes of sql_transaction: locking a conversation and taking its next seq,
// sending, editing, deleting and reacting to messages. Included by each engine's transaction
// translation unit. Internal to the store.

#include "store/chat_queries.hpp"
#include "store/errors.hpp"
#include "store/sql_rows.hpp"
#include "store/sql_transaction.hpp"
#include "store/upload_queries.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <utility>

namespace parley::store {

using sql_rows::returned_integer;
using sql_rows::single_row;

namespace detail {

// The parameters ?1…?7 of chat_sql::insert_message and chat_sql::append_message_at.
template <class Statement>
Statement& bind_new_message(Statement& insert, id conversation_id, id sender_id,
                            std::string_view body, unix_ms sent_at, std::string_view client_id,
                            id seq, std::optional<id> reply_to) {
  return insert.bind(1, conversation_id)
      .bind(2, sender_id)
      .bind(3, body)
      .bind(4, sent_at)
      .bind(5, client_id)
      .bind(6, seq)
      .bind(7, reply_to);
}

// Ids written as "1,2,3" (PostgreSQL's string_agg of them); empty for none.
inline std::vector<id> id_list(std::string_view text) {
  std::vector<id> ids;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    id value = 0;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (error != std::errc{} || end != item.data() + item.size()) {
      throw std::runtime_error("not a list of ids");
    }
    ids.push_back(value);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return ids;
}

} // namespace detail

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
      cached("SELECT id FROM conversations WHERE id = ?1 FOR NO KEY UPDATE")
          .bind(1, conversation_id)
          .post();
    }
  }
}

template <class Connection>
id sql_transaction<Connection>::next_seq(id conversation_id, std::optional<unix_ms> activity) {
  note_lock(conversation_id); // the UPDATE locks the row
  std::optional<id> seq;
  if constexpr (Connection::cheap_returning) {
    auto& statement = cached(chat_sql::next_seq);
    statement.bind(1, conversation_id).bind(2, activity);
    seq = single_row(statement, [](const auto& row) { return row.integer(0); });
  } else {
    cached(chat_sql::raise_seq_by_one).bind(1, conversation_id).bind(2, activity).post();
    if (db_.changes() > 0) {
      auto& read = cached(chat_sql::last_seq);
      read.bind(1, conversation_id);
      seq = single_row(read, [](const auto& row) { return row.integer(0); });
    }
  }
  if (!seq) {
    throw std::runtime_error("next_seq: no such conversation");
  }
  return *seq;
}

template <class Connection>
void sql_transaction<Connection>::post_raise_seq(id conversation_id, id seq, unix_ms activity) {
  db_.cached(chat_sql::raise_seq).bind(1, conversation_id).bind(2, seq).bind(3, activity).post();
}

template <class Connection>
void sql_transaction<Connection>::post_raise_read(id conversation_id, id user_id, id up_to) {
  db_.cached(chat_sql::advance_read).bind(1, conversation_id).bind(2, user_id).bind(3, up_to).post();
}

template <class Connection> void sql_transaction<Connection>::write_held() {
  for (const auto& [conversation_id, held] : held_seqs_) {
    post_raise_seq(conversation_id, held.seq, held.activity);
  }
  held_seqs_.clear();
  // Each member's highest mark once, in (conversation, member) order.
  std::ranges::sort(held_reads_, [](const held_read& left, const held_read& right) {
    return std::tie(left.conversation_id, left.user_id, right.up_to) <
           std::tie(right.conversation_id, right.user_id, left.up_to);
  });
  for (std::size_t index = 0; index < held_reads_.size(); ++index) {
    const auto& read = held_reads_[index];
    if (index > 0 && held_reads_[index - 1].conversation_id == read.conversation_id &&
        held_reads_[index - 1].user_id == read.user_id) {
      continue; // a lower mark of the same member
    }
    post_raise_read(read.conversation_id, read.user_id, read.up_to);
  }
  held_reads_.clear();
}

template <class Connection> void sql_transaction<Connection>::write_held_raises() {
  holding_ = false;
  write_held();
}

template <class Connection> void sql_transaction<Connection>::drop_held_raises() noexcept {
  holding_ = false;
  forget_message_id();
  held_seqs_.clear();
  held_reads_.clear();
}

template <class Connection>
message_row sql_transaction<Connection>::insert_message(id conversation_id, id sender_id,
                                                     std::string_view body, unix_ms sent_at,
                                                     std::string_view client_id, id seq,
                                                     std::optional<id> reply_to) {
  auto& insert = detail::bind_new_message(
      cached(Connection::identity_ids ? chat_sql::insert_message
                                      : chat_sql::insert_message_at_new_id),
      conversation_id, sender_id, body, sent_at, client_id, seq, reply_to);
  if constexpr (!Connection::identity_ids) {
    insert.bind(8, known_message_id());
  }
  const id message_id = returned_integer(insert);
  if constexpr (!Connection::identity_ids) {
    message_id_taken(message_id);
  }
  return stored_message(message_id, conversation_id, sender_id, body, sent_at, client_id, seq,
                        reply_to);
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
std::optional<appended_message>
sql_transaction<Connection>::append_message(id conversation_id, id sender_id, std::string_view body,
                                            unix_ms sent_at, std::string_view client_id,
                                            std::optional<id> reply_to) {
  lock_conversation(conversation_id); // the seq read below stays ours until COMMIT
  std::optional<std::pair<id, id>> stored; // id, seq
  std::vector<id> members;
  if constexpr (Connection::cheap_returning) {
    auto& insert = cached(chat_sql::append_message_with_members);
    insert.bind(1, conversation_id)
        .bind(2, sender_id)
        .bind(3, body)
        .bind(4, sent_at)
        .bind(5, client_id)
        .bind(6, reply_to);
    stored = single_row(insert, [&members](const auto& row) {
      members = detail::id_list(row.text(2)); // NULL reads as "": none
      return std::pair{row.integer(0), row.integer(1)};
    });
  } else {
    struct found_conversation {
      id last_seq;
      std::optional<id> direct_low, direct_high;
    };
    // A send's own statements leave held raises held (cached() would write them first); the
    // conversation's last seq is then the held one, when there is one.
    auto& last = db_.cached(chat_sql::last_seq_if_member);
    last.bind(1, conversation_id).bind(2, sender_id);
    const auto found = single_row(last, [](const auto& row) {
      return found_conversation{row.integer(0), row.optional_integer(1), row.optional_integer(2)};
    });
    if (found) {
      const auto held = held_seqs_.find(conversation_id);
      const id seq = (held == held_seqs_.end() ? found->last_seq : held->second.seq) + 1;
      detail::bind_new_message(db_.cached(chat_sql::append_message_at), conversation_id, sender_id,
                               body, sent_at, client_id, seq, reply_to)
          .bind(8, known_message_id())
          .post();
      if (db_.changes() > 0) {
        stored.emplace(db_.last_insert_rowid(), seq);
        message_id_taken(stored->first);
        // A direct conversation's members are its pair (low first, as member_ids lists them).
        members = found->direct_low && found->direct_high
                      ? std::vector<id>{*found->direct_low, *found->direct_high}
                      : member_ids(conversation_id);
      }
    }
  }
  if (!stored) {
    return std::nullopt; // not a member, or a client_id sent before
  }
  if (holding_) {
    auto [held, added] = held_seqs_.try_emplace(conversation_id, held_seq{stored->second, sent_at});
    if (!added) {
      held->second = {stored->second, std::max(held->second.activity, sent_at)};
    }
  } else {
    post_raise_seq(conversation_id, stored->second, sent_at);
  }
  return appended_message{stored_message(stored->first, conversation_id, sender_id, body, sent_at,
                                         client_id, stored->second, reply_to),
                          std::move(members)};
}

template <class Connection>
void sql_transaction<Connection>::edit_message(id message_id, std::string_view body, unix_ms now,
                                            id seq) {
  cached(chat_sql::save_version).bind(1, message_id).bind(2, seq).run();
  cached(chat_sql::edit_message).bind(1, message_id).bind(2, body).bind(3, now).bind(4, seq).run();
}

template <class Connection>
void sql_transaction<Connection>::delete_message(id message_id, unix_ms now, id seq) {
  cached(chat_sql::tombstone).bind(1, message_id).bind(2, now).bind(3, seq).run();
  cached(upload_sql::delete_attachments).bind(1, message_id).run(); // their blobs go later
  cached(chat_sql::delete_versions).bind(1, message_id).run();
  cached(chat_sql::delete_reactions).bind(1, message_id).run();
}

template <class Connection>
void sql_transaction<Connection>::set_reaction(id message_id, id user_id,
                                            std::optional<std::string_view> emoji, id seq) {
  if (emoji) {
    // Joining a run keeps its place; a new run (or one whose users all left) goes last.
    auto& run = cached(chat_sql::reaction_run);
    run.bind(1, message_id).bind(2, *emoji);
    const auto since =
        single_row(run, [](const auto& row) { return row.optional_integer(0); });
    cached(chat_sql::put_reaction)
        .bind(1, message_id)
        .bind(2, user_id)
        .bind(3, *emoji)
        .bind(4, since && *since ? **since : seq)
        .bind(5, seq)
        .run();
  } else {
    cached(chat_sql::delete_reaction).bind(1, message_id).bind(2, user_id).run();
  }
  cached(chat_sql::touch_message).bind(1, message_id).bind(2, seq).run();
}

} // namespace parley::store

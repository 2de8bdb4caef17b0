#pragma once
// The pages of history in sql_transaction: where a page's messages are and their versions,
// without reading them (page_positions), for the reader that keeps messages as text
// (chat::message_texts), the quoted part of a reply's version (updated_seq_of), and what a
// node that keeps conversations' positions (chat::log_index) reads to bring them up to date
// (last_seq_of, positions_changed_after). Included by
// each engine's transaction translation unit, after sql_chat_impl.hpp. Internal to the store.

#include "store/chat_queries.hpp"
#include "store/sql_rows.hpp"
#include "store/sql_transaction.hpp"

#include <algorithm>
#include <limits>

namespace parley::store {

template <class Connection>
std::vector<message_position> sql_transaction<Connection>::page_positions(id conversation_id,
                                                                          std::optional<id> before,
                                                                          id from_seq, int limit) {
  const auto below = before ? seq_bound(conversation_id, *before) : std::numeric_limits<id>::max();
  auto& ids = cached(chat_sql::page_ids);
  ids.bind(1, conversation_id).bind(2, below).bind(3, from_seq).bind(4, std::int64_t{limit});
  std::vector<message_position> positions; // newest first
  while (ids.step()) {
    const auto seq = ids.integer(1);
    positions.push_back(message_position{ids.integer(0), seq, seq}); // updated_seq = seq
  }
  ids.reset();
  if (positions.empty()) {
    return positions;
  }
  // The changed ones of the same range (few: a new message is never in that index).
  auto& changes = cached(chat_sql::page_changes);
  changes.bind(1, conversation_id).bind(2, below).bind(3, positions.back().seq - 1);
  while (changes.step()) {
    const auto at = std::ranges::lower_bound(positions, changes.integer(0), std::ranges::greater(),
                                             &message_position::seq);
    if (at != positions.end() && at->seq == changes.integer(0)) {
      at->updated_seq = changes.integer(1);
    }
  }
  changes.reset();
  return positions;
}

template <class Connection>
std::optional<id> sql_transaction<Connection>::updated_seq_of(id message_id) {
  auto& statement = cached(chat_sql::updated_seq_of);
  statement.bind(1, message_id);
  return sql_rows::single_row(statement, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
std::optional<id> sql_transaction<Connection>::last_seq_of(id conversation_id) {
  auto& statement = cached(chat_sql::last_seq);
  statement.bind(1, conversation_id);
  return sql_rows::single_row(statement, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
std::vector<message_position>
sql_transaction<Connection>::positions_changed_after(id conversation_id, id after, int limit) {
  auto& statement = cached(chat_sql::positions_changed_after);
  statement.bind(1, conversation_id).bind(2, after).bind(3, std::int64_t{limit});
  return sql_rows::all_rows(statement, [](const auto& row) {
    return message_position{row.integer(0), row.integer(1), row.integer(2)};
  });
}

} // namespace parley::store

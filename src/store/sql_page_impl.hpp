#pragma once
// The pages of history in sql_transaction: where a page's messages are and their versions,
// without reading them (page_positions), for the reader that keeps messages as text
// (chat::message_texts), and the quoted part of a reply's version (updated_seq_of). Included by
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
  auto& ids = db_.cached(chat_sql::page_ids);
  ids.bind(1, conversation_id).bind(2, below).bind(3, from_seq).bind(4, std::int64_t{limit});
  std::vector<message_position> positions; // newest first
  std::vector<id> seqs;                    // theirs, descending
  while (ids.step()) {
    positions.push_back(message_position{ids.integer(0), ids.integer(1)}); // updated_seq = seq
    seqs.push_back(ids.integer(1));
  }
  ids.reset();
  if (positions.empty()) {
    return positions;
  }
  // The changed ones of the same range (few: a new message is never in that index).
  auto& changes = db_.cached(chat_sql::page_changes);
  changes.bind(1, conversation_id).bind(2, below).bind(3, seqs.back() - 1);
  while (changes.step()) {
    const auto at = std::ranges::lower_bound(seqs, changes.integer(0), std::ranges::greater());
    if (at != seqs.end() && *at == changes.integer(0)) {
      positions[std::size_t(at - seqs.begin())].updated_seq = changes.integer(1);
    }
  }
  changes.reset();
  return positions;
}

template <class Connection>
std::optional<id> sql_transaction<Connection>::updated_seq_of(id message_id) {
  auto& statement = db_.cached(chat_sql::updated_seq_of);
  statement.bind(1, message_id);
  return sql_rows::single_row(statement, [](const auto& row) { return row.integer(0); });
}

} // namespace parley::store

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
#include <utility>

namespace parley::store {

template <class Connection>
std::vector<message_position> sql_transaction<Connection>::page_positions(id conversation_id,
                                                                          std::optional<id> before,
                                                                          id from_seq, int limit) {
  const auto below = before ? seq_bound(conversation_id, *before) : std::numeric_limits<id>::max();
  auto& ids = db_.cached(chat_sql::page_ids);
  ids.bind(1, conversation_id).bind(2, below).bind(3, from_seq).bind(4, std::int64_t{limit});
  std::vector<std::pair<id, message_position>> page; // by seq, newest first
  while (ids.step()) {
    page.emplace_back(ids.integer(1), message_position{ids.integer(0), ids.integer(1)});
  }
  ids.reset();
  if (page.empty()) {
    return {};
  }
  // The changed ones of the same range (few: a new message is never in that index).
  auto& changes = db_.cached(chat_sql::page_changes);
  changes.bind(1, conversation_id).bind(2, below).bind(3, page.back().first - 1);
  while (changes.step()) {
    const auto seq = changes.integer(0);
    const auto at = std::ranges::lower_bound(page, seq, std::ranges::greater(),
                                             &std::pair<id, message_position>::first);
    if (at != page.end() && at->first == seq) {
      at->second.updated_seq = changes.integer(1);
    }
  }
  changes.reset();
  std::vector<message_position> positions;
  positions.reserve(page.size());
  for (const auto& [seq, position] : page) {
    positions.push_back(position);
  }
  return positions;
}

template <class Connection>
std::optional<id> sql_transaction<Connection>::updated_seq_of(id message_id) {
  auto& statement = db_.cached(chat_sql::updated_seq_of);
  statement.bind(1, message_id);
  return sql_rows::single_row(statement, [](const auto& row) { return row.integer(0); });
}

} // namespace parley::store

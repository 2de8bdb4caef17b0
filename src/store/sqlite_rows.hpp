#pragma once
// Reading result rows, shared by the SQLite transaction's halves. Internal to the store.

#include "store/rows.hpp"
#include "store/sqlite.hpp"

#include <optional>
#include <vector>

namespace parley::store::sqlite_rows {

/// A user from columns 0–3: id, phone, name, created_at.
inline user_row read_user(const sqlite::statement& row) {
  return user_row{row.integer(0), row.text(1), row.text(2), row.integer(3)};
}

/// Runs `statement` and maps its first row, if any; leaves the statement reset.
template <class Mapper>
auto single_row(sqlite::statement& statement, Mapper mapper)
    -> std::optional<decltype(mapper(statement))> {
  std::optional<decltype(mapper(statement))> result;
  if (statement.step()) {
    result = mapper(statement);
  }
  statement.reset();
  return result;
}

/// Runs `statement` and maps every row; leaves the statement reset.
template <class Mapper> auto all_rows(sqlite::statement& statement, Mapper mapper) {
  std::vector<decltype(mapper(statement))> rows;
  while (statement.step()) {
    rows.push_back(mapper(statement));
  }
  statement.reset();
  return rows;
}

} // namespace parley::store::sqlite_rows

#pragma once
// Reading result rows, shared by both engines' statements (sqlite::statement and
// postgres::statement have the same accessors). Internal to the store.

#include "store/rows.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

namespace parley::store::sql_rows {

/// The user columns, in the order read_user reads them (prefixed by `u.` in joins).
#define PARLEY_USER_COLUMNS "id, phone, name, created_at, avatar_upload_id, notification_previews"
#define PARLEY_U_USER_COLUMNS                                                                       \
  "u.id, u.phone, u.name, u.created_at, u.avatar_upload_id, u.notification_previews"
/// The number of those columns: the next one is at this index.
inline constexpr int user_columns = 6;

/// A user from columns 0–5: PARLEY_USER_COLUMNS.
inline constexpr auto read_user = [](const auto& row) -> user_row {
  return user_row{row.integer(0), row.text(1), row.text(2), row.integer(3),
                  row.optional_integer(4), row.integer(5) != 0};
};

/// Runs `statement` and maps its first row, if any; leaves the statement reset.
template <class Statement, class Mapper>
auto single_row(Statement& statement, Mapper mapper) -> std::optional<decltype(mapper(statement))> {
  std::optional<decltype(mapper(statement))> result;
  if (statement.step()) {
    result = mapper(statement);
  }
  statement.reset();
  return result;
}

/// Runs `statement` and maps every row; leaves the statement reset.
template <class Statement, class Mapper> auto all_rows(Statement& statement, Mapper mapper) {
  std::vector<decltype(mapper(statement))> rows;
  while (statement.step()) {
    rows.push_back(mapper(statement));
  }
  statement.reset();
  return rows;
}

/// The single integer that `statement` returns (a RETURNING id, a count); throws when none.
template <class Statement> std::int64_t returned_integer(Statement& statement) {
  auto value = single_row(statement, [](const Statement& row) { return row.integer(0); });
  if (!value) {
    throw std::logic_error("the statement returned no row");
  }
  return *value;
}

} // namespace parley::store::sql_rows

#pragma once
// Numbered schema migrations, one list for both engines: each step has its SQLite and its
// PostgreSQL text, which leave the two schemas equivalent (same tables, columns, keys and
// indexes; SQLite's INTEGER / BLOB are PostgreSQL's bigint / bytea, text compares byte by
// byte on both). Applied at start-up, each in its own transaction together with the new
// version number. Append new migrations to the list; never edit one that has shipped.

#include <span>
#include <string_view>

namespace parley::store {

struct migration {
  int version;
  std::string_view name;
  std::string_view sqlite;
  std::string_view postgres;
  /// SQLite only, run after `sqlite`: UPDATEs of sqlite_schema for a change that leaves every
  /// table's and index's content as it is on disk (SQLite's documented "other ALTER TABLE"
  /// procedure). The migration runs them with writable_schema on and raises schema_version, so
  /// that every connection reads the schema again (a text SQLite cannot parse rolls it back).
  std::string_view sqlite_schema_edit = {};
};

/// Every migration, in order, versions 1, 2, 3 …
[[nodiscard]] std::span<const migration> migrations();

} // namespace parley::store

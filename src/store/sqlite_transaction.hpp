#pragma once
// The transaction interfaces on SQLite: sql_transaction over a sqlite::connection. Internal to
// the store.

#include "store/sql_transaction.hpp"
#include "store/sqlite.hpp"

namespace parley::store {

extern template class sql_transaction<sqlite::connection>;
using sqlite_write_transaction = sql_transaction<sqlite::connection>;
/// Reads use the same queries; a reader connection simply never calls the write half.
using sqlite_read_transaction = sqlite_write_transaction;

} // namespace parley::store

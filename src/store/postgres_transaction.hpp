#pragma once
// The transaction interfaces on PostgreSQL: sql_transaction over a postgres::connection.
// Internal to the store.

#include "store/postgres.hpp"
#include "store/sql_transaction.hpp"

namespace parley::store {

extern template class sql_transaction<postgres::connection>;
using postgres_transaction = sql_transaction<postgres::connection>;

} // namespace parley::store

// sql_transaction compiled for SQLite.

#include "store/sqlite_transaction.hpp"

#include "store/sql_chat_impl.hpp"
#include "store/sql_message_impl.hpp"
#include "store/sql_page_impl.hpp"
#include "store/sql_push_impl.hpp"
#include "store/sql_summary_impl.hpp"
#include "store/sql_transaction_impl.hpp"

namespace parley::store {

template class sql_transaction<sqlite::connection>;

} // namespace parley::store

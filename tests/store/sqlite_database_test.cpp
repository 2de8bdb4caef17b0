// What only the SQLite engine has: WAL, synchronous=FULL, foreign keys on its connections.

#include "store/errors.hpp"
#include "store/sqlite.hpp"
#include "store/sqlite_database.hpp"

#include "support/temporary_directory.hpp"

#include <gtest/gtest.h>


namespace parley::store {
namespace {

TEST(sqlite_database, runs_with_wal_full_sync_and_foreign_keys) {
  testing::temporary_directory directory;
  const auto path = directory.file("parley.db");
  sqlite_database database({path, 1});
  // The foreign key from sessions to users is enforced on the writer's connection.
  EXPECT_THROW(blocking_write(database,
                              [](write_transaction& transaction) {
                                const unsigned char hash[] = {1, 2, 3};
                                return transaction.insert_session(hash, 424242, 1);
                              }),
               database_error);
  sqlite::connection check(path, sqlite::open_mode::read_only);
  sqlite::statement mode(check, "PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
}

} // namespace
} // namespace parley::store

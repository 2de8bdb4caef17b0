// What only the SQLite engine has: WAL, synchronous=FULL, foreign keys on its connections,
// and the WAL's checkpoints off the writer's path (sqlite_checkpointer.hpp).

#include "store/errors.hpp"
#include "store/sqlite.hpp"
#include "store/sqlite_database.hpp"

#include "support/log_capture.hpp"
#include "support/temporary_directory.hpp"

#include <boost/asio/io_context.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

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

// The checkpoints' threshold in these tests: a few commits' worth of frames.
constexpr std::size_t k_frames = 16;
// The most frames one commit of a user writes here (the table, its indexes, the sequence),
// with room to spare.
constexpr std::size_t k_frames_per_commit = 32;

sqlite_options small_wal(const std::string& path) {
  sqlite_options options{path, 1};
  options.checkpoint_frames = k_frames;
  return options;
}

void insert_user(database& target, int number) {
  blocking_write(target, [number](write_transaction& transaction) {
    return transaction.insert_user(fmt::format("+1415555{:04d}", number), "user", 1);
  });
}

std::int64_t count_users(sqlite::connection& db) {
  sqlite::statement count(db, "SELECT count(*) FROM users");
  EXPECT_TRUE(count.step());
  return count.integer(0);
}

// How many frames the WAL holds now (a PASSIVE checkpoint answers it).
std::int64_t wal_frames(sqlite::connection& db) {
  sqlite::statement checkpoint(db, "PRAGMA wal_checkpoint(PASSIVE)");
  EXPECT_TRUE(checkpoint.step());
  return checkpoint.integer(1);
}

TEST(sqlite_checkpoints, the_wal_stays_bounded_and_starts_over_and_every_commit_stays) {
  testing::temporary_directory directory;
  const auto path = directory.file("parley.db");
  sqlite_database database(small_wal(path));
  constexpr int k_users = 400;
  for (int number = 0; number < k_users; ++number) {
    insert_user(database, number);
  }
  // Without checkpoints the WAL would hold every commit: over a thousand frames. With them the
  // writer checkpoints itself at four times the threshold at the latest, and its next commit
  // starts the WAL over (the file keeps the largest size it reached).
  const auto frame_bytes = std::uintmax_t{24 + 4096};
  EXPECT_LE(std::filesystem::file_size(path + "-wal"),
            32 + (4 * k_frames + k_frames_per_commit) * frame_bytes);
  sqlite::connection check(path, sqlite::open_mode::read_only);
  EXPECT_EQ(count_users(check), k_users);
}

TEST(sqlite_checkpoints, a_reader_keeps_its_snapshot_while_the_wal_grows_and_then_it_starts_over) {
  testing::temporary_directory directory;
  const auto path = directory.file("parley.db");
  sqlite_database database(small_wal(path));
  for (int number = 0; number < 10; ++number) {
    insert_user(database, number);
  }
  sqlite::connection reader(path, sqlite::open_mode::read_write_create);
  reader.execute("BEGIN");
  ASSERT_EQ(count_users(reader), 10); // its snapshot: no checkpoint may copy past it
  for (int number = 10; number < 200; ++number) {
    insert_user(database, number);
  }
  EXPECT_EQ(count_users(reader), 10);
  reader.execute("COMMIT");
  EXPECT_EQ(count_users(reader), 200);
  // The WAL could not start over while the snapshot was held: it holds more than the bound.
  EXPECT_GT(wal_frames(reader), std::int64_t{4 * k_frames + k_frames_per_commit});
  // Released, it starts over by the time the writer has checkpointed at four times the
  // threshold, and stays within the bound.
  for (int number = 200; number < 300; ++number) {
    insert_user(database, number);
  }
  EXPECT_LE(wal_frames(reader), std::int64_t{4 * k_frames + k_frames_per_commit});
  EXPECT_EQ(count_users(reader), 300);
}

TEST(sqlite_checkpoints, are_counted_by_the_thread_that_ran_them) {
  testing::temporary_directory directory;
  const auto path = directory.file("parley.db");
  sqlite_database database(small_wal(path));
  EXPECT_EQ(database.stats().checkpoints + database.stats().writer_checkpoints, 0U);
  for (int number = 0; number < 100; ++number) {
    insert_user(database, number);
  }
  // The checkpointer's passes run on their own thread: wait for one to be counted (the writer
  // has asked for one at least, its threshold being crossed many times).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (database.stats().checkpoints == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_GE(database.stats().checkpoints, 1U);
}

TEST(sqlite_checkpoints, each_over_the_slow_threshold_is_logged_by_the_thread_that_ran_it) {
  testing::temporary_directory directory;
  auto options = small_wal(directory.file("parley.db"));
  options.slow_commit = std::chrono::microseconds(1); // every checkpoint takes longer
  const testing::log_capture log;
  sqlite_database database(std::move(options));
  for (int number = 0; number < 100; ++number) {
    insert_user(database, number);
  }
  database.stop(); // nothing logs from here on
  const auto text = log.text();
  const auto count = [&text](const std::string& needle) {
    std::size_t found = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++found;
    }
    return found;
  };
  const auto stats = database.stats();
  EXPECT_GE(stats.checkpoints + stats.writer_checkpoints, 1U);
  EXPECT_EQ(count("store.slow_checkpoint thread=checkpointer result=0 "), stats.checkpoints);
  EXPECT_EQ(count("store.slow_checkpoint thread=writer result=0 "), stats.writer_checkpoints);
  EXPECT_EQ(count(" asleep_or_stolen_ms="),
            count("store.slow_checkpoint") + count("store.slow_commit"));
}

TEST(sqlite_checkpoints, a_checkpoint_due_on_the_writer_hands_the_next_commit_to_its_thread) {
  // Commits made on an I/O thread (write_here) leave the checkpoint due on the writer's
  // connection to the writer thread, which must be woken to commit the next batch and do it.
  testing::temporary_directory directory;
  const auto path = directory.file("parley.db");
  sqlite_database database(small_wal(path));
  boost::asio::io_context io;
  const auto local = database.write_here(io.get_executor(), std::chrono::seconds(1));
  ASSERT_NE(local, nullptr);
  const auto here = std::this_thread::get_id();
  while (!database.writer_asleep()) { // a writer thread still starting would take the first
    std::this_thread::yield();
  }
  std::size_t rounds_here = 0;
  for (int number = 0; number < 1000; ++number) {
    std::thread::id ran_on;
    bool stored = false;
    database.write_then(
        [number, &ran_on](write_transaction& transaction) {
          ran_on = std::this_thread::get_id();
          return transaction.insert_user(fmt::format("+1415555{:04d}", number), "user", 1).user_id;
        },
        io.get_executor(),
        [&stored](std::exception_ptr failure, std::optional<id> user) {
          stored = !failure && user.has_value();
        });
    io.restart();
    io.run(); // until the write's completion has run here, wherever it committed
    ASSERT_TRUE(stored);
    if (ran_on != here) {
      break;
    }
    ++rounds_here;
  }
  EXPECT_GE(rounds_here, 1U);
  EXPECT_LT(rounds_here, 1000U); // one went to the writer thread, and it committed it
  EXPECT_EQ(database.stats().write_batches_here, rounds_here);
}

} // namespace
} // namespace parley::store

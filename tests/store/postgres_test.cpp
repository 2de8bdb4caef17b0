// What only the PostgreSQL engine has: parameters rewritten for libpq, a lost connection
// failing only its own batch (the next one connects again), and a server that never answers
// failing calls after the timeout instead of hanging a store thread.

#include "store/engines.hpp"
#include "store/errors.hpp"
#include "store/postgres.hpp"
#include "store/postgres_database.hpp"
#include "store/postgres_transaction.hpp"

#include "support/ports.hpp"
#include "support/services.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <exception>
#include <fmt/format.h>
#include <optional>
#include <thread>
#include <vector>

namespace parley::store {
namespace {

TEST(postgres_parameters, numbered_parameters_become_dollar_parameters_outside_quotes) {
  EXPECT_EQ(postgres::numbered_parameters("SELECT ?1, ?12 WHERE a = ?2"),
            "SELECT $1, $12 WHERE a = $2");
  EXPECT_EQ(postgres::numbered_parameters("SELECT '?1', ?1"), "SELECT '?1', $1");
  EXPECT_EQ(postgres::numbered_parameters("VALUES (?, ?)"), "VALUES ($1, $2)");
}

// In the writer's transactions, conversation rows are locked in ascending id order (every
// node's batches then never wait for each other in a circle); a job that would go back down
// gets lock_order_conflict, and the writer runs it first in the next transaction.
TEST(postgres_transaction, conversations_are_locked_in_ascending_id_order_in_a_writers_transaction) {
  const auto store = conformance::test_store::make(conformance::engine::postgres);
  const auto db = store->connect();
  db->migrate();
  auto& transaction = dynamic_cast<postgres_transaction&>(db->transaction());
  const auto alice = transaction.insert_user("+14155550101", "Alice", 1);
  const auto group = [&] {
    return transaction.insert_conversation(conversation_kind::group, "g", std::nullopt,
                                           alice.user_id, 1).conversation_id;
  };
  const id lower = group();
  const id higher = group();
  db->begin();
  transaction.transaction_started();
  transaction.lock_conversation(higher);
  EXPECT_THROW(transaction.lock_conversation(lower), lock_order_conflict);
  EXPECT_THROW(transaction.next_seq(lower), lock_order_conflict);
  transaction.lock_conversation(higher); // again: it holds that one
  EXPECT_EQ(transaction.next_seq(higher), 1);
  db->commit();
}

// One user on two nodes: their phone's delivered mark in one node's batch, their laptop's
// send in the same conversation in the other's. The mark locks the conversation's row before
// the member's row, as the send does, so the send waits for the mark's transaction instead of
// holding the conversation while the mark's transaction, which sends in it too, waits for it:
// no circle, which PostgreSQL would break after a second by failing one of them.
TEST(postgres_transaction,
     a_delivered_mark_and_a_send_by_the_same_member_elsewhere_do_not_deadlock) {
  const auto store = conformance::test_store::make(conformance::engine::postgres);
  const auto here = store->connect();
  here->migrate();
  const auto there = store->connect();
  const auto watcher = store->connect();
  auto& mine = dynamic_cast<postgres_transaction&>(here->transaction());
  auto& theirs = dynamic_cast<postgres_transaction&>(there->transaction());
  const auto alice = mine.insert_user("+14155550101", "Alice", 1).user_id;
  const auto bob = mine.insert_user("+14155550102", "Bob", 1).user_id;
  const auto group = mine.insert_conversation(conversation_kind::group, "g", std::nullopt, alice, 1)
                         .conversation_id;
  mine.insert_member(group, alice, 1);
  mine.insert_member(group, bob, 1);
  const auto from_bob = mine.append_message(group, bob, "hello", 2, "b1");
  ASSERT_TRUE(from_bob);
  const auto there_pid = there->count("SELECT pg_backend_pid()");

  here->begin();
  mine.transaction_started();
  const std::vector<delivered_mark> marks{{group, alice, from_bob->message.message_id}};
  EXPECT_EQ(mine.advance_delivered(marks, 2000).size(), 1U);

  std::exception_ptr laptop_failure;
  std::optional<appended_message> from_laptop;
  std::thread laptop([&] {
    try {
      there->begin();
      theirs.transaction_started();
      from_laptop = theirs.append_message(group, alice, "from the laptop", 3, "a1");
      theirs.raise_read(group, alice, from_laptop->message.message_id);
      there->commit();
    } catch (...) {
      laptop_failure = std::current_exception();
    }
  });
  // The laptop's transaction waits for a lock of this one (polled, not slept on).
  const auto waiting = [&] {
    return watcher->count(fmt::format("SELECT count(*) FROM pg_stat_activity WHERE pid = {} "
                                      "AND wait_event_type = 'Lock'",
                                      there_pid)) > 0;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!waiting() && std::chrono::steady_clock::now() < deadline) {
  }
  EXPECT_TRUE(waiting()) << "the laptop's send should wait for this transaction";
  // The phone's node sends in the same conversation in the same transaction.
  std::exception_ptr phone_failure;
  try {
    EXPECT_TRUE(mine.append_message(group, bob, "and again", 4, "b2"));
    here->commit();
  } catch (...) {
    phone_failure = std::current_exception();
  }
  laptop.join();
  EXPECT_FALSE(phone_failure);
  EXPECT_FALSE(laptop_failure);
  ASSERT_TRUE(from_laptop);
  EXPECT_EQ(from_laptop->message.seq, 3); // after the phone's node's commit
  EXPECT_EQ(here->count(fmt::format("SELECT last_delivered_id FROM conversation_members "
                                    "WHERE conversation_id = {} AND user_id = {}",
                                    group, alice)),
            from_laptop->message.message_id);
}

TEST(postgres_connection, a_bad_statement_fails_and_the_connection_goes_on) {
  postgres::connection db(parley::test::postgres_url(), postgres::connection_options{std::chrono::seconds(10), true});
  EXPECT_THROW(db.cached("SELECT no_such_column FROM pg_class").run(), database_error);
  EXPECT_TRUE(db.usable());
  auto& fine = db.cached("SELECT ?1 + 1");
  fine.bind(1, std::int64_t{41});
  ASSERT_TRUE(fine.step());
  EXPECT_EQ(fine.integer(0), 42);
}

// A posted statement is not waited for: its failure surfaces at the next wait, which may be
// someone else's, and failed_serial() tells whose statement it was (the writer then fails the
// whole transaction instead of blaming the job that happened to wait).
TEST(postgres_connection, a_posted_statement_fails_at_the_next_wait_and_says_which_it_was) {
  postgres::connection db(parley::test::postgres_url());
  db.send("BEGIN");
  const auto posted = db.sent();
  db.cached("SELECT 1 / (?1 - ?1)").bind(1, std::int64_t{7}).post(); // division by zero
  const auto mark = db.sent();
  EXPECT_GT(mark, posted);
  auto& later = db.cached("SELECT ?1 + 1");
  later.bind(1, std::int64_t{1});
  EXPECT_THROW(later.step(), database_error);
  EXPECT_TRUE(db.aborted());
  EXPECT_GE(db.failed_serial(), posted);
  EXPECT_LT(db.failed_serial(), mark);
  db.synchronise(); // clears the pipeline's failure
  EXPECT_FALSE(db.aborted());
  db.send("ROLLBACK");
  db.synchronise();
  // An own failure is the waiting statement's serial.
  db.send("BEGIN");
  const auto own = db.sent();
  EXPECT_THROW(db.cached("SELECT 1 / (?1 - ?1)").bind(1, std::int64_t{7}).run(), database_error);
  EXPECT_GE(db.failed_serial(), own);
  db.synchronise();
}

TEST(postgres_connection, a_server_that_never_answers_fails_the_call_after_the_timeout) {
  // A listening socket that accepts (in the kernel's backlog) and never says a word.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto url = fmt::format("postgresql://parley@127.0.0.1:{}/parley?sslmode=disable",
                               silent.local_endpoint().port());
  try {
    postgres::connection db(url, postgres::connection_options{std::chrono::milliseconds(300)});
    FAIL() << "connected to a silent server";
  } catch (const database_error& error) {
    EXPECT_EQ(error.failure(), database_error::kind::unavailable) << error.what();
  }
}

TEST(postgres_connection, a_refused_connection_is_unavailable) {
  const std::uint16_t port = parley::test::closed_loopback_port();
  try {
    postgres::connection db(fmt::format("postgresql://parley@127.0.0.1:{}/parley", port));
    FAIL() << "connected to a closed port";
  } catch (const database_error& error) {
    EXPECT_EQ(error.failure(), database_error::kind::unavailable) << error.what();
  }
}

// The writer's connection is killed between two batches, then during one. Killed while idle,
// it is mostly noticed before the next batch starts (the socket reads as closed), but the
// server may close it a moment later than pg_stat_activity shows: then that batch fails as
// unavailable. Killed during a batch, the batch fails. Either way nothing of a failed batch is
// committed or acknowledged, and the next batch connects again.
TEST(postgres_database, a_lost_connection_fails_at_most_its_own_batch) {
  const auto store = conformance::test_store::make(conformance::engine::postgres);
  const auto database = store->open(1);
  const auto admin = store->connect();
  const auto kill_the_others = [&admin] {
    admin->execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE application_name = current_setting('application_name') "
                   "AND pid <> pg_backend_pid()");
  };
  std::vector<std::vector<std::string>> acknowledged;
  const auto write = [&](std::string phone) {
    try {
      blocking_write(*database, [phone](write_transaction& transaction) {
        return transaction.insert_user(phone, "user", 1).user_id;
      });
      acknowledged.push_back({phone});
      return true;
    } catch (const database_error& error) {
      EXPECT_EQ(error.failure(), database_error::kind::unavailable) << error.what();
      return false;
    }
  };
  EXPECT_TRUE(write("+14155550001"));

  kill_the_others();
  if (!write("+14155550002")) {
    EXPECT_TRUE(write("+14155550003")) << "the batch after a failed one connects again";
  }

  try {
    blocking_write(*database, [&](write_transaction& transaction) {
      transaction.insert_user("+14155550004", "lost", 1);
      kill_the_others(); // the writer's own connection, in the middle of its transaction
      return transaction.insert_user("+14155550005", "lost", 1).user_id;
    });
    FAIL() << "a batch whose connection was killed succeeded";
  } catch (const database_error& error) {
    EXPECT_EQ(error.failure(), database_error::kind::unavailable) << error.what();
  }
  EXPECT_TRUE(write("+14155550006"));
  EXPECT_EQ(admin->rows("SELECT phone FROM users ORDER BY phone"), acknowledged);
}

} // namespace
} // namespace parley::store

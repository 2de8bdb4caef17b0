// The database contract (database.hpp) on both engines: migrations, group commit, savepoints
// per job, commit-order hooks, concurrent writers, stop.

#include "store/engines.hpp"
#include "store/errors.hpp"
#include "store/migrations.hpp"

#include "support/run_coroutine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fmt/format.h>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace parley::store {
namespace {

// A job that holds the writer until released, so that the jobs queued behind it are
// deterministically committed together.
class gate_job final : public job {
public:
  explicit gate_job(std::shared_future<void> open) : open_(std::move(open)) {}
  void run_write(write_transaction&) override {
    started_.set_value();
    open_.wait();
  }
  void complete(std::exception_ptr) override {}
  std::future<void> started() { return started_.get_future(); }

private:
  std::shared_future<void> open_;
  std::promise<void> started_;
};

using conformance::insert_user_job;
using conformance::recorded_job;

// Runs `jobs` as one batch: a gate holds the writer while they queue behind it, so that it
// takes them together. Each job's outcome (null: committed), in order.
std::vector<std::exception_ptr> run_as_one_batch(database& target,
                                                 std::vector<std::unique_ptr<recorded_job>> jobs) {
  std::promise<void> open;
  auto gate = std::make_unique<gate_job>(open.get_future().share());
  auto started = gate->started();
  target.submit_write(std::move(gate));
  started.wait(); // the writer is now busy with the gate's batch
  std::vector<std::future<std::exception_ptr>> outcomes;
  for (auto& job : jobs) {
    outcomes.push_back(job->outcome());
    target.submit_write(std::move(job));
  }
  open.set_value();
  std::vector<std::exception_ptr> failures;
  for (auto& outcome : outcomes) {
    failures.push_back(outcome.get());
  }
  return failures;
}

constexpr std::chrono::hours k_forever{1};

std::string phone_number(int index) {
  return fmt::format("+1415555{:04d}", index);
}

class database_test : public ::testing::TestWithParam<conformance::engine> {
protected:
  std::unique_ptr<conformance::test_store> store_ = conformance::test_store::make(GetParam());
};
PARLEY_STORE_ENGINES(database_test);

TEST_P(database_test, migrates_an_empty_database_to_the_latest_version) {
  const auto database = store_->open(1);
  EXPECT_EQ(store_->schema_version_of(*database), migrations().back().version);
}

TEST_P(database_test, reopening_keeps_the_schema_and_the_data) {
  {
    const auto database = store_->open(1);
    blocking_write(*database, [](write_transaction& transaction) {
      return transaction.insert_user("+14155550123", "Alice", 1).user_id;
    });
  }
  const auto reopened = store_->open(1);
  auto found = testing::run_coroutine(reopened->read(
      [](read_transaction& transaction) { return transaction.user_by_phone("+14155550123"); }));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "Alice");
}

TEST_P(database_test, refuses_a_database_newer_than_the_build) {
  store_->connect()->force_schema_version(9999);
  EXPECT_THROW(store_->open(1), std::runtime_error);
}

TEST_P(database_test, migrates_step_by_step_from_an_older_version) {
  {
    const auto db = store_->connect();
    EXPECT_EQ(db->migrate(1), 1);
    // A foundation-era database with users in it.
    db->execute("INSERT INTO users (phone, name, created_at) VALUES "
                "('+14155550101', 'Alice', 1), ('+14155550102', 'Bob', 2)");
  }
  const auto database = store_->open(1);
  EXPECT_EQ(store_->schema_version_of(*database), migrations().back().version);
  // Their accounts carry over and the chat tables work with them.
  const auto listed = blocking_write(*database, [](write_transaction& transaction) {
    const auto alice = transaction.user_by_phone("+14155550101");
    const auto bob = transaction.user_by_phone("+14155550102");
    transaction.insert_contact(alice->user_id, bob->user_id, "Bob", 3);
    return transaction.contacts_of(alice->user_id);
  });
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0].user.name, "Bob");
}

// A job whose committed() records its result on the writer thread.
struct ordered_insert {
  std::string phone;
  std::vector<id>* committed_ids;
  id operator()(write_transaction& transaction) const {
    return transaction.insert_user(phone, "user", 1).user_id;
  }
  void committed(id& user_id) const { committed_ids->push_back(user_id); }
};

TEST_P(database_test, committed_hooks_run_in_commit_order_before_callers_resume) {
  const auto opened = store_->open(1);
  auto& database = *opened;
  std::vector<id> committed_ids; // written on the writer thread only
  constexpr int k_jobs = 50;
  const auto body = [&]() -> boost::asio::awaitable<std::vector<id>> {
    std::vector<id> resumed;
    for (int index = 0; index < k_jobs; ++index) {
      ordered_insert job{phone_number(index), &committed_ids};
      const id inserted = co_await database.write(std::move(job));
      // The hook ran before this caller resumed.
      EXPECT_EQ(committed_ids.back(), inserted);
      resumed.push_back(inserted);
    }
    co_return resumed;
  };
  const auto resumed = testing::run_coroutine(body());
  EXPECT_EQ(resumed, committed_ids);
  EXPECT_TRUE(std::ranges::is_sorted(committed_ids));
}

// write_then: the same job as write, answered by a callback on the given executor, after the
// committed() hook; a failing job gives its exception and no result, and stores nothing.
TEST_P(database_test, write_then_calls_back_on_the_executor_after_the_commit) {
  const auto opened = store_->open(1);
  auto& database = *opened;
  boost::asio::io_context io;
  std::vector<id> committed_ids; // written on the writer thread only
  std::vector<id> answered;
  std::vector<std::thread::id> answered_on;
  int failures = 0;
  for (int index = 0; index < 3; ++index) {
    database.write_then(ordered_insert{phone_number(index), &committed_ids}, io.get_executor(),
                        [&](std::exception_ptr failure, std::optional<id> inserted) {
                          EXPECT_EQ(failure, nullptr);
                          ASSERT_TRUE(inserted);
                          EXPECT_EQ(committed_ids.at(answered.size()), *inserted);
                          answered.push_back(*inserted);
                          answered_on.push_back(std::this_thread::get_id());
                        });
  }
  // The same phone again: the unique index refuses it.
  database.write_then(ordered_insert{phone_number(0), &committed_ids}, io.get_executor(),
                      [&](std::exception_ptr failure, std::optional<id> inserted) {
                        EXPECT_NE(failure, nullptr);
                        EXPECT_FALSE(inserted);
                        ++failures;
                      });
  // All four are answered by the executor, in order, on this thread.
  while (answered.size() + static_cast<std::size_t>(failures) < 4) {
    io.run_one();
  }
  EXPECT_EQ(answered, committed_ids);
  ASSERT_EQ(answered.size(), 3U);
  EXPECT_TRUE(std::ranges::is_sorted(answered));
  EXPECT_EQ(failures, 1);
  for (const auto& thread : answered_on) {
    EXPECT_EQ(thread, std::this_thread::get_id());
  }
  const auto count = blocking_write(database, [](write_transaction& transaction) {
    int found = 0;
    for (int index = 0; index < 3; ++index) {
      found += transaction.user_by_phone(phone_number(index)) ? 1 : 0;
    }
    return found;
  });
  EXPECT_EQ(count, 3);
}

TEST_P(database_test, group_commit_puts_every_queued_job_in_one_transaction) {
  const auto opened = store_->open(1);
  auto& database = *opened;
  constexpr int k_jobs = 100;
  std::vector<std::unique_ptr<recorded_job>> jobs;
  for (int index = 0; index < k_jobs; ++index) {
    jobs.push_back(std::make_unique<recorded_job>([index](write_transaction& transaction) {
      transaction.insert_user(phone_number(index), "user", 1);
    }));
  }
  const auto before = database.stats();
  for (const auto& failure : run_as_one_batch(database, std::move(jobs))) {
    EXPECT_EQ(failure, nullptr);
  }
  const auto after = database.stats();
  EXPECT_EQ(after.write_jobs - before.write_jobs, static_cast<std::uint64_t>(k_jobs) + 1);
  EXPECT_EQ(after.write_batches - before.write_batches, 2U); // the gate's batch, then all 100
  EXPECT_EQ(after.commits.count - before.commits.count, 2U);
}

TEST_P(database_test, each_commit_is_timed_from_taking_its_jobs_to_its_return) {
  const auto opened = store_->open(1);
  auto& database = *opened;
  const auto before = database.stats();
  // A job whose own work (a thousand inserts) is timed from inside it; the commit's time must
  // hold all of it, and cannot exceed the time from the submit to the completion.
  using clock = std::chrono::steady_clock;
  clock::duration worked{};
  auto job = std::make_unique<recorded_job>([&worked](write_transaction& transaction) {
    const auto started = clock::now();
    for (int index = 0; index < 1000; ++index) {
      transaction.insert_user(phone_number(index), "user", 1);
    }
    worked = clock::now() - started;
  });
  auto outcome = job->outcome();
  const auto submitted = clock::now();
  database.submit_write(std::move(job));
  EXPECT_EQ(outcome.get(), nullptr);
  const auto waited = clock::now() - submitted;
  const auto after = database.stats();
  EXPECT_EQ(after.write_batches - before.write_batches, 1U);
  EXPECT_EQ(after.commits.count - before.commits.count, 1U);
  const double took = after.commits.sum - before.commits.sum;
  const double lower = std::chrono::duration<double>(worked).count();
  const double upper = std::chrono::duration<double>(waited).count();
  EXPECT_GE(took, lower);
  EXPECT_LE(took, upper);
  // In no bucket under the job's own time; in every bucket from the submit-to-completion time.
  const auto& bounds = common::latency_histogram::k_bounds;
  for (std::size_t index = 0; index < bounds.size(); ++index) {
    const auto counted = after.commits.buckets[index] - before.commits.buckets[index];
    if (bounds[index] < lower) {
      EXPECT_EQ(counted, 0U) << "le=" << bounds[index];
    } else if (bounds[index] >= upper) {
      EXPECT_EQ(counted, 1U) << "le=" << bounds[index];
    }
  }
}

TEST_P(database_test, a_failing_job_does_not_undo_the_others_in_its_batch) {
  const auto opened = store_->open(1);
  auto& database = *opened;
  std::vector<std::unique_ptr<recorded_job>> jobs;
  jobs.push_back(std::make_unique<recorded_job>(
      [](write_transaction& transaction) { transaction.insert_user("+14155550001", "a", 1); }));
  jobs.push_back(std::make_unique<recorded_job>([](write_transaction& transaction) {
    transaction.insert_user("+14155550002", "b", 1);
    transaction.insert_user("+14155550001", "duplicate", 1); // unique phone: throws
  }));
  jobs.push_back(std::make_unique<recorded_job>(
      [](write_transaction& transaction) { transaction.insert_user("+14155550003", "c", 1); }));
  const auto failures = run_as_one_batch(database, std::move(jobs));

  EXPECT_EQ(failures[0], nullptr);
  ASSERT_NE(failures[1], nullptr);
  try {
    std::rethrow_exception(failures[1]);
  } catch (const database_error& error) {
    EXPECT_TRUE(error.constraint()) << error.what();
  }
  EXPECT_EQ(failures[2], nullptr);
  const auto present = testing::run_coroutine(database.read([](read_transaction& transaction) {
    return std::array{transaction.user_by_phone("+14155550001").has_value(),
                      transaction.user_by_phone("+14155550002").has_value(),
                      transaction.user_by_phone("+14155550003").has_value()};
  }));
  EXPECT_TRUE(present[0]);
  EXPECT_FALSE(present[1]); // the failing job's own insert was rolled back
  EXPECT_TRUE(present[2]);
}

// A batch runs without a savepoint per job and, when a job fails, is rolled back and run again
// with one per job: a job runs again only then, from its start, in a new transaction
// (job::run_write), and each job's writes are there once.
TEST_P(database_test, a_batch_runs_again_only_after_a_failure_and_each_write_lands_once) {
  const auto opened = store_->open(1);
  auto& database = *opened;
  const auto batch_of = [&](bool with_failure) {
    auto runs = std::make_shared<std::atomic<int>>(0);
    const std::string prefix = with_failure ? "+1415555020" : "+1415555010";
    std::vector<std::unique_ptr<recorded_job>> jobs;
    jobs.push_back(std::make_unique<recorded_job>([runs, prefix](write_transaction& transaction) {
      ++*runs;
      transaction.insert_user(prefix + "1", "counted", 1);
    }));
    if (with_failure) {
      jobs.push_back(std::make_unique<recorded_job>([prefix](write_transaction& transaction) {
        transaction.insert_user(prefix + "2", "failing", 1);
        transaction.insert_user(prefix + "1", "duplicate", 1); // unique phone: throws
      }));
    }
    const auto failures = run_as_one_batch(database, std::move(jobs));
    EXPECT_EQ(failures[0], nullptr);
    if (with_failure) {
      EXPECT_NE(failures[1], nullptr);
    }
    return runs->load();
  };
  EXPECT_EQ(batch_of(false), 1);
  EXPECT_EQ(batch_of(true), 2);
  const auto present = testing::run_coroutine(database.read([](read_transaction& transaction) {
    return std::array{transaction.user_by_phone("+14155550101").has_value(),
                      transaction.user_by_phone("+14155550201").has_value(),
                      transaction.user_by_phone("+14155550202").has_value()};
  }));
  EXPECT_EQ(present, (std::array{true, true, false}));
}

// Sends in one batch, as the chat service runs them (append_message, then raise_read of the
// sender's mark): every later statement of the batch sees the conversation's log length and the
// marks they raised, seqs follow each other without gaps, and a failing job's raises go with it
// (on SQLite they are held and written once per conversation and member before the commit).
TEST_P(database_test,
       sends_in_one_batch_see_and_keep_each_others_raises_and_a_failure_drops_its_own) {
  const auto opened = store_->open(1);
  auto& database = *opened;
  struct setup {
    id alice, bob, conversation;
  };
  const auto made = blocking_write(database, [](write_transaction& transaction) {
    const id alice = transaction.insert_user("+14155550301", "alice", 1).user_id;
    const id bob = transaction.insert_user("+14155550302", "bob", 1).user_id;
    const id conversation = transaction
                                .insert_conversation(conversation_kind::direct, std::nullopt,
                                                     std::pair{alice, bob}, alice, 1)
                                .conversation_id;
    transaction.insert_member(conversation, alice, 1);
    transaction.insert_member(conversation, bob, 1);
    return setup{alice, bob, conversation};
  });
  struct state {
    id last_seq = 0, alice_read = 0, bob_read = 0, bob_delivered = 0;
    unix_ms activity = 0;
  };
  const auto state_in = [&made](read_transaction& transaction) {
    const auto conversation = transaction.conversation(made.conversation);
    return state{conversation->last_seq,
                 transaction.membership(made.conversation, made.alice)->last_read_id,
                 transaction.membership(made.conversation, made.bob)->last_read_id,
                 transaction.membership(made.conversation, made.bob)->last_delivered_id,
                 conversation->last_activity_at};
  };
  // Each send's row in its slot (a job runs twice when its batch has a failure), and what a job
  // in the middle of the batch read; written on the writer only.
  auto sent = std::make_shared<std::vector<message_row>>(8);
  auto seen = std::make_shared<state>();
  auto runs = std::make_shared<int>(0); // sends run, each run counted
  const auto send = [&made, sent, runs](std::size_t slot, id sender, std::string client_id,
                                        unix_ms at, bool fail) {
    return std::make_unique<recorded_job>([&made, sent, runs, slot, sender, client_id, at,
                                           fail](write_transaction& transaction) {
      ++*runs;
      auto appended = transaction.append_message(made.conversation, sender, "hi", at, client_id);
      if (!appended) {
        throw std::runtime_error("not appended");
      }
      transaction.raise_read(made.conversation, sender, appended->message.message_id);
      if (fail) {
        throw std::runtime_error("fails after its send");
      }
      (*sent)[slot] = appended->message;
    });
  };
  const auto look = [&state_in, seen]() {
    return std::make_unique<recorded_job>(
        [&state_in, seen](write_transaction& transaction) { *seen = state_in(transaction); });
  };
  // Runs `jobs` as one batch; whether each succeeded.
  const auto batch = [&database](std::vector<std::unique_ptr<recorded_job>> jobs) {
    std::vector<bool> succeeded;
    for (const auto& failure : run_as_one_batch(database, std::move(jobs))) {
      succeeded.push_back(failure == nullptr);
    }
    return succeeded;
  };
  const auto seqs = [&sent](std::size_t first, std::size_t last) {
    std::vector<id> out;
    for (std::size_t slot = first; slot < last; ++slot) {
      out.push_back((*sent)[slot].seq);
    }
    return out;
  };
  const auto committed = [&database, &state_in]() {
    return testing::run_coroutine(database.read(
        [&state_in](read_transaction& transaction) { return state_in(transaction); }));
  };

  std::vector<std::unique_ptr<recorded_job>> first;
  first.push_back(send(0, made.alice, "a1", 5000, false));
  first.push_back(send(1, made.bob, "b1", 4000, false)); // an earlier clock: activity stays 5000
  first.push_back(send(2, made.alice, "a2", 5001, false));
  first.push_back(look());
  first.push_back(send(3, made.bob, "b2", 5002, false));
  EXPECT_EQ(batch(std::move(first)), (std::vector<bool>{true, true, true, true, true}));
  EXPECT_EQ(*runs, 4); // once each: no statement failed (a seq taken twice would have)
  EXPECT_EQ(seqs(0, 4), (std::vector<id>{1, 2, 3, 4}));
  EXPECT_EQ(seen->last_seq, 3);
  EXPECT_EQ(seen->activity, 5001);
  EXPECT_EQ(seen->alice_read, (*sent)[2].message_id);
  EXPECT_EQ(seen->bob_read, (*sent)[1].message_id);
  auto after = committed();
  EXPECT_EQ(after.last_seq, 4);
  EXPECT_EQ(after.activity, 5002);
  EXPECT_EQ(after.alice_read, (*sent)[2].message_id);
  EXPECT_EQ(after.bob_read, (*sent)[3].message_id);

  std::vector<std::unique_ptr<recorded_job>> second;
  second.push_back(send(4, made.alice, "a3", 6000, false));
  second.push_back(send(7, made.alice, "a4", 9000, true)); // fails: its message and raises go
  second.push_back(send(5, made.bob, "b3", 6001, false));
  second.push_back(look());
  second.push_back(send(6, made.bob, "b4", 6002, false));
  EXPECT_EQ(batch(std::move(second)), (std::vector<bool>{true, false, true, true, true}));
  EXPECT_EQ(seqs(4, 7), (std::vector<id>{5, 6, 7}));
  EXPECT_EQ(seen->last_seq, 6);
  EXPECT_EQ(seen->bob_read, (*sent)[5].message_id);
  after = committed();
  EXPECT_EQ(after.last_seq, 7);
  EXPECT_EQ(after.activity, 6002);
  EXPECT_EQ(after.alice_read, (*sent)[4].message_id);
  EXPECT_EQ(after.bob_read, (*sent)[6].message_id);
  EXPECT_EQ(after.bob_delivered, (*sent)[6].message_id);
  EXPECT_FALSE(testing::run_coroutine(database.read([&made](read_transaction& transaction) {
    return transaction.message_by_client_id(made.alice, "a4").has_value();
  }))); // the failing send stored nothing
}

TEST_P(database_test, many_concurrent_writers_are_all_on_disk_after_reopening) {
  constexpr int k_threads = 8;
  constexpr int k_per_thread = 250;
  std::atomic<int> acknowledged{0};
  {
    const auto opened = store_->open(2);
    auto& database = *opened;
    // Writers are coroutines on two I/O contexts, as in the server.
    boost::asio::io_context first;
    boost::asio::io_context second;
    for (int thread = 0; thread < k_threads; ++thread) {
      auto& context = thread % 2 == 0 ? first : second;
      boost::asio::co_spawn(
          context,
          [&database, &acknowledged, thread]() -> boost::asio::awaitable<void> {
            for (int index = 0; index < k_per_thread; ++index) {
              auto insert = [phone = phone_number(thread * k_per_thread + index)](
                                write_transaction& transaction) {
                return transaction.insert_user(phone, "writer", 1).user_id;
              };
              co_await database.write(std::move(insert));
              acknowledged.fetch_add(1);
            }
          },
          boost::asio::detached);
    }
    std::thread other([&second] { second.run(); });
    first.run();
    other.join();
    EXPECT_EQ(acknowledged.load(), k_threads * k_per_thread);
    const auto stats = database.stats();
    EXPECT_EQ(stats.write_jobs, static_cast<std::uint64_t>(k_threads * k_per_thread));
  }
  EXPECT_EQ(store_->connect()->count("SELECT count(*) FROM users"), acknowledged.load());
}

TEST_P(database_test, a_deferrable_write_waits_for_the_next_write_and_commits_with_it) {
  const auto opened = store_->open(1, k_forever);
  auto& database = *opened;
  const auto before = database.stats();
  auto deferred = insert_user_job(phone_number(1), true);
  auto deferred_outcome = deferred->outcome();
  database.submit_write(std::move(deferred));
  auto urgent = insert_user_job(phone_number(2), false);
  auto urgent_outcome = urgent->outcome();
  database.submit_write(std::move(urgent));
  EXPECT_EQ(urgent_outcome.get(), nullptr);
  EXPECT_EQ(deferred_outcome.get(), nullptr);
  const auto after = database.stats();
  EXPECT_EQ(after.write_jobs - before.write_jobs, 2U);
  EXPECT_EQ(after.write_batches - before.write_batches, 1U); // together, in one commit
  EXPECT_EQ(store_->connect()->count("SELECT count(*) FROM users"), 2);
}

TEST_P(database_test, deferrable_writes_alone_commit_once_the_oldest_has_waited_its_limit) {
  const auto opened = store_->open(1, std::chrono::milliseconds(1));
  auto& database = *opened;
  std::vector<std::future<std::exception_ptr>> outcomes;
  for (int index = 0; index < 3; ++index) {
    auto deferred = insert_user_job(phone_number(index), true);
    outcomes.push_back(deferred->outcome());
    database.submit_write(std::move(deferred));
  }
  for (auto& outcome : outcomes) {
    EXPECT_EQ(outcome.get(), nullptr);
  }
  EXPECT_EQ(store_->connect()->count("SELECT count(*) FROM users"), 3);
  // The next ordinary write (after a batch that set the engine's lighter flush) commits too.
  auto urgent = insert_user_job(phone_number(9), false);
  auto urgent_outcome = urgent->outcome();
  database.submit_write(std::move(urgent));
  EXPECT_EQ(urgent_outcome.get(), nullptr);
}

TEST_P(database_test, stop_commits_deferred_writes_without_waiting_their_limit) {
  {
    const auto opened = store_->open(1, k_forever);
    auto deferred = insert_user_job(phone_number(1), true);
    auto outcome = deferred->outcome();
    opened->submit_write(std::move(deferred));
    opened->stop();
    EXPECT_EQ(outcome.get(), nullptr);
  }
  EXPECT_EQ(store_->connect()->count("SELECT count(*) FROM users"), 1);
}

TEST_P(database_test, a_job_submitted_after_stop_fails_instead_of_hanging) {
  const auto opened = store_->open(1);
  auto& database = *opened;
  database.stop();
  auto late = std::make_unique<recorded_job>([](write_transaction&) {});
  auto outcome = late->outcome();
  database.submit_write(std::move(late));
  EXPECT_NE(outcome.get(), nullptr);
}

} // namespace
} // namespace parley::store

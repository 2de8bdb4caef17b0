// database::write_here on both engines: SQLite lets an I/O thread commit a light load of writes
// itself, together, in their order, each job failing alone, and leaves a heavier one, a slow
// disk's and any write of another thread to the writer thread; PostgreSQL keeps every write on
// its writer thread.

#include "store/engines.hpp"
#include "store/threaded_database.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace parley::store {
namespace {

using namespace std::chrono_literals;

// Where a write ran and completed, and in which order it completed among its fellows.
struct traced {
  int runs = 0; // two when its batch ran again job by job (one of them failed)
  std::thread::id ran_on;
  std::thread::id completed_on;
  std::exception_ptr failure;
  std::size_t completed_as = 0;
};

// Completions in order, shared by the writes of one test.
struct completions {
  std::mutex mutex;
  std::size_t count = 0; // guarded by mutex
};

// What a write does instead of inserting a user (it may run twice: job::run_write).
using write_action = std::function<void(write_transaction&)>;

// A write inserting a user with `phone` or running `action` (then failing, when told to),
// recording its trace.
class traced_write final : public job {
public:
  traced_write(completions& order, std::string phone, bool deferrable, bool fail,
               write_action action = {})
      : order_(order), phone_(std::move(phone)), deferrable_(deferrable), fail_(fail),
        action_(std::move(action)) {}
  void run_write(write_transaction& transaction) override {
    ++trace_.runs;
    trace_.ran_on = std::this_thread::get_id();
    if (action_) {
      action_(transaction);
    } else {
      transaction.insert_user(phone_, "user", 1);
    }
    if (fail_) {
      throw std::runtime_error("this job fails");
    }
  }
  void complete(std::exception_ptr failure) override {
    trace_.completed_on = std::this_thread::get_id();
    trace_.failure = failure;
    {
      const std::lock_guard lock(order_.mutex);
      trace_.completed_as = order_.count++;
    }
    outcome_.set_value(trace_);
  }
  [[nodiscard]] bool deferrable() const override { return deferrable_; }
  std::future<traced> outcome() { return outcome_.get_future(); }

private:
  completions& order_;
  std::string phone_;
  bool deferrable_;
  bool fail_;
  write_action action_;
  traced trace_;
  std::promise<traced> outcome_;
};

// A read of whether a user with `phone` exists, on a reader thread.
class exists_read final : public job {
public:
  explicit exists_read(std::string phone) : phone_(std::move(phone)) {}
  void run_read(read_transaction& transaction) override {
    found_ = transaction.user_by_phone(phone_).has_value();
  }
  void complete(std::exception_ptr failure) override {
    if (failure) {
      outcome_.set_exception(failure);
    } else {
      outcome_.set_value(found_);
    }
  }
  std::future<bool> outcome() { return outcome_.get_future(); }

private:
  std::string phone_;
  bool found_ = false;
  std::promise<bool> outcome_;
};

struct write_spec {
  bool deferrable = false;
  bool fail = false;
  write_action action = {};
};

class write_here_test : public ::testing::TestWithParam<conformance::engine> {
protected:
  // Deferrable writes wait an hour for others: only a write that is not deferrable takes them.
  std::unique_ptr<conformance::test_store> store_ = conformance::test_store::make(GetParam());
  std::unique_ptr<database> database_ = store_->open(1, std::chrono::hours(1));
  boost::asio::io_context io_; // run by this thread: the "I/O thread"
  const std::thread::id here_ = std::this_thread::get_id();
  completions order_;
  int next_phone_ = 0;

  bool writes_here() const { return GetParam() == conformance::engine::sqlite; }

  // Once the writer thread has started and found nothing to take: a writer thread still
  // starting would take the first jobs it finds, whatever this thread meant for them.
  static void wait_until_writer_asleep(const threaded_database& threaded) {
    while (!threaded.writer_asleep()) {
      std::this_thread::yield();
    }
  }

  // Submits `specs` to `target` from one handler of io_ (as a socket's events would be), runs
  // io_ until nothing is left to run there, and returns the writes' traces in submission order
  // once the writer thread (if it took them) has let go of its connection.
  std::vector<traced> write_round(const std::vector<write_spec>& specs,
                                  database* target = nullptr, bool stopped = false) {
    target = target != nullptr ? target : database_.get();
    // So that the writer takes none of the round before all are queued (a stopped database has
    // no writer left to wait for).
    const auto& threaded = dynamic_cast<const threaded_database&>(*target);
    if (!stopped) {
      wait_until_writer_asleep(threaded);
    }
    std::vector<std::future<traced>> outcomes;
    boost::asio::post(io_, [&] {
      for (const auto& spec : specs) {
        auto work =
            std::make_unique<traced_write>(order_, fmt::format("+1415555{:04d}", next_phone_++),
                                           spec.deferrable, spec.fail, spec.action);
        outcomes.push_back(work->outcome());
        target->submit_write(std::move(work));
      }
    });
    io_.restart();
    io_.run();
    std::vector<traced> traces;
    for (auto& outcome : outcomes) {
      traces.push_back(outcome.get());
    }
    // The writer thread holds its connection from its jobs' completion to its next take.
    while (threaded.writes_claimed()) {
      std::this_thread::yield();
    }
    return traces;
  }

  // A direct conversation of `low` and `high`, with both as members.
  static id direct(write_transaction& transaction, id low, id high) {
    const auto created = transaction.insert_conversation(conversation_kind::direct, std::nullopt,
                                                         std::pair{low, high}, low, 1);
    transaction.insert_member(created.conversation_id, low, 1);
    transaction.insert_member(created.conversation_id, high, 1);
    return created.conversation_id;
  }

  // A write sending a message of `sender` to `conversation`, noting its id in sent[slot] (0
  // when it stores none).
  static write_action send_noted(std::vector<id>& sent, std::size_t slot, id conversation,
                                 id sender) {
    return [&sent, slot, conversation, sender](write_transaction& transaction) {
      const auto stored = transaction.append_message(conversation, sender, "hi", 2,
                                                     fmt::format("c{}", slot), std::nullopt);
      sent[slot] = stored ? stored->message.message_id : 0;
    };
  }

  bool exists(int index) {
    auto read = std::make_unique<exists_read>(fmt::format("+1415555{:04d}", index));
    auto outcome = read->outcome();
    database_->submit_read(std::move(read));
    return outcome.get();
  }
};
PARLEY_STORE_ENGINES(write_here_test);

TEST_P(write_here_test, a_light_load_commits_on_the_asking_thread_together_and_in_order) {
  const auto local = database_->write_here(io_.get_executor(), 1s);
  ASSERT_EQ(local != nullptr, writes_here()); // PostgreSQL's commits wait on the network
  const auto traces = write_round({{}, {}, {}});
  for (std::size_t index = 0; index < traces.size(); ++index) {
    EXPECT_EQ(traces[index].ran_on == here_, writes_here());
    EXPECT_EQ(traces[index].completed_on, traces[index].ran_on);
    EXPECT_EQ(traces[index].completed_as, index);
    EXPECT_FALSE(traces[index].failure);
  }
  const auto counted = database_->stats();
  EXPECT_EQ(counted.write_jobs, 3U);
  if (writes_here()) {
    EXPECT_EQ(counted.write_batches, 1U); // the three asked for in one handler, one commit
    EXPECT_EQ(counted.write_batches_here, 1U);
  } else {
    EXPECT_EQ(counted.write_batches_here, 0U);
  }
  // Committed: a reader sees them.
  for (int index = 0; index < 3; ++index) {
    EXPECT_TRUE(exists(index)) << index;
  }
}

TEST_P(write_here_test, a_deferrable_write_queued_before_commits_with_the_next_one_here) {
  const auto local = database_->write_here(io_.get_executor(), 1s);
  // The deferrable write wakes the writer thread, asleep without a deadline, which then sleeps
  // until the write's (an hour); only then comes the next write (woken later, the writer
  // could find both and take them).
  auto deferred = std::make_unique<traced_write>(order_, "+14155559999", true, false);
  auto deferred_outcome = deferred->outcome();
  database_->submit_write(std::move(deferred));
  const auto& threaded = dynamic_cast<const threaded_database&>(*database_);
  while (!threaded.writer_asleep() || threaded.writer_asleep_without_deadline()) {
    std::this_thread::yield();
  }
  const auto traces = write_round({{}});
  const auto deferred_trace = deferred_outcome.get();
  // It would otherwise have waited its hour (on PostgreSQL both are the writer thread's).
  EXPECT_EQ(deferred_trace.ran_on == here_, writes_here());
  EXPECT_EQ(traces[0].ran_on, deferred_trace.ran_on);
  EXPECT_EQ(deferred_trace.completed_as, 0U);
  EXPECT_EQ(database_->stats().write_batches, 1U);
}

TEST_P(write_here_test, a_job_that_fails_here_fails_alone) {
  const auto local = database_->write_here(io_.get_executor(), 1s);
  const auto traces = write_round({{}, {.fail = true}, {}});
  EXPECT_FALSE(traces[0].failure);
  EXPECT_TRUE(traces[1].failure);
  EXPECT_FALSE(traces[2].failure);
  for (const auto& trace : traces) {
    EXPECT_EQ(trace.completed_on == here_, writes_here());
  }
  EXPECT_TRUE(exists(0));
  EXPECT_FALSE(exists(1));
  EXPECT_TRUE(exists(2));
}

TEST_P(write_here_test, more_than_the_most_at_once_go_to_the_writer_thread) {
  const auto local = database_->write_here(io_.get_executor(), 1s);
  // sqlite_options::most_jobs_here is 8.
  const auto traces = write_round(std::vector<write_spec>(9));
  for (const auto& trace : traces) {
    EXPECT_NE(trace.ran_on, here_);
  }
  EXPECT_EQ(database_->stats().write_batches_here, 0U);
  // The last batch held nine: the next light one is the writer's too, and then they are light.
  EXPECT_NE(write_round({{}})[0].ran_on, here_);
  EXPECT_EQ(write_round({{}})[0].ran_on == here_, writes_here());
}

TEST_P(write_here_test, after_a_commit_over_the_budget_the_writer_thread_commits) {
  // No commit (a flush to disk) takes under a microsecond; the first has none to go by.
  const auto local = database_->write_here(io_.get_executor(), 1us);
  EXPECT_EQ(write_round({{}})[0].ran_on == here_, writes_here());
  EXPECT_NE(write_round({{}})[0].ran_on, here_);
  EXPECT_NE(write_round({{}})[0].ran_on, here_);
}

TEST_P(write_here_test, only_the_thread_and_the_database_that_made_it_write_here_while_it_lives) {
  auto local = database_->write_here(io_.get_executor(), 1s);
  // Another thread's write goes to the writer thread.
  std::thread::id other_thread;
  std::thread([&] {
    other_thread = std::this_thread::get_id();
    auto traces = write_round({{}});
    EXPECT_NE(traces[0].ran_on, other_thread);
  }).join();
  // Another database's write from this thread goes to its own writer thread.
  auto other_store = conformance::test_store::make(GetParam());
  auto other_database = other_store->open(1);
  EXPECT_NE(write_round({{}}, other_database.get())[0].ran_on, here_);
  // This one, here, until `local` is gone.
  EXPECT_EQ(write_round({{}})[0].ran_on == here_, writes_here());
  local.reset();
  EXPECT_NE(write_round({{}})[0].ran_on, here_);
  // A zero budget gives nothing to hold.
  EXPECT_EQ(database_->write_here(io_.get_executor(), 0us), nullptr);
}

TEST_P(write_here_test, a_write_its_caller_waits_for_goes_to_the_writer_thread) {
  const auto local = database_->write_here(io_.get_executor(), 1s);
  wait_until_writer_asleep(dynamic_cast<const threaded_database&>(*database_));
  // io_ does not run while this thread waits: left to it, the write would never commit.
  const auto ran_on = blocking_write(*database_, [](write_transaction& transaction) {
    transaction.insert_user("+14155558888", "Waiting", 1);
    return std::this_thread::get_id();
  });
  EXPECT_NE(ran_on, here_);
  EXPECT_EQ(database_->stats().write_batches_here, 0U);
}

TEST_P(write_here_test, a_write_asked_for_here_after_stop_fails) {
  const auto local = database_->write_here(io_.get_executor(), 1s);
  database_->stop();
  const auto traces = write_round({{}}, nullptr, true);
  EXPECT_TRUE(traces[0].failure);
}

// The messages of one batch take ids that follow one another (SQLite's writer knows the next
// after its batch's last insert) without a conflict that would make the batch run again, and
// stay above those a job of the batch deleted; a job that fails (its message rolled back, the
// batch run again job by job) takes its id nowhere.
TEST_P(write_here_test, messages_of_one_batch_take_new_ids_above_those_deleted_in_it) {
  struct pair_ids {
    id kept, gone, alice, bob, carol;
  };
  const auto made = blocking_write(*database_, [](write_transaction& transaction) {
    const auto user = [&](std::string_view phone) {
      return transaction.insert_user(phone, "user", 1).user_id;
    };
    pair_ids ids{0, 0, user("+14155550001"), user("+14155550002"), user("+14155550003")};
    ids.kept = direct(transaction, ids.alice, ids.bob);
    ids.gone = direct(transaction, ids.alice, ids.carol);
    return ids;
  });
  auto local = database_->write_here(io_.get_executor(), 1s);
  std::vector<id> sent(6, 0); // by job, 0 until it stores its message
  const auto send = [&](std::size_t slot, id conversation, id sender) {
    return send_noted(sent, slot, conversation, sender);
  };
  const auto traces = write_round({
      {.action = send(0, made.kept, made.alice)},
      {.action = send(1, made.gone, made.carol)},
      {.action = send(2, made.gone, made.alice)},
      {.action = [&](write_transaction& transaction) { transaction.delete_messages(made.gone); }},
      {.action = send(3, made.kept, made.bob)},
  });
  for (std::size_t index = 0; index < traces.size(); ++index) {
    EXPECT_FALSE(traces[index].failure) << index;
    EXPECT_EQ(traces[index].ran_on == here_, writes_here()) << index; // SQLite: one batch
    if (writes_here()) { // (PostgreSQL runs a send to a lower conversation in a new transaction)
      EXPECT_EQ(traces[index].runs, 1) << index; // no id taken twice: the batch never ran again
    }
  }
  EXPECT_LT(sent[0], sent[1]);
  EXPECT_LT(sent[1], sent[2]);
  EXPECT_GT(sent[3], sent[2]); // above the deleted newest
  const auto next = write_round({{.fail = true, .action = send(4, made.kept, made.alice)},
                                 {.action = send(5, made.kept, made.alice)}});
  EXPECT_TRUE(next[0].failure);
  EXPECT_FALSE(next[1].failure);
  EXPECT_GT(sent[5], sent[3]);
  local.reset(); // a blocking write from the thread that writes here would wait for itself
  const auto kept = blocking_write(*database_, [&](write_transaction& transaction) {
    std::vector<id> ids;
    for (const auto& position : transaction.page_positions(made.kept, std::nullopt, 0, 10)) {
      ids.push_back(position.message_id);
    }
    return ids;
  });
  EXPECT_EQ(kept, (std::vector<id>{sent[5], sent[3], sent[0]})); // newest first; 4 rolled back
}

// SQLite's writer knows the next message id from one commit to the next, unless another
// connection wrote in between: a message stored elsewhere meanwhile (an operator's tool, say)
// keeps its id, and the next send takes one above it without a conflict (which would make its
// batch run again).
TEST_P(write_here_test, a_send_after_another_connections_insert_takes_an_id_above_it) {
  struct pair_ids {
    id conversation, alice, bob;
  };
  const auto made = blocking_write(*database_, [](write_transaction& transaction) {
    const auto alice = transaction.insert_user("+14155550001", "user", 1).user_id;
    const auto bob = transaction.insert_user("+14155550002", "user", 1).user_id;
    return pair_ids{direct(transaction, alice, bob), alice, bob};
  });
  auto local = database_->write_here(io_.get_executor(), 1s);
  std::vector<id> sent(3, 0);
  const auto send = [&](std::size_t slot) {
    return send_noted(sent, slot, made.conversation, made.alice);
  };
  const auto first = write_round({{.action = send(0)}, {.action = send(1)}});
  const auto elsewhere = store_->connect();
  const auto stored = elsewhere->transaction().append_message(made.conversation, made.bob, "hey", 3,
                                                              "elsewhere", std::nullopt);
  ASSERT_TRUE(stored);
  const auto next = write_round({{.action = send(2)}});
  for (const auto& trace : {first[0], first[1], next[0]}) {
    EXPECT_FALSE(trace.failure);
    EXPECT_EQ(trace.runs, 1); // no id taken twice: no batch ran again
  }
  EXPECT_LT(sent[0], sent[1]);
  EXPECT_LT(sent[1], stored->message.message_id);
  EXPECT_GT(sent[2], stored->message.message_id);
  local.reset(); // a blocking write from the thread that writes here would wait for itself
  const auto count = blocking_write(*database_, [&](write_transaction& transaction) {
    return transaction.page_positions(made.conversation, std::nullopt, 0, 10).size();
  });
  EXPECT_EQ(count, 4U);
}

} // namespace
} // namespace parley::store

// database::read_here on both engines: SQLite runs a thread's reads on that thread within a
// budget, and moves a read to a reader thread when it runs over, fails or is asked for from
// inside another; PostgreSQL keeps every read on its reader threads.

#include "store/engines.hpp"
#include "store/errors.hpp"

#include "support/run_coroutine.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <functional>
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

using namespace std::chrono_literals;

// Where a read's runs ran and where it completed.
struct traced {
  std::vector<std::thread::id> threads; // one per run
  std::thread::id completed_on;
  std::exception_ptr failure;
  // Completed before submit_read returned. Only "true" says something: a reader thread may
  // also finish before the caller looks.
  bool ready_at_once = false;
};

// A read that records on which thread each of its runs ran; `work` gets the run's number (1
// for the first). Its trace goes out with its outcome (the store destroys a job once done).
class traced_read final : public job {
public:
  explicit traced_read(std::function<void(read_transaction&, int)> work) : work_(std::move(work)) {}
  void run_read(read_transaction& transaction) override {
    trace_.threads.push_back(std::this_thread::get_id());
    work_(transaction, static_cast<int>(trace_.threads.size()));
  }
  void complete(std::exception_ptr failure) override {
    trace_.completed_on = std::this_thread::get_id();
    trace_.failure = failure;
    outcome_.set_value(std::move(trace_));
  }
  std::future<traced> outcome() { return outcome_.get_future(); }

private:
  std::function<void(read_transaction&, int)> work_;
  traced trace_;
  std::promise<traced> outcome_;
};

// Submits a traced read and waits for its outcome (a failure rethrown).
traced read_traced(database& target, std::function<void(read_transaction&, int)> work) {
  auto read = std::make_unique<traced_read>(std::move(work));
  auto outcome = read->outcome();
  target.submit_read(std::move(read));
  const bool ready_at_once = outcome.wait_for(0s) == std::future_status::ready;
  auto result = outcome.get();
  if (result.failure) {
    std::rethrow_exception(result.failure);
  }
  result.ready_at_once = ready_at_once;
  return result;
}

class read_here_test : public ::testing::TestWithParam<conformance::engine> {
protected:
  std::unique_ptr<conformance::test_store> store_ = conformance::test_store::make(GetParam());
  std::unique_ptr<database> database_ = store_->open(2);
  const std::thread::id here_ = std::this_thread::get_id();

  bool reads_here() const { return GetParam() == conformance::engine::sqlite; }

  id insert_user(const std::string& phone) {
    return blocking_write(*database_,
                          [phone](write_transaction& transaction) {
                            return transaction.insert_user(phone, "user", 1);
                          })
        .user_id;
  }
};
PARLEY_STORE_ENGINES(read_here_test);

TEST_P(read_here_test, reads_run_on_the_asking_thread_and_each_sees_the_last_commit) {
  const auto local = database_->read_here(1s);
  ASSERT_EQ(local != nullptr, reads_here()); // PostgreSQL's reads wait on the network
  for (int round = 0; round < 3; ++round) {
    const auto phone = fmt::format("+1415555{:04d}", round);
    const auto user = insert_user(phone);
    std::optional<user_row> found;
    const auto run = read_traced(*database_, [&](read_transaction& transaction, int) {
      found = transaction.user_by_phone(phone);
    });
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->user_id, user);
    ASSERT_EQ(run.threads.size(), 1U);
    EXPECT_EQ(run.threads[0] == here_, reads_here());
    if (reads_here()) {
      EXPECT_TRUE(run.ready_at_once); // run and completed inside submit_read
    }
  }
  const auto counted = database_->stats();
  EXPECT_EQ(counted.read_jobs, 3U);
  EXPECT_EQ(counted.reads_here, reads_here() ? 3U : 0U);
  EXPECT_EQ(counted.reads_moved, 0U);
}

TEST_P(read_here_test, a_read_over_its_budget_runs_again_from_the_start_on_a_reader_thread) {
  // 300 contacts, read sorted by name: thousands of SQLite steps, far more than one
  // microsecond, so the first look at the budget (every thousand steps) finds it spent.
  const auto owner = insert_user("+14155550000");
  blocking_write(*database_, [owner](write_transaction& transaction) {
    for (int index = 1; index <= 300; ++index) {
      const auto contact =
          transaction.insert_user(fmt::format("+1415555{:04d}", index), "user", 1).user_id;
      transaction.insert_contact(owner, contact, fmt::format("name {:03d}", 300 - index), 1);
    }
    return true;
  });
  const auto local = database_->read_here(1us);
  ASSERT_EQ(local != nullptr, reads_here());
  std::vector<std::size_t> counts;
  const auto run = read_traced(*database_, [&](read_transaction& transaction, int) {
    counts.push_back(transaction.contacts_of(owner).size());
  });
  EXPECT_NE(run.completed_on, here_);
  EXPECT_EQ(counts, std::vector<std::size_t>{300}); // an interrupted run never got its answer
  if (reads_here()) {
    ASSERT_EQ(run.threads.size(), 2U); // interrupted here, then whole on a reader
    EXPECT_EQ(run.threads[0], here_);
    EXPECT_NE(run.threads[1], here_);
  } else {
    ASSERT_EQ(run.threads.size(), 1U);
    EXPECT_NE(run.threads[0], here_);
  }
  const auto counted = database_->stats();
  EXPECT_EQ(counted.read_jobs, 1U);
  EXPECT_EQ(counted.reads_here, 0U);
  EXPECT_EQ(counted.reads_moved, reads_here() ? 1U : 0U);
}

TEST_P(read_here_test, a_read_that_fails_here_is_run_again_by_a_reader_which_gives_the_outcome) {
  const auto local = database_->read_here(1s);
  // Fails on its first run only: here, that run; the reader's succeeds and is the outcome.
  const auto fails_once = [](read_transaction&, int run) {
    if (run == 1) {
      throw database_error(database_error::kind::other, "first run fails");
    }
  };
  if (reads_here()) {
    const auto once = read_traced(*database_, fails_once);
    ASSERT_EQ(once.threads.size(), 2U);
    EXPECT_EQ(once.threads[0], here_);
    EXPECT_NE(once.threads[1], here_);
  } else { // its one run is on a reader
    EXPECT_THROW(read_traced(*database_, fails_once), database_error);
  }
  // Fails on every run: the reader's failure is the caller's.
  EXPECT_THROW(read_traced(*database_,
                           [](read_transaction&, int) {
                             throw database_error(database_error::kind::other, "always fails");
                           }),
               database_error);
  EXPECT_EQ(database_->stats().reads_moved, reads_here() ? 2U : 0U);
}

TEST_P(read_here_test, a_read_asked_for_inside_one_running_here_goes_to_a_reader_thread) {
  const auto local = database_->read_here(1s);
  std::future<traced> inner_outcome;
  const auto outer = read_traced(*database_, [&](read_transaction&, int) {
    auto read = std::make_unique<traced_read>([](read_transaction&, int) {});
    inner_outcome = read->outcome();
    database_->submit_read(std::move(read));
  });
  const auto inner = inner_outcome.get();
  EXPECT_EQ(inner.failure, nullptr);
  ASSERT_EQ(inner.threads.size(), 1U);
  EXPECT_NE(inner.threads[0], here_);
  EXPECT_EQ(outer.threads[0] == here_, reads_here());
  EXPECT_EQ(database_->stats().reads_moved, 0U); // not started here, so not moved
}

TEST_P(read_here_test, only_the_thread_and_the_database_that_made_it_read_here_while_it_lives) {
  auto local = database_->read_here(1s);
  // Another thread reads on reader threads.
  std::thread::id other_thread;
  traced elsewhere;
  std::thread([&] {
    other_thread = std::this_thread::get_id();
    elsewhere = read_traced(*database_, [](read_transaction&, int) {});
  }).join();
  ASSERT_EQ(elsewhere.threads.size(), 1U);
  EXPECT_NE(elsewhere.threads[0], other_thread);
  EXPECT_NE(elsewhere.threads[0], here_);
  // Another database read from this thread reads on its own reader threads.
  auto other_store = conformance::test_store::make(GetParam());
  auto other_database = other_store->open(1);
  const auto other = read_traced(*other_database, [](read_transaction&, int) {});
  EXPECT_NE(other.threads[0], here_);
  // This one, here, until `local` is gone.
  EXPECT_EQ(read_traced(*database_, [](read_transaction&, int) {}).threads[0] == here_,
            reads_here());
  local.reset();
  EXPECT_NE(read_traced(*database_, [](read_transaction&, int) {}).threads[0], here_);
  // A zero budget gives nothing to hold.
  EXPECT_EQ(database_->read_here(0us), nullptr);
}

// A read that says it is long (database::read's `long_read`), recording its thread.
struct long_thread_read {
  static constexpr bool long_read = true;
  std::thread::id operator()(read_transaction&) const { return std::this_thread::get_id(); }
};
struct short_thread_read {
  std::thread::id operator()(read_transaction&) const { return std::this_thread::get_id(); }
};

TEST_P(read_here_test, a_long_read_goes_to_a_reader_thread_without_being_tried_here) {
  const auto local = database_->read_here(1s);
  const auto read_on = [this](auto function) {
    return testing::run_coroutine(
        [](database& target, decltype(function) read) -> boost::asio::awaitable<std::thread::id> {
          co_return co_await target.read(std::move(read));
        }(*database_, function));
  };
  EXPECT_NE(read_on(long_thread_read{}), here_);
  EXPECT_EQ(read_on(short_thread_read{}) == here_, reads_here());
  const auto counted = database_->stats();
  EXPECT_EQ(counted.read_jobs, 2U);
  EXPECT_EQ(counted.reads_here, reads_here() ? 1U : 0U);
  EXPECT_EQ(counted.reads_moved, 0U); // never started here
}

TEST_P(read_here_test, a_read_asked_for_here_after_stop_fails) {
  const auto local = database_->read_here(1s);
  database_->stop();
  EXPECT_THROW(read_traced(*database_, [](read_transaction&, int) {}), std::runtime_error);
}

} // namespace
} // namespace parley::store

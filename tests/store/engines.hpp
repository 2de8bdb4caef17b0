#pragma once
// The store's conformance suite runs every test on both engines: a test is written once
// against these handles and instantiated for SQLite (a file in a temporary directory) and for
// PostgreSQL (a schema of its own in the test server that ctest starts; see
// tests/support/services.hpp), which is dropped at the end.

#include "store/database.hpp"
#include "store/transaction.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::store::conformance {

enum class engine { sqlite, postgres };

/// "sqlite" / "postgres", for test names.
std::string engine_name(const ::testing::TestParamInfo<engine>& info);

/// A connection of the test's own, in autocommit unless inside begin() … commit().
class test_connection {
public:
  virtual ~test_connection() = default;
  /// The transaction interface over this connection.
  virtual write_transaction& transaction() = 0;
  /// Applies the migrations up to `target` (all by default); returns the version reached.
  virtual int migrate(int target = -1) = 0;
  /// Runs statements without parameters.
  virtual void execute(std::string_view sql) = 0;
  /// Every row of a query, each column as text (NULL as "NULL", true / false as 1 / 0).
  virtual std::vector<std::vector<std::string>> rows(std::string_view sql) = 0;
  virtual void begin() = 0;
  virtual void commit() = 0;
  /// The engine's plan for `sql` (?N parameters allowed), one line per step, with sequential
  /// scans made as costly as the engine allows so that any index that can serve is used.
  virtual std::string plan(std::string_view sql) = 0;
  /// True when the plan reads a whole table or index rather than seeking in one.
  virtual bool scans_whole(std::string_view plan) = 0;
  /// Records `version` as the schema's version (to fake a database from a newer build).
  virtual void force_schema_version(int version) = 0;
  /// After rows were inserted with explicit ids: later inserts take ids above them.
  virtual void ids_inserted() = 0;

  /// The single integer that `sql` returns.
  std::int64_t count(std::string_view sql) { return std::stoll(rows(sql).at(0).at(0)); }
};

/// One fresh, empty database.
class test_store {
public:
  static std::unique_ptr<test_store> make(engine which);
  virtual ~test_store() = default;
  virtual std::unique_ptr<test_connection> connect() = 0;
  /// The engine's database (writer and readers) on this store; migrates it. Deferrable writes
  /// wait at most `defer_limit` (job::deferrable); commits over `slow_commit` are logged (zero:
  /// none).
  virtual std::unique_ptr<database> open(std::size_t readers, std::chrono::milliseconds defer_limit,
                                         std::chrono::microseconds slow_commit) = 0;
  std::unique_ptr<database> open(std::size_t readers, std::chrono::milliseconds defer_limit) {
    return open(readers, defer_limit, std::chrono::microseconds(0));
  }
  std::unique_ptr<database> open(std::size_t readers) {
    return open(readers, std::chrono::milliseconds(20));
  }
  /// Its schema version as the open database reports it.
  virtual int schema_version_of(database& opened) = 0;
};

/// A write that runs `work` in its transaction and records its outcome (null: committed).
class recorded_job final : public job {
public:
  explicit recorded_job(std::function<void(write_transaction&)> work, bool deferrable = false)
      : work_(std::move(work)), deferrable_(deferrable) {}
  void run_write(write_transaction& transaction) override { work_(transaction); }
  void complete(std::exception_ptr failure) override { outcome_.set_value(failure); }
  [[nodiscard]] bool deferrable() const override { return deferrable_; }
  std::future<std::exception_ptr> outcome() { return outcome_.get_future(); }

private:
  std::function<void(write_transaction&)> work_;
  bool deferrable_;
  std::promise<std::exception_ptr> outcome_;
};

/// A write that inserts a user with `phone`.
inline std::unique_ptr<recorded_job> insert_user_job(std::string phone, bool deferrable) {
  return std::make_unique<recorded_job>(
      [phone = std::move(phone)](write_transaction& transaction) {
        transaction.insert_user(phone, "user", 1);
      },
      deferrable);
}

/// A test on both engines with a migrated store and a connection to it.
class store_test : public ::testing::TestWithParam<engine> {
protected:
  std::unique_ptr<test_store> store_ = test_store::make(GetParam());
  std::unique_ptr<test_connection> connection_ = store_->connect();
  write_transaction& transaction_ = connection_->transaction();

  void SetUp() override { connection_->migrate(); }

  std::int64_t count(std::string_view sql) { return connection_->count(sql); }

  /// page_positions' messages, each read by id (and its version checked).
  std::vector<message_row> messages_before(id conversation, std::optional<id> before, id from_seq,
                                           int limit);

  /// `action` fails with a constraint error (unique, foreign key or check).
  static void expect_constraint(const std::function<void()>& action);
};

} // namespace parley::store::conformance

/// Instantiates a suite of store_test (or a subclass) for both engines.
#define PARLEY_STORE_ENGINES(suite)                                                                \
  INSTANTIATE_TEST_SUITE_P(engines, suite,                                                          \
                           ::testing::Values(::parley::store::conformance::engine::sqlite,             \
                                             ::parley::store::conformance::engine::postgres),          \
                           ::parley::store::conformance::engine_name)

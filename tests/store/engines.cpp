#include "store/engines.hpp"

#include "store/postgres_database.hpp"
#include "store/postgres_migrations.hpp"
#include "store/postgres_transaction.hpp"
#include "store/sqlite_database.hpp"
#include "store/sqlite_migrations.hpp"
#include "store/sqlite_transaction.hpp"

#include "support/services.hpp"
#include "support/temporary_directory.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <unistd.h>

namespace parley::store::conformance {
namespace {

/// The rows of `statement` as text, for either engine's statement type.
template <class Statement> std::vector<std::vector<std::string>> text_rows(Statement& statement) {
  std::vector<std::vector<std::string>> result;
  while (statement.step()) {
    auto& row = result.emplace_back();
    for (int column = 0; column < statement.columns(); ++column) {
      row.push_back(statement.is_null(column) ? "NULL" : statement.text(column));
    }
  }
  return result;
}

// -- SQLite ---------------------------------------------------------------------------------

class sqlite_connection final : public test_connection {
public:
  explicit sqlite_connection(const std::string& path)
      : db_(path, sqlite::open_mode::read_write_create) {
    db_.execute("PRAGMA foreign_keys = ON");
    db_.execute("PRAGMA journal_mode = WAL");
    db_.execute("PRAGMA busy_timeout = 10000");
  }
  write_transaction& transaction() override { return transaction_; }
  int migrate(int target) override { return store::migrate(db_, target); }
  void execute(std::string_view sql) override { db_.execute(sql); }
  std::vector<std::vector<std::string>> rows(std::string_view sql) override {
    sqlite::statement statement(db_, sql);
    return text_rows(statement);
  }
  void begin() override { db_.execute("BEGIN IMMEDIATE"); }
  void commit() override { db_.execute("COMMIT"); }
  std::string plan(std::string_view sql) override {
    sqlite::statement plan(db_, "EXPLAIN QUERY PLAN " + std::string(sql));
    std::string details;
    while (plan.step()) {
      details += plan.text(3) + "\n";
    }
    return details;
  }
  bool scans_whole(std::string_view plan) override {
    // A subquery's rows are scanned (as "(subquery-N)" or by the name of a co-routine or a
    // materialised view); a table or an index never is.
    std::vector<std::string> subqueries{"(subquery-"};
    for (const std::string_view kind : {"CO-ROUTINE ", "MATERIALIZE "}) {
      for (auto at = plan.find(kind); at != std::string_view::npos; at = plan.find(kind, at + 1)) {
        const auto start = at + kind.size();
        subqueries.emplace_back(plan.substr(start, plan.find('\n', start) - start));
      }
    }
    for (auto at = plan.find("SCAN "); at != std::string_view::npos;
         at = plan.find("SCAN ", at + 1)) {
      const auto target = plan.substr(at + 5, plan.find('\n', at) - at - 5);
      if (std::ranges::none_of(subqueries, [&](const std::string& name) {
            return target.starts_with(name);
          })) {
        return true;
      }
    }
    return false;
  }
  void force_schema_version(int version) override {
    db_.execute(fmt::format("PRAGMA user_version = {}", version));
  }
  void ids_inserted() override {} // rowids follow the largest

private:
  sqlite::connection db_;
  sqlite_write_transaction transaction_{db_};
};

class sqlite_store final : public test_store {
public:
  std::unique_ptr<test_connection> connect() override {
    return std::make_unique<sqlite_connection>(path_);
  }
  std::unique_ptr<database> open(std::size_t readers, std::chrono::milliseconds defer_limit,
                                 std::chrono::microseconds slow_commit) override {
    sqlite_options options{path_, readers};
    options.defer_limit = defer_limit;
    options.slow_commit = slow_commit;
    return std::make_unique<sqlite_database>(std::move(options));
  }
  int schema_version_of(database& opened) override {
    return dynamic_cast<sqlite_database&>(opened).schema_version();
  }

private:
  parley::testing::temporary_directory directory_;
  std::string path_ = directory_.file("parley.db");
};

// -- PostgreSQL -----------------------------------------------------------------------------

class postgres_connection final : public test_connection {
public:
  explicit postgres_connection(const std::string& url)
      : db_(url, postgres::connection_options{std::chrono::seconds(30), true}) {}
  write_transaction& transaction() override { return transaction_; }
  int migrate(int target) override { return store::migrate(db_, target); }
  void execute(std::string_view sql) override { db_.execute(sql); }
  std::vector<std::vector<std::string>> rows(std::string_view sql) override {
    postgres::statement statement(db_, std::string(sql));
    auto result = text_rows(statement);
    for (auto& row : result) {
      for (auto& value : row) { // booleans as SQLite shows them
        value = value == "t" ? "1" : value == "f" ? "0" : value;
      }
    }
    return result;
  }
  void begin() override { db_.execute("BEGIN"); }
  void commit() override { db_.execute("COMMIT"); }
  std::string plan(std::string_view sql) override {
    // Parameters become literals ('1' takes whatever type its place wants); a plan is then
    // made with sequential scans priced out, so a Seq Scan means no index can serve.
    std::string literal;
    for (std::size_t at = 0; at < sql.size(); ++at) {
      if (sql[at] == '?') {
        while (at + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[at + 1])) != 0) {
          ++at;
        }
        literal += "'1'";
      } else {
        literal += sql[at];
      }
    }
    db_.execute("SET enable_seqscan = off");
    std::string details;
    for (const auto& row : rows("EXPLAIN " + literal)) {
      details += row.at(0) + "\n";
    }
    db_.execute("SET enable_seqscan = on");
    return details;
  }
  bool scans_whole(std::string_view plan) override {
    return plan.find("Seq Scan") != std::string_view::npos;
  }
  void force_schema_version(int version) override {
    migrate(-1);
    db_.execute(fmt::format("UPDATE parley_schema SET version = {}", version));
  }
  void ids_inserted() override {
    execute("SELECT setval(pg_get_serial_sequence('users', 'id'), "
            "coalesce((SELECT max(id) FROM users), 1)); "
            "SELECT setval(pg_get_serial_sequence('conversations', 'id'), "
            "coalesce((SELECT max(id) FROM conversations), 1)); "
            "SELECT setval(pg_get_serial_sequence('messages', 'id'), "
            "coalesce((SELECT max(id) FROM messages), 1))");
  }

private:
  postgres::connection db_;
  postgres_transaction transaction_{db_};
};

/// A schema of its own in the test server, named for this process and a counter; its
/// connections carry that name as their application_name.
class postgres_store final : public test_store {
public:
  postgres_store()
      : admin_(parley::test::postgres_url(), postgres::connection_options{}),
        schema_(fmt::format("t{}_{}", ::getpid(), ++counter_)),
        url_(with_search_path(parley::test::postgres_url(), schema_)) {
    admin_.execute(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE; CREATE SCHEMA {}", schema_,
                               schema_));
  }
  ~postgres_store() override {
    try {
      admin_.execute(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema_));
    } catch (const std::exception& error) {
      ADD_FAILURE() << "dropping the test schema: " << error.what();
    }
  }
  std::unique_ptr<test_connection> connect() override {
    return std::make_unique<postgres_connection>(url_);
  }
  std::unique_ptr<database> open(std::size_t readers, std::chrono::milliseconds defer_limit,
                                 std::chrono::microseconds slow_commit) override {
    postgres_options options{url_, readers};
    options.defer_limit = defer_limit;
    options.slow_commit = slow_commit;
    return std::make_unique<postgres_database>(std::move(options));
  }
  int schema_version_of(database& opened) override {
    return dynamic_cast<postgres_database&>(opened).schema_version();
  }

private:
  static std::string with_search_path(const std::string& url, const std::string& schema) {
    const char separator = url.find('?') == std::string::npos ? '?' : '&';
    // application_name too, so that a test can find its own store's connections
    return fmt::format("{}{}options=-csearch_path%3D{}&application_name={}", url, separator,
                       schema, schema);
  }

  static inline std::atomic<int> counter_{0};
  postgres::connection admin_;
  std::string schema_;
  std::string url_;
};

} // namespace

std::string engine_name(const ::testing::TestParamInfo<engine>& info) {
  return info.param == engine::sqlite ? "sqlite" : "postgres";
}

std::unique_ptr<test_store> test_store::make(engine which) {
  if (which == engine::sqlite) {
    return std::make_unique<sqlite_store>();
  }
  return std::make_unique<postgres_store>();
}

void store_test::expect_constraint(const std::function<void()>& action) {
  try {
    action();
    FAIL() << "no constraint error";
  } catch (const database_error& error) {
    EXPECT_TRUE(error.constraint()) << error.what();
  }
}

std::vector<message_row> store_test::messages_before(id conversation, std::optional<id> before,
                                                     id from_seq, int limit) {
  std::vector<message_row> rows;
  for (const auto& position : transaction_.page_positions(conversation, before, from_seq, limit)) {
    auto row = transaction_.message(position.message_id);
    EXPECT_TRUE(row);
    EXPECT_EQ(row->updated_seq, position.updated_seq);
    rows.push_back(std::move(*row));
  }
  return rows;
}

} // namespace parley::store::conformance

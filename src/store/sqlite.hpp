#pragma once
// A small RAII layer over SQLite's C API: a connection, prepared statements with bound
// parameters, and a per-connection statement cache. A connection is used by one thread at
// a time (the store gives each thread its own). Errors throw sqlite_error: at this level a
// failed SQL call is either a bug or a broken disk, and the store turns it into a failed job.

#include "store/errors.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace parley::store::sqlite {

class sqlite_error : public database_error {
public:
  sqlite_error(int code, const std::string& message)
      : database_error((code & 0xff) == SQLITE_CONSTRAINT ? kind::constraint : kind::other,
                       message),
        code_(code) {}
  /// The extended result code (SQLITE_CONSTRAINT_UNIQUE, …).
  [[nodiscard]] int code() const { return code_; }

private:
  int code_;
};

class connection;

/// A prepared statement. Bind with 1-based indexes, step, read columns with 0-based indexes.
class statement {
public:
  statement(connection& owner, std::string_view sql);
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  statement(statement&& other) noexcept;
  statement& operator=(statement&&) = delete;

  statement& bind(int index, std::int64_t value);
  statement& bind(int index, std::string_view text);
  statement& bind_blob(int index, std::span<const unsigned char> bytes);
  statement& bind_null(int index);
  template <class T> statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  /// Advances to the next row: true when there is one, false when done.
  bool step();
  /// Runs a statement that returns no rows.
  void run() {
    while (step()) {
    }
  }
  /// Runs a statement whose answer nobody needs, and resets it (the twin of PostgreSQL's,
  /// which does not wait for it).
  void post() {
    run();
    reset();
  }
  /// Clears bindings and rewinds, ready for reuse.
  void reset();

  [[nodiscard]] int columns() const;
  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::int64_t integer(int column) const;
  [[nodiscard]] std::optional<std::int64_t> optional_integer(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::vector<unsigned char> blob(int column) const;

private:
  connection* owner_;
  sqlite3_stmt* handle_ = nullptr;
};

enum class open_mode { read_write_create, read_only };

class connection {
public:
  using statement_type = statement;
  /// Whether SELECT … FOR NO KEY UPDATE exists and is needed (SQLite has one writer at a time: no row locks).
  static constexpr bool row_locks = false;
  /// Whether RETURNING costs next to nothing: not in SQLite, which gathers a RETURNING's rows
  /// in an ephemeral b-tree, opened, zeroed and freed at every execution.
  static constexpr bool cheap_returning = false;
  /// Whether an identity column hands out ids that never come back: not here (a new message
  /// takes its id from chat_sql's message_id_floor rule).
  static constexpr bool identity_ids = false;
  /// Whether a statement can take an array of ids as one parameter: not here (and a
  /// statement per row costs no round trip).
  static constexpr bool array_parameters = false;
  /// Opens `path`; throws sqlite_error. Sets a busy timeout so that readers wait for a
  /// checkpoint instead of failing.
  connection(const std::string& path, open_mode mode);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Runs one or more statements without parameters (DDL, PRAGMA, BEGIN …).
  void execute(std::string_view sql);

  /// A statement prepared once per connection and kept; `sql` must outlive the connection
  /// (a string literal). The statement comes back reset.
  statement& cached(const char* sql);

  /// How long a statement waits for another connection's lock before failing with
  /// SQLITE_BUSY (zero: it fails at once). Five seconds from the constructor.
  void set_busy_timeout(std::chrono::milliseconds timeout);
  /// Calls `handler(context)` every `steps` virtual-machine steps of a statement; a non-zero
  /// answer interrupts it (sqlite_error with SQLITE_INTERRUPT). A null handler removes it.
  void set_progress_handler(int steps, int (*handler)(void*), void* context);

  [[nodiscard]] std::int64_t last_insert_rowid() const;
  [[nodiscard]] int changes() const;
  /// The main database's data version (SQLITE_FCNTL_DATA_VERSION): it changes with every
  /// commit of this connection and whenever a transaction of this connection finds that
  /// another one changed the database, so that two equal readings taken after this
  /// connection's commit and after its next BEGIN mean nobody else wrote in between. Nullopt
  /// if SQLite cannot tell (it always can for a database file).
  [[nodiscard]] std::optional<unsigned> data_version() const noexcept;
  [[nodiscard]] sqlite3* handle() const { return handle_; }

  /// Throws sqlite_error for a failed result code, with SQLite's message.
  void check(int result_code, std::string_view what) const;

private:
  sqlite3* handle_ = nullptr;
  std::unordered_map<const char*, statement> cache_;
};

/// BEGIN … COMMIT, rolled back by the destructor unless committed.
class transaction_guard {
public:
  enum class kind { deferred, immediate };
  transaction_guard(connection& db, kind begin_kind);
  ~transaction_guard();
  transaction_guard(const transaction_guard&) = delete;
  transaction_guard& operator=(const transaction_guard&) = delete;
  void commit();

private:
  connection& db_;
  bool open_ = true;
};

} // namespace parley::store::sqlite

#pragma once
// A small layer over libpq, the twin of sqlite.hpp: a connection, prepared statements with
// bound parameters and a per-connection statement cache, with the same calls (bind, step,
// integer, text, blob …) so that one transaction implementation serves both engines.
//
// The connection is non-blocking (PQsetnonblocking) and in pipeline mode: statements whose
// results nobody waits for (BEGIN, SAVEPOINT, RELEASE, COMMIT) are queued behind the next one
// that is waited for, so they cost no round trip of their own. Every wait for the server is an
// Asio wait on the connection's socket with a deadline, run on the store thread that owns the
// connection (never on an I/O thread): a server that stops answering fails the call after
// `timeout` instead of hanging the thread, and the connection is then broken for good (the
// owner opens a new one).
//
// SQL is written with SQLite's numbered parameters (?1, ?2 …), which this layer rewrites as
// PostgreSQL's $1, $2 …. Integers and text go as text (any inferred type accepts them),
// byte strings as binary bytea; results come back as text and are parsed by the accessors.

#include "store/errors.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct pg_conn;
struct pg_result;

namespace parley::store::postgres {

class connection;

/// A prepared statement. Bind with 1-based indexes, step, read columns with 0-based indexes.
/// The first step() sends it and waits for its whole result; later steps walk the rows.
class statement {
public:
  statement(connection& owner, std::string sql);
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
  /// Runs a statement that returns no rows (or whose rows nobody reads).
  void run() {
    while (step()) {
    }
  }
  /// Sends the statement and does not wait for it (pipeline mode): for a statement whose
  /// answer nobody needs. Its failure surfaces at the next wait, which may belong to a later
  /// caller: connection::failed_serial() says which statement failed. The statement may be
  /// reset and bound again at once.
  void post();
  /// Clears bindings and the result, ready for reuse.
  void reset();

  [[nodiscard]] int columns() const;
  [[nodiscard]] bool is_null(int column) const;
  /// Integers, and booleans as 0 / 1.
  [[nodiscard]] std::int64_t integer(int column) const;
  [[nodiscard]] std::optional<std::int64_t> optional_integer(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::vector<unsigned char> blob(int column) const;

private:
  enum class kind : char { null, text, binary };
  struct parameter {
    kind type = kind::null;
    unsigned int oid = 0; ///< The type given at PREPARE (0: inferred by the server).
    std::string value;
  };
  parameter& slot(int index);
  /// Prepares (the first time) and sends the statement; `wanted`: someone waits for its rows.
  void send(bool wanted);

  connection* owner_;
  std::string sql_;  ///< Already rewritten with $n parameters.
  std::string name_; ///< Of the server-side prepared statement; empty until prepared.
  std::vector<parameter> parameters_;
  pg_result* result_ = nullptr;
  int row_ = -1;
};

struct connection_options {
  /// The longest wait for the server in any one call (connecting included).
  std::chrono::milliseconds timeout{10'000};
  /// Each statement waited for is followed by a sync, which ends an implicit transaction:
  /// outside BEGIN … COMMIT every statement then commits on its own (autocommit, as a SQLite
  /// connection does). Without it, statements outside a transaction block share one implicit
  /// transaction until the next synchronise().
  bool autocommit = false;
};

/// One libpq connection, used by one thread at a time.
class connection {
public:
  using statement_type = statement;
  /// Whether SELECT … FOR NO KEY UPDATE exists and is needed (writers of one conversation on several nodes order themselves by its row lock).
  static constexpr bool row_locks = true;
  /// Whether RETURNING costs next to nothing (here: it saves a round trip).
  static constexpr bool cheap_returning = true;
  /// Whether an identity column hands out ids that never come back.
  static constexpr bool identity_ids = true;
  /// Whether a statement can take an array of ids as one parameter (unnest): many rows' worth
  /// of work in one statement and one round trip.
  static constexpr bool array_parameters = true;
  /// Connects to `url` (a postgres:// URL or a conninfo string); throws database_error.
  explicit connection(const std::string& url, connection_options options = {});
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Runs one or more statements without parameters (DDL, migrations) and waits for them
  /// (after everything sent before), leaving pipeline mode for the while.
  void execute(std::string_view sql);

  /// Sends one statement without parameters and does not wait for it (pipeline mode): its
  /// outcome is checked when a later call waits, and a failure surfaces there.
  void send(std::string_view sql);

  /// Waits for everything sent so far, then leaves the pipeline clean: after a failure in it,
  /// the server skips what follows until this sync. Throws the first failure, if any.
  void synchronise();

  /// True while a failure in the pipeline has not been cleared by synchronise().
  [[nodiscard]] bool aborted() const { return aborted_; }
  /// False once the connection is lost or timed out: it cannot be used again.
  [[nodiscard]] bool usable() const;
  /// Whether an idle connection still works, without waiting: a server that went away (a
  /// restart, a terminated backend) has closed the socket, which reads as end of file. Call
  /// before starting work on a connection that sat idle.
  [[nodiscard]] bool still_open();

  /// A statement prepared once per connection and kept; `sql` must outlive the connection
  /// (a string literal). The statement comes back reset.
  statement& cached(const char* sql);

  /// Rows changed by the last statement that finished.
  [[nodiscard]] int changes() const { return changes_; }

  /// How many statements have been sent on this connection: a serial for the next one.
  [[nodiscard]] std::uint64_t sent() const { return sent_; }
  /// The serial (sent() before it was sent) of the statement whose failure was last thrown;
  /// tells a failure of a statement posted earlier from one of the caller's own.
  [[nodiscard]] std::uint64_t failed_serial() const { return failed_serial_; }

private:
  friend class statement;
  enum class pending_kind : char { discard, wanted, sync };
  struct pending_statement {
    pending_kind kind;
    std::uint64_t serial;
  };
  void push_pending(pending_kind kind) { pending_.push_back({kind, sent_++}); }

  /// Takes the next result of the pipeline; nullptr marks the end of one statement's results.
  pg_result* next_result();
  /// Sends what libpq has buffered (after asking the server to flush its answers, when told).
  void flush(bool request_server_flush);
  /// Reads the results of the `count` oldest statements sent; returns the first failure.
  std::optional<database_error> drain(std::size_t count);
  /// Waits for the result of the statement just sent (and sync, in autocommit), after those
  /// sent before it.
  pg_result* wait_for_wanted(std::string_view what);
  void wait(bool for_write);
  /// Frees the statements and libpq's connection (its socket with it).
  void close() noexcept;
  [[noreturn]] void fail(std::string_view what);
  void check_sent(int ok, std::string_view what);
  /// The failure that `result` reports, if any (nullptr: the connection's own failure).
  std::optional<database_error> failure_of(pg_result* result, std::string_view what);
  std::string next_statement_name();

  pg_conn* handle_ = nullptr;
  connection_options options_;
  boost::asio::io_context io_;
  boost::asio::posix::stream_descriptor socket_{io_};
  boost::asio::steady_timer timer_{io_};
  std::deque<pending_statement> pending_;
  std::uint64_t sent_ = 0;
  std::uint64_t failed_serial_ = 0;
  bool aborted_ = false;
  bool broken_ = false;
  int changes_ = 0;
  std::uint64_t statements_ = 0;
  std::unordered_map<const char*, std::unique_ptr<statement>> cache_;
};

/// `sql` with SQLite's ?N parameters rewritten as $N (outside quoted text).
[[nodiscard]] std::string numbered_parameters(std::string_view sql);

} // namespace parley::store::postgres

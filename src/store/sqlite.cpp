#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <utility>

namespace parley::store::sqlite {

statement::statement(connection& owner, std::string_view sql) : owner_(&owner) {
  owner.check(sqlite3_prepare_v3(owner.handle(), sql.data(), static_cast<int>(sql.size()),
                                 SQLITE_PREPARE_PERSISTENT, &handle_, nullptr),
              sql);
}

statement::~statement() { sqlite3_finalize(handle_); }

statement::statement(statement&& other) noexcept
    : owner_(other.owner_), handle_(std::exchange(other.handle_, nullptr)) {}

statement& statement::bind(int index, std::int64_t value) {
  owner_->check(sqlite3_bind_int64(handle_, index, value), "bind");
  return *this;
}

statement& statement::bind(int index, std::string_view text) {
  owner_->check(sqlite3_bind_text64(handle_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                    SQLITE_UTF8),
                "bind");
  return *this;
}

statement& statement::bind_blob(int index, std::span<const unsigned char> bytes) {
  owner_->check(sqlite3_bind_blob64(handle_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT),
                "bind");
  return *this;
}

statement& statement::bind_null(int index) {
  owner_->check(sqlite3_bind_null(handle_, index), "bind");
  return *this;
}

bool statement::step() {
  const int result = sqlite3_step(handle_);
  if (result == SQLITE_ROW) {
    return true;
  }
  if (result == SQLITE_DONE) {
    return false;
  }
  const int extended = sqlite3_extended_errcode(owner_->handle());
  const std::string message = sqlite3_errmsg(owner_->handle());
  sqlite3_reset(handle_);
  throw sqlite_error(extended, fmt::format("{} (in: {})", message, sqlite3_sql(handle_)));
}

void statement::reset() {
  sqlite3_reset(handle_);
  sqlite3_clear_bindings(handle_);
}

int statement::columns() const { return sqlite3_column_count(handle_); }

bool statement::is_null(int column) const {
  return sqlite3_column_type(handle_, column) == SQLITE_NULL;
}

std::int64_t statement::integer(int column) const { return sqlite3_column_int64(handle_, column); }

std::optional<std::int64_t> statement::optional_integer(int column) const {
  if (is_null(column)) {
    return std::nullopt;
  }
  return integer(column);
}

std::string statement::text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(handle_, column));
  const int size = sqlite3_column_bytes(handle_, column);
  return data == nullptr ? std::string() : std::string(data, static_cast<std::size_t>(size));
}

std::vector<unsigned char> statement::blob(int column) const {
  const auto* data = static_cast<const unsigned char*>(sqlite3_column_blob(handle_, column));
  const int size = sqlite3_column_bytes(handle_, column);
  return data == nullptr ? std::vector<unsigned char>()
                         : std::vector<unsigned char>(data, data + size);
}

namespace {

// Before SQLite's first use in the process: no memory statistics (they take a global mutex
// and update counters on every allocation; Parley never reads them). A no-op when something
// else initialised SQLite first.
void configure_library_once() {
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
}

} // namespace

connection::connection(const std::string& path, open_mode mode) {
  configure_library_once();
  const int flags = (mode == open_mode::read_only ? SQLITE_OPEN_READONLY
                                                  : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int result = sqlite3_open_v2(path.c_str(), &handle_, flags, nullptr);
  if (result != SQLITE_OK) {
    const std::string message = handle_ != nullptr ? sqlite3_errmsg(handle_) : "out of memory";
    sqlite3_close(handle_);
    handle_ = nullptr;
    throw sqlite_error(result, fmt::format("cannot open database {}: {}", path, message));
  }
  sqlite3_extended_result_codes(handle_, 1);
  sqlite3_busy_timeout(handle_, 5000);
}

connection::~connection() {
  cache_.clear();
  sqlite3_close(handle_);
}

void connection::execute(std::string_view sql) {
  char* error = nullptr;
  const std::string text(sql);
  const int result = sqlite3_exec(handle_, text.c_str(), nullptr, nullptr, &error);
  if (result != SQLITE_OK) {
    const std::string message = error != nullptr ? error : sqlite3_errstr(result);
    sqlite3_free(error);
    throw sqlite_error(sqlite3_extended_errcode(handle_), fmt::format("{} (in: {})", message, sql));
  }
}

statement& connection::cached(const char* sql) {
  auto found = cache_.find(sql);
  if (found == cache_.end()) {
    found = cache_.emplace(sql, statement(*this, sql)).first;
  } else {
    found->second.reset();
  }
  return found->second;
}

void connection::set_busy_timeout(std::chrono::milliseconds timeout) {
  sqlite3_busy_timeout(handle_, static_cast<int>(timeout.count()));
}

void connection::set_progress_handler(int steps, int (*handler)(void*), void* context) {
  sqlite3_progress_handler(handle_, steps, handler, context);
}

std::int64_t connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(handle_); }

int connection::changes() const { return sqlite3_changes(handle_); }

std::optional<unsigned> connection::data_version() const noexcept {
  unsigned version = 0;
  if (sqlite3_file_control(handle_, "main", SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK) {
    return std::nullopt;
  }
  return version;
}

void connection::check(int result_code, std::string_view what) const {
  if (result_code != SQLITE_OK) {
    throw sqlite_error(sqlite3_extended_errcode(handle_),
                       fmt::format("{} (in: {})", sqlite3_errmsg(handle_), what));
  }
}

// BEGIN, COMMIT and ROLLBACK are prepared once per connection (connection::cached), as every
// transaction runs them.
transaction_guard::transaction_guard(connection& db, kind begin_kind) : db_(db) {
  db_.cached(begin_kind == kind::immediate ? "BEGIN IMMEDIATE" : "BEGIN").post();
}

transaction_guard::~transaction_guard() {
  if (open_) {
    try {
      db_.cached("ROLLBACK").post();
    } catch (const sqlite_error&) {
      // The transaction may already be gone (SQLite rolls back on some errors).
    }
  }
}

void transaction_guard::commit() {
  db_.cached("COMMIT").post();
  open_ = false;
}

} // namespace parley::store::sqlite

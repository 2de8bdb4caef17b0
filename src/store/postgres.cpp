#include "store/postgres.hpp"

#include "common/text.hpp"

#include <libpq-fe.h>

#include <fmt/format.h>

#include <boost/asio/error.hpp>

#include <poll.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace parley::store::postgres {
namespace {

constexpr unsigned int int8_oid = 20;
constexpr unsigned int bytea_oid = 17;
constexpr unsigned int bool_oid = 16;

database_error::kind kind_of(const char* sqlstate) {
  const std::string_view state = sqlstate != nullptr ? sqlstate : "";
  if (state.starts_with("23")) {
    return database_error::kind::constraint;
  }
  // connection exceptions, and the server shutting down or not yet accepting work
  if (state.starts_with("08") || state.starts_with("57P")) {
    return database_error::kind::unavailable;
  }
  return database_error::kind::other;
}

std::string trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.pop_back();
  }
  return text;
}

int bytea_digit(char digit) {
  const int value = text::hex_value(digit);
  if (value < 0) {
    throw database_error(database_error::kind::other, "bad hex digit in a bytea value");
  }
  return value;
}

} // namespace

std::string numbered_parameters(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  bool quoted = false;
  int sequential = 0;
  for (std::size_t at = 0; at < sql.size(); ++at) {
    const char c = sql[at];
    if (c == '\'') {
      quoted = !quoted;
    }
    if (c != '?' || quoted) {
      out += c;
      continue;
    }
    out += '$';
    if (at + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[at + 1])) != 0) {
      continue; // ?N → $N: the digits follow as they are
    }
    out += std::to_string(++sequential);
  }
  return out;
}

// -- statement ------------------------------------------------------------------------------

statement::statement(connection& owner, std::string sql)
    : owner_(&owner), sql_(numbered_parameters(sql)) {}

statement::~statement() { PQclear(result_); }

statement::statement(statement&& other) noexcept
    : owner_(other.owner_), sql_(std::move(other.sql_)), name_(std::move(other.name_)),
      parameters_(std::move(other.parameters_)), result_(std::exchange(other.result_, nullptr)),
      row_(other.row_) {}

statement::parameter& statement::slot(int index) {
  if (index < 1 || index > 100) {
    throw database_error(database_error::kind::other, fmt::format("bad parameter index {}", index));
  }
  if (parameters_.size() < static_cast<std::size_t>(index)) {
    parameters_.resize(static_cast<std::size_t>(index));
  }
  return parameters_[static_cast<std::size_t>(index - 1)];
}

statement& statement::bind(int index, std::int64_t value) {
  auto& target = slot(index);
  target.type = kind::text;
  target.value = std::to_string(value);
  if (name_.empty()) {
    target.oid = int8_oid;
  }
  return *this;
}

statement& statement::bind(int index, std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    // libpq would cut it there, and no text column can hold U+0000: never store less than
    // what was given.
    throw database_error(database_error::kind::other, "text with U+0000 (NUL) cannot be stored");
  }
  auto& target = slot(index);
  target.type = kind::text;
  target.value.assign(text);
  return *this;
}

statement& statement::bind_blob(int index, std::span<const unsigned char> bytes) {
  auto& target = slot(index);
  target.type = kind::binary;
  target.value.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (name_.empty()) {
    target.oid = bytea_oid;
  }
  return *this;
}

statement& statement::bind_null(int index) {
  slot(index).type = kind::null;
  return *this;
}

void statement::send(bool wanted) {
  auto& db = *owner_;
  const int count = static_cast<int>(parameters_.size());
  if (name_.empty()) {
    std::vector<unsigned int> types;
    for (const auto& parameter : parameters_) {
      types.push_back(parameter.oid);
    }
    name_ = db.next_statement_name();
    db.check_sent(PQsendPrepare(db.handle_, name_.c_str(), sql_.c_str(), count,
                                reinterpret_cast<const Oid*>(types.data())),
                  sql_);
    db.push_pending(connection::pending_kind::discard);
  }
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const auto& parameter : parameters_) {
    values.push_back(parameter.type == kind::null ? nullptr : parameter.value.data());
    lengths.push_back(static_cast<int>(parameter.value.size()));
    formats.push_back(parameter.type == kind::binary ? 1 : 0);
  }
  db.check_sent(PQsendQueryPrepared(db.handle_, name_.c_str(), count, values.data(),
                                    lengths.data(), formats.data(), 0),
                sql_);
  db.push_pending(wanted ? connection::pending_kind::wanted : connection::pending_kind::discard);
}

bool statement::step() {
  if (row_ < 0) {
    auto& db = *owner_;
    send(true);
    if (db.options_.autocommit) {
      db.check_sent(PQpipelineSync(db.handle_), "sync");
      db.push_pending(connection::pending_kind::sync);
    }
    result_ = db.wait_for_wanted(sql_);
    row_ = 0;
  } else {
    ++row_;
  }
  return row_ < PQntuples(result_);
}

void statement::post() {
  auto& db = *owner_;
  if (db.options_.autocommit) {
    run(); // each statement is its own transaction: nothing to gather behind
    return;
  }
  send(false);
  reset();
}

void statement::reset() {
  PQclear(result_);
  result_ = nullptr;
  row_ = -1;
  for (auto& parameter : parameters_) {
    parameter.type = kind::null;
    parameter.value.clear();
  }
}

int statement::columns() const { return PQnfields(result_); }

bool statement::is_null(int column) const { return PQgetisnull(result_, row_, column) != 0; }

std::int64_t statement::integer(int column) const {
  if (is_null(column)) {
    return 0;
  }
  const char* value = PQgetvalue(result_, row_, column);
  if (PQftype(result_, column) == bool_oid) {
    return value[0] == 't' ? 1 : 0;
  }
  std::int64_t parsed = 0;
  const auto* end = value + std::strlen(value);
  const auto [stop, error] = std::from_chars(value, end, parsed);
  if (error != std::errc() || stop != end) {
    throw database_error(database_error::kind::other,
                         fmt::format("column {} is not an integer: {}", column, value));
  }
  return parsed;
}

std::optional<std::int64_t> statement::optional_integer(int column) const {
  if (is_null(column)) {
    return std::nullopt;
  }
  return integer(column);
}

std::string statement::text(int column) const {
  return std::string(PQgetvalue(result_, row_, column),
                     static_cast<std::size_t>(PQgetlength(result_, row_, column)));
}

std::vector<unsigned char> statement::blob(int column) const {
  // bytea in text form: \x followed by two hex digits per byte
  const std::string_view hex(PQgetvalue(result_, row_, column),
                             static_cast<std::size_t>(PQgetlength(result_, row_, column)));
  std::vector<unsigned char> bytes;
  if (hex.size() < 2 || hex[0] != '\\' || hex[1] != 'x' || hex.size() % 2 != 0) {
    if (!hex.empty()) {
      throw database_error(database_error::kind::other, "bytea not in hex form");
    }
    return bytes;
  }
  bytes.reserve((hex.size() - 2) / 2);
  for (std::size_t at = 2; at < hex.size(); at += 2) {
    bytes.push_back(
        static_cast<unsigned char>(bytea_digit(hex[at]) * 16 + bytea_digit(hex[at + 1])));
  }
  return bytes;
}

// -- connection -----------------------------------------------------------------------------

connection::connection(const std::string& url, connection_options options) : options_(options) {
  handle_ = PQconnectStart(url.c_str());
  if (handle_ == nullptr) {
    throw database_error(database_error::kind::unavailable, "postgres: out of memory");
  }
  try {
    if (PQstatus(handle_) == CONNECTION_BAD) {
      fail("connect");
    }
    auto state = PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
      if (state == PGRES_POLLING_FAILED) {
        fail("connect");
      }
      wait(state == PGRES_POLLING_WRITING);
      state = PQconnectPoll(handle_);
    }
    // Notices (a DROP … CASCADE listing what it dropped, IF NOT EXISTS skipping) are for
    // people at a psql prompt, not for the server's log.
    PQsetNoticeProcessor(handle_, [](void*, const char*) {}, nullptr);
    if (PQsetnonblocking(handle_, 1) != 0 || PQenterPipelineMode(handle_) != 1) {
      fail("connect");
    }
  } catch (...) {
    close(); // the destructor does not run for a constructor that throws
    throw;
  }
}

void connection::close() noexcept {
  cache_.clear();
  if (socket_.is_open()) {
    socket_.release(); // libpq owns the descriptor and closes it
  }
  PQfinish(handle_);
  handle_ = nullptr;
}

connection::~connection() { close(); }

bool connection::usable() const { return !broken_ && PQstatus(handle_) == CONNECTION_OK; }

bool connection::still_open() {
  if (!usable() || !pending_.empty()) {
    return usable();
  }
  // Readable while idle: a notice, a server's last words (FATAL … terminating connection), or
  // the end of the stream; PQconsumeInput reads what is there, and sees the end on a later
  // call. A live connection has nothing more to read after a few notices.
  for (int round = 0; round < 8 && usable(); ++round) {
    pollfd check{PQsocket(handle_), POLLIN, 0};
    if (::poll(&check, 1, 0) <= 0) {
      break;
    }
    if (PQconsumeInput(handle_) != 1 || PQstatus(handle_) != CONNECTION_OK) {
      broken_ = true;
    }
  }
  return usable();
}

std::string connection::next_statement_name() { return fmt::format("p{}", ++statements_); }

void connection::fail(std::string_view what) {
  broken_ = true;
  throw database_error(database_error::kind::unavailable,
                       fmt::format("postgres {}: {}", what, trimmed(PQerrorMessage(handle_))));
}

void connection::check_sent(int ok, std::string_view what) {
  if (broken_) {
    throw database_error(database_error::kind::unavailable, "postgres: the connection is broken");
  }
  if (ok != 1) {
    fail(fmt::format("send ({})", what));
  }
}

void connection::wait(bool for_write) {
  const int fd = PQsocket(handle_);
  if (fd < 0) {
    fail("socket");
  }
  if (socket_.is_open() && socket_.native_handle() != fd) {
    socket_.release();
  }
  if (!socket_.is_open()) {
    socket_.assign(fd);
  }
  bool timed_out = false;
  socket_.async_wait(for_write ? boost::asio::posix::descriptor_base::wait_write
                               : boost::asio::posix::descriptor_base::wait_read,
                     [this](boost::system::error_code) { timer_.cancel(); });
  timer_.expires_after(options_.timeout);
  timer_.async_wait([this, &timed_out](boost::system::error_code error) {
    if (!error) {
      timed_out = true;
      socket_.cancel();
    }
  });
  io_.restart();
  io_.run();
  if (timed_out) {
    broken_ = true;
    throw database_error(database_error::kind::unavailable,
                         fmt::format("postgres: no answer within {} ms", options_.timeout.count()));
  }
}

void connection::flush(bool request_server_flush) {
  if (request_server_flush && PQsendFlushRequest(handle_) != 1) {
    fail("flush request");
  }
  for (;;) {
    const int state = PQflush(handle_);
    if (state == 0) {
      return;
    }
    if (state < 0) {
      fail("send");
    }
    wait(true);
  }
}

pg_result* connection::next_result() {
  while (PQisBusy(handle_) != 0) {
    wait(false);
    if (PQconsumeInput(handle_) != 1) {
      fail("receive");
    }
  }
  return PQgetResult(handle_);
}

std::optional<database_error> connection::failure_of(pg_result* result, std::string_view what) {
  const auto status = PQresultStatus(result);
  if (result != nullptr && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)) {
    return std::nullopt;
  }
  aborted_ = true;
  if (result != nullptr && status == PGRES_PIPELINE_ABORTED) {
    return database_error(database_error::kind::other,
                          fmt::format("skipped after an earlier failure (in: {})", what));
  }
  auto kind = result == nullptr ? database_error::kind::unavailable
                                : kind_of(PQresultErrorField(result, PG_DIAG_SQLSTATE));
  const std::string message =
      result == nullptr ? trimmed(PQerrorMessage(handle_)) : trimmed(PQresultErrorMessage(result));
  if (PQstatus(handle_) != CONNECTION_OK) {
    broken_ = true;
    kind = database_error::kind::unavailable;
  }
  return database_error(kind, fmt::format("{} (in: {})", message, what));
}

std::optional<database_error> connection::drain(std::size_t count) {
  std::optional<database_error> first;
  for (; count > 0; --count) {
    const auto [kind, serial] = pending_.front();
    pending_.pop_front();
    pg_result* result = next_result();
    if (kind == pending_kind::sync) {
      const bool synced = PQresultStatus(result) == PGRES_PIPELINE_SYNC;
      PQclear(result);
      if (!synced) {
        fail("pipeline sync");
      }
      aborted_ = false;
      continue;
    }
    auto failure = failure_of(result, "a statement sent earlier");
    PQclear(result);
    if (failure && !first) {
      first = std::move(failure);
      failed_serial_ = serial;
    }
    if (broken_) {
      throw *first;
    }
    if (next_result() != nullptr) {
      fail("pipeline order");
    }
  }
  return first;
}

pg_result* connection::wait_for_wanted(std::string_view what) {
  const bool synced = pending_.back().kind == pending_kind::sync;
  flush(!synced);
  const std::size_t after = synced ? 1 : 0; // the sync behind the statement wanted
  auto first = drain(pending_.size() - 1 - after);
  const auto own_serial = pending_.front().serial;
  pending_.pop_front(); // the statement wanted now
  pg_result* result = next_result();
  auto own = failure_of(result, what);
  if (own) {
    PQclear(result);
    result = nullptr;
    if (broken_) {
      failed_serial_ = first ? failed_serial_ : own_serial;
      throw first ? *first : *own;
    }
  }
  if (next_result() != nullptr) {
    PQclear(result);
    fail("pipeline order");
  }
  if (auto late = drain(after); late && !first && !own) {
    first = std::move(late);
  }
  if (first || own) {
    PQclear(result);
    if (!first) {
      failed_serial_ = own_serial;
    }
    throw first ? *first : *own;
  }
  changes_ = std::atoi(PQcmdTuples(result));
  return result;
}

void connection::send(std::string_view sql) {
  const std::string text(sql);
  check_sent(PQsendQueryParams(handle_, text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0),
             sql);
  push_pending(pending_kind::discard);
}

void connection::synchronise() {
  check_sent(PQpipelineSync(handle_), "sync");
  push_pending(pending_kind::sync);
  flush(false);
  if (auto first = drain(pending_.size())) {
    throw *first;
  }
}

void connection::execute(std::string_view sql) {
  synchronise();
  if (PQexitPipelineMode(handle_) != 1) {
    fail("leaving pipeline mode");
  }
  const std::string text(sql);
  check_sent(PQsendQuery(handle_, text.c_str()), sql);
  flush(false);
  std::optional<database_error> first;
  while (pg_result* result = next_result()) {
    auto failure = failure_of(result, sql.substr(0, 200));
    PQclear(result);
    if (failure && !first) {
      first = std::move(failure);
    }
  }
  aborted_ = false;
  if (broken_ || PQenterPipelineMode(handle_) != 1) {
    fail("entering pipeline mode");
  }
  if (first) {
    throw *first;
  }
}

statement& connection::cached(const char* sql) {
  auto found = cache_.find(sql);
  if (found == cache_.end()) {
    found = cache_.emplace(sql, std::make_unique<statement>(*this, sql)).first;
  } else {
    found->second->reset();
  }
  return *found->second;
}

} // namespace parley::store::postgres

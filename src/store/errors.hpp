#pragma once
// What a storage failure is, the same on every engine. A failed job's exception is one of
// these; callers may tell a broken constraint (a unique key taken by a concurrent writer)
// from a store that cannot be reached.

#include <stdexcept>
#include <string>

namespace parley::store {

class database_error : public std::runtime_error {
public:
  enum class kind {
    constraint,  ///< A unique, foreign key or check constraint refused the change.
    unavailable, ///< The database cannot be reached or stopped answering: nothing committed.
    other,
  };
  database_error(kind what, const std::string& message)
      : std::runtime_error(message), kind_(what) {}
  [[nodiscard]] kind failure() const { return kind_; }
  [[nodiscard]] bool constraint() const { return kind_ == kind::constraint; }

private:
  kind kind_;
};

/// Thrown inside a job that would lock a conversation with a lower id than one its
/// transaction already holds: the job runs again, first in a transaction of its own (the
/// PostgreSQL writer does that; see postgres_database.cpp). A job must therefore take its
/// conversation's lock (lock_conversation, next_seq) before it changes anything of its own.
class lock_order_conflict : public std::runtime_error {
public:
  lock_order_conflict() : std::runtime_error("a conversation locked out of id order") {}
};

} // namespace parley::store

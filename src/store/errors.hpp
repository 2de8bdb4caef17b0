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

} // namespace parley::store

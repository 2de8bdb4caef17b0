#pragma once
// Opens the database that a --database setting names: a postgres:// or postgresql:// URL is
// PostgreSQL, anything else a SQLite file path.

#include "common/settings.hpp"
#include "store/database.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace parley::store {

/// Opens (and migrates) the database, with `readers` reader threads, logging each commit that
/// takes longer than `slow_commit` (zero: none); throws on failure (a start-up error).
[[nodiscard]] std::unique_ptr<database>
open_database(const std::string& setting, std::size_t readers,
              std::chrono::microseconds slow_commit = std::chrono::microseconds(0));

/// The setting without a password, for logs.
[[nodiscard]] std::string redacted(std::string_view setting);

} // namespace parley::store

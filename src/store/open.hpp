#pragma once
// Opens the database that a --database setting names: a postgres:// or postgresql:// URL is
// PostgreSQL, anything else a SQLite file path.

#include "common/settings.hpp"
#include "store/database.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace parley::store {

/// Opens (and migrates) the database; throws on failure (a start-up error).
[[nodiscard]] std::unique_ptr<database> open_database(const std::string& setting,
                                                      std::size_t readers);

/// The setting without a password, for logs.
[[nodiscard]] std::string redacted(std::string_view setting);

} // namespace parley::store

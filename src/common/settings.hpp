#pragma once
// What a setting names, where several layers must agree on it.

#include <string_view>

namespace parley {

/// True when a --database or --media-store setting is a PostgreSQL URL (postgres:// or
/// postgresql://); anything else is a path on disk.
[[nodiscard]] inline bool is_postgres_url(std::string_view setting) {
  return setting.starts_with("postgres://") || setting.starts_with("postgresql://");
}

} // namespace parley

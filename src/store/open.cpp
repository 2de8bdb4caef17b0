#include "store/open.hpp"

#include "store/postgres_database.hpp"
#include "store/sqlite_database.hpp"

#include <utility>

namespace parley::store {

std::unique_ptr<database> open_database(const std::string& setting, std::size_t readers,
                                        std::chrono::microseconds slow_commit) {
  if (is_postgres_url(setting)) {
    postgres_options options{setting, readers};
    options.slow_commit = slow_commit;
    return std::make_unique<postgres_database>(std::move(options));
  }
  sqlite_options options{setting, readers};
  options.slow_commit = slow_commit;
  return std::make_unique<sqlite_database>(std::move(options));
}

std::string redacted(std::string_view setting) {
  std::string text(setting);
  if (!is_postgres_url(text)) {
    return text;
  }
  // postgres://user:password@host… → postgres://user:***@host…
  const auto scheme = text.find("://") + 3;
  const auto at = text.find('@', scheme);
  const auto colon = text.find(':', scheme);
  if (at != std::string::npos && colon != std::string::npos && colon < at) {
    text.replace(colon + 1, at - colon - 1, "***");
  }
  return text;
}

} // namespace parley::store

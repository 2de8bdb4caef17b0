// config::validate: the checks of a loaded configuration that no single setting's parser
// can make (forms of URLs and names, settings that need each other, the web root's contents).

#include "config/config.hpp"

#include "common/settings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace parley::config {

namespace {

/// True when `path` is `root` or lies under it, symbolic links resolved as far as they exist.
bool lies_within(const std::filesystem::path& root, const std::filesystem::path& path) {
  std::error_code failure;
  const auto canonical_root = std::filesystem::weakly_canonical(root, failure);
  if (failure) {
    return false;
  }
  const auto canonical_path = std::filesystem::weakly_canonical(path, failure);
  if (failure) {
    return false;
  }
  const auto relative = canonical_path.lexically_relative(canonical_root);
  return !relative.empty() && *relative.begin() != "..";
}

// The web root is read whole and served to anyone: a SQLite database or a media directory in
// it would be public, and reading SQLite's files beside it drops its locks (POSIX locks go
// with any descriptor of the file that the process closes), so that another process's
// connection could truncate the shared memory under the server.
void check_web_root(const config& value) {
  if (!is_postgres_url(value.database) && lies_within(value.web_root, value.database)) {
    throw config_error("web_root", fmt::format("'{}' holds the database '{}': it would be served "
                                               "to anyone; use a directory of its own",
                                               value.web_root, value.database));
  }
  if (!value.media_store.empty() && !is_postgres_url(value.media_store) &&
      lies_within(value.web_root, value.media_store)) {
    throw config_error("web_root", fmt::format("'{}' holds the media store '{}': it would be "
                                               "served to anyone; use a directory of its own",
                                               value.web_root, value.media_store));
  }
}

} // namespace

void validate(const config& value) {
  (void)parse_listen(value.listen);
  if (value.database.empty()) {
    throw config_error("database", "must not be empty");
  }
  check_web_root(value);
  if (!value.bus.empty()) {
    if (!value.bus.starts_with("redis://") || value.bus.size() == 8) {
      throw config_error("bus", fmt::format("expected redis://HOST:PORT, got '{}'", value.bus));
    }
    if (!is_postgres_url(value.database)) {
      throw config_error("bus", "several nodes share one PostgreSQL database: --bus needs a "
                                "postgres:// --database");
    }
  }
  for (const std::string_view scheme : {"postgres://", "postgresql://"}) {
    if (value.database == scheme) {
      throw config_error("database", "a postgres:// URL names its database: "
                                     "postgres://USER@HOST:PORT/DATABASE");
    }
  }
  if (!value.node_id.empty() &&
      (value.node_id.size() > 32 || value.node_id.front() == '-' ||
       !std::ranges::all_of(value.node_id, [](char c) {
         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
       }))) {
    throw config_error("node_id", fmt::format("expected 1 to 32 of a-z, 0-9 and '-' (not first), "
                                              "such as n1, got '{}'",
                                              value.node_id));
  }
  if (value.default_region.size() != 2 || value.default_region[0] < 'A' ||
      value.default_region[0] > 'Z' || value.default_region[1] < 'A' ||
      value.default_region[1] > 'Z') {
    throw config_error("default_region",
                       fmt::format("expected a two-letter region code such as US, got '{}'",
                                   value.default_region));
  }
  if (!value.push_subject.empty() &&
      !((value.push_subject.starts_with("mailto:") && value.push_subject.size() > 7) ||
        (value.push_subject.starts_with("https://") && value.push_subject.size() > 8))) {
    throw config_error("push_subject",
                       fmt::format("expected mailto:ADDRESS or an https:// URL, got '{}'",
                                   value.push_subject));
  }
  for (const auto& origin : value.allowed_origins) {
    if (!(origin.starts_with("http://") || origin.starts_with("https://")) ||
        origin.find('/', origin.find("//") + 2) != std::string::npos) {
      throw config_error("allowed_origins",
                         fmt::format("expected an origin such as https://chat.example.com, got '{}'",
                                     origin));
    }
  }
  if (uses_twilio(value)) {
    if (value.twilio_account_sid.empty()) {
      throw config_error("twilio_account_sid", "is required when any Twilio setting is given");
    }
    if (value.twilio_auth_token.empty()) {
      throw config_error("twilio_auth_token", "is required when any Twilio setting is given");
    }
    if (value.twilio_verify_service_sid.empty() && value.twilio_phone_number.empty()) {
      throw config_error("twilio_phone_number",
                         "is required for Twilio Messages (or set twilio_verify_service_sid)");
    }
  }
  for (const auto& [field, base] : {std::pair{"twilio_api_base", &value.twilio_api_base},
                                    std::pair{"twilio_verify_api_base", &value.twilio_verify_api_base}}) {
    const bool loopback = base->starts_with("http://127.0.0.1") ||
                          base->starts_with("http://localhost") || base->starts_with("http://[::1]");
    if (!base->starts_with("https://") && !loopback) {
      throw config_error(field, fmt::format("expected an https:// URL (or http://127.0.0.1:PORT "
                                            "for tests), got '{}'",
                                            *base));
    }
  }
  if (value.log_level != "trace" && value.log_level != "debug" && value.log_level != "info" &&
      value.log_level != "warn" && value.log_level != "error" && value.log_level != "critical" &&
      value.log_level != "off") {
    throw config_error("log_level", fmt::format("unknown level '{}'", value.log_level));
  }
}

} // namespace parley::config

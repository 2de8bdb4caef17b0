#include "config/config.hpp"

#include "common/settings.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace parley::config {
namespace {

std::string trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

template <class Integer>
Integer parse_integer(std::string_view key, std::string_view text, Integer minimum,
                      Integer maximum) {
  const std::string value = trimmed(text);
  Integer result{};
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), result);
  if (value.empty() || error != std::errc{} || end != value.data() + value.size()) {
    throw config_error(std::string(key), fmt::format("expected an integer, got '{}'", text));
  }
  if (result < minimum || result > maximum) {
    throw config_error(std::string(key),
                       fmt::format("must be between {} and {}, got {}", minimum, maximum, result));
  }
  return result;
}

bool parse_boolean(std::string_view key, std::string_view text) {
  const std::string value = trimmed(text);
  if (value == "true" || value == "1" || value == "yes" || value == "on") {
    return true;
  }
  if (value == "false" || value == "0" || value == "no" || value == "off") {
    return false;
  }
  throw config_error(std::string(key), fmt::format("expected true or false, got '{}'", text));
}

// Builders for the table below: each returns a setting whose assign/show act on one member.
setting text_setting(std::string_view key, std::string_view environment, std::string_view flag,
                     std::string_view value_name, std::string_view help,
                     std::string config::*member) {
  return setting{key,
                 environment,
                 flag,
                 value_name,
                 help,
                 false,
                 [member](config& target, std::string_view text) { target.*member = trimmed(text); },
                 [member](const config& source) { return source.*member; }};
}

setting secret_setting(std::string_view key, std::string_view environment, std::string_view help,
                       std::string config::*member) {
  auto result = text_setting(key, environment, "", "TEXT", help, member);
  result.show = [member](const config& source) {
    return (source.*member).empty() ? std::string() : std::string("(set)");
  };
  return result;
}

template <class Integer>
setting integer_setting(std::string_view key, std::string_view environment, std::string_view flag,
                        std::string_view value_name, std::string_view help,
                        Integer config::*member, Integer minimum, Integer maximum) {
  return setting{key,
                 environment,
                 flag,
                 value_name,
                 help,
                 false,
                 [=](config& target, std::string_view text) {
                   target.*member = parse_integer<Integer>(key, text, minimum, maximum);
                 },
                 [member](const config& source) { return fmt::format("{}", source.*member); }};
}

template <class Duration>
setting duration_setting(std::string_view key, std::string_view environment,
                         std::string_view flag, std::string_view value_name, std::string_view help,
                         Duration config::*member, std::int64_t minimum, std::int64_t maximum) {
  return setting{key,
                 environment,
                 flag,
                 value_name,
                 help,
                 false,
                 [=](config& target, std::string_view text) {
                   target.*member =
                       Duration(parse_integer<std::int64_t>(key, text, minimum, maximum));
                 },
                 [member](const config& source) { return fmt::format("{}", (source.*member).count()); }};
}

setting seconds_setting(std::string_view key, std::string_view environment, std::string_view flag,
                        std::string_view help, std::chrono::seconds config::*member,
                        std::int64_t minimum, std::int64_t maximum) {
  return duration_setting(key, environment, flag, "SECONDS", help, member, minimum, maximum);
}

setting milliseconds_setting(std::string_view key, std::string_view environment,
                             std::string_view flag, std::string_view help,
                             std::chrono::milliseconds config::*member, std::int64_t minimum,
                             std::int64_t maximum) {
  return duration_setting(key, environment, flag, "MS", help, member, minimum, maximum);
}

setting boolean_setting(std::string_view key, std::string_view environment, std::string_view flag,
                        std::string_view help, bool config::*member) {
  return setting{key,
                 environment,
                 flag,
                 "BOOL",
                 help,
                 false,
                 [=](config& target, std::string_view text) {
                   target.*member = parse_boolean(key, text);
                 },
                 [member](const config& source) { return std::string(source.*member ? "true" : "false"); }};
}

setting list_setting(std::string_view key, std::string_view environment, std::string_view flag,
                     std::string_view value_name, std::string_view help,
                     std::vector<std::string> config::*member) {
  return setting{key,
                 environment,
                 flag,
                 value_name,
                 help,
                 true,
                 [member](config& target, std::string_view text) {
                   std::size_t start = 0;
                   while (start <= text.size()) {
                     const auto comma = text.find(',', start);
                     const auto item = trimmed(text.substr(
                         start, comma == std::string_view::npos ? std::string_view::npos
                                                                : comma - start));
                     if (!item.empty()) {
                       (target.*member).push_back(item);
                     }
                     if (comma == std::string_view::npos) {
                       break;
                     }
                     start = comma + 1;
                   }
                 },
                 [member](const config& source) { return fmt::format("{}", fmt::join(source.*member, ",")); }};
}

std::vector<setting> make_settings() {
  constexpr std::size_t k_max_size = std::size_t{1} << 30;
  return {
      text_setting("listen", "PARLEY_LISTEN", "--listen", "HOST:PORT",
                   "Address to serve HTTP and Socket.IO on", &config::listen),
      text_setting("database", "PARLEY_DATABASE", "--database", "URL",
                   "A SQLite file path, or postgres://USER@HOST:PORT/DB for PostgreSQL 15",
                   &config::database),
      text_setting("bus", "PARLEY_BUS", "--bus", "URL",
                   "redis://HOST:PORT[/DB]: Redis 7, carrying deliveries, receipts, typing and "
                   "presence between the nodes of one PostgreSQL database; empty = a single node",
                   &config::bus),
      text_setting("web_root", "PARLEY_WEB_ROOT", "--web-root", "DIR",
                   "The web client's built files (served at /); relative to the working directory",
                   &config::web_root),
      text_setting("default_region", "PARLEY_DEFAULT_REGION", "--default-region", "CC",
                   "Region (ISO 3166 code) for phone numbers typed in national format",
                   &config::default_region),
      list_setting("allowed_origins", "PARLEY_ALLOWED_ORIGINS", "--allowed-origin", "URL",
                   "Origins allowed for cookie-authenticated writes and WebSocket handshakes "
                   "(repeatable; comma-separated in the environment)",
                   &config::allowed_origins),
      integer_setting<int>("message_rate", "PARLEY_MESSAGE_RATE", "--message-rate", "N",
                           "Messages per second per user; 0 = no limit",
                           &config::message_rate, 0, 1'000'000),
      integer_setting<int>("message_burst", "PARLEY_MESSAGE_BURST", "--message-burst", "N",
                           "Messages a user may send at once before --message-rate applies",
                           &config::message_burst, 1, 1'000'000),
      integer_setting<std::size_t>("max_message_length", "PARLEY_MAX_MESSAGE_LENGTH",
                                   "--max-message-length", "CHARS",
                                   "Longest message body, in characters after trimming",
                                   &config::max_message_length, 1, 100'000),
      integer_setting<std::size_t>("max_group_members", "PARLEY_MAX_GROUP_MEMBERS",
                                   "--max-group-members", "N",
                                   "Most members a new group may have besides its creator",
                                   // at most the 1,000 ids POST /conversations reads
                                   &config::max_group_members, 2, 1000),
      seconds_setting("edit_window", "PARLEY_EDIT_WINDOW", "--edit-window",
                      "How long after sending its sender may edit a message",
                      &config::edit_window, 0, 10 * 365 * 86400),
      seconds_setting("delete_window", "PARLEY_DELETE_WINDOW", "--delete-window",
                      "How long after sending its sender may delete a message for everyone "
                      "(group admins may at any time)",
                      &config::delete_window, 0, 10 * 365 * 86400),
      integer_setting<int>("change_rate", "PARLEY_CHANGE_RATE", "--change-rate", "N",
                           "Edits, deletes and reactions per second per user (each; bursts of "
                           "three times that); 0 = no limit",
                           &config::change_rate, 0, 1'000'000),
      integer_setting<std::size_t>("message_cache_bytes", "PARLEY_MESSAGE_CACHE_BYTES",
                                   "--message-cache-bytes", "BYTES",
                                   "Memory for messages kept as text for history pages, "
                                   "a quarter of it for where they are (the oldest not read "
                                   "lately go first); 0 = none",
                                   &config::message_cache_bytes, 0, std::size_t{1} << 40),
      milliseconds_setting("ping_interval", "PARLEY_PING_INTERVAL", "--ping-interval",
                           "Engine.IO heartbeat: time between two pings (default 300 with "
                           "--compliance)",
                           &config::ping_interval, 100, 3'600'000),
      milliseconds_setting("ping_timeout", "PARLEY_PING_TIMEOUT", "--ping-timeout",
                           "Engine.IO heartbeat: time a client has to answer a ping (default 200 "
                           "with --compliance)",
                           &config::ping_timeout, 100, 3'600'000),
      integer_setting<std::size_t>("max_payload", "PARLEY_MAX_PAYLOAD", "--max-payload", "BYTES",
                                   "Largest Engine.IO payload (polling POST or WebSocket message)",
                                   &config::max_payload, 1024, 100'000'000),
      boolean_setting("compliance", "PARLEY_COMPLIANCE", "--compliance",
                      "Testing aid: serve the upstream Engine.IO and Socket.IO protocol suites' "
                      "endpoints (/engine.io/ echo, suite handlers), any origin. Never in production",
                      &config::compliance),
      integer_setting<std::size_t>("threads", "PARLEY_THREADS", "--threads", "N",
                                   "I/O threads; 0 = one per core but one, at least one",
                                   &config::threads, 0, 256),
      boolean_setting("trust_proxy", "PARLEY_TRUST_PROXY", "--trust-proxy",
                      "Trust X-Forwarded-For and X-Forwarded-Proto from the peer (behind nginx)",
                      &config::trust_proxy),
      text_setting("node_id", "PARLEY_NODE_ID", "--node-id", "NAME",
                   "This node's name behind a proxy with several nodes (1-32 of a-z, 0-9 and -): "
                   "its Engine.IO session ids start with NAME. so that the proxy routes them "
                   "back here; empty = a single node",
                   &config::node_id),
      integer_setting<std::size_t>("max_header_bytes", "PARLEY_MAX_HEADER_BYTES",
                                   "--max-header-bytes", "BYTES",
                                   "Largest accepted request header block",
                                   &config::max_header_bytes, 1024, 1024 * 1024),
      integer_setting<std::size_t>("max_body_bytes", "PARLEY_MAX_BODY_BYTES", "--max-body-bytes",
                                   "BYTES", "Largest accepted REST request body",
                                   &config::max_body_bytes, 1024, k_max_size),
      seconds_setting("header_timeout", "PARLEY_HEADER_TIMEOUT", "--header-timeout",
                      "Time allowed to receive a request's headers and body",
                      &config::header_timeout, 1, 3600),
      seconds_setting("idle_timeout", "PARLEY_IDLE_TIMEOUT", "--idle-timeout",
                      "Keep-alive connections idle longer than this are closed",
                      &config::idle_timeout, 1, 86400),
      integer_setting<std::size_t>("max_connections_per_address",
                                   "PARLEY_MAX_CONNECTIONS_PER_ADDRESS",
                                   "--max-connections-per-address", "N",
                                   "Open connections allowed from one client address",
                                   &config::max_connections_per_address, 1, 10'000'000),
      seconds_setting("drain_timeout", "PARLEY_DRAIN_TIMEOUT", "--drain-timeout",
                      "On SIGTERM, how long in-flight requests may take to finish",
                      &config::drain_timeout, 0, 3600),
      integer_setting<std::size_t>("database_readers", "PARLEY_DATABASE_READERS",
                                   "--database-readers", "N",
                                   "Read connections (and threads) for the database",
                                   &config::database_readers, 1, 64),
      duration_setting("io_thread_read_budget", "PARLEY_IO_THREAD_READ_BUDGET",
                       "--io-thread-read-budget", "MICROSECONDS",
                       "SQLite: a read runs on the I/O thread that asks for it if it takes no "
                       "longer than this, else on a reader thread; 0 = always on a reader thread",
                       &config::io_thread_read_budget, 0, 1'000'000),
      duration_setting("io_thread_commit_budget", "PARLEY_IO_THREAD_COMMIT_BUDGET",
                       "--io-thread-commit-budget", "MICROSECONDS",
                       "SQLite: under a light load an I/O thread commits the messages it "
                       "receives itself while the last commit took no longer than this, else "
                       "the writer thread does; 0 = always the writer thread",
                       &config::io_thread_commit_budget, 0, 1'000'000),
      duration_setting("slow_commit", "PARLEY_SLOW_COMMIT", "--slow-commit", "MICROSECONDS",
                       "Log each commit to the database (and SQLite checkpoint) that takes "
                       "longer than this, with its stages and where its thread's time went (on "
                       "a CPU, waiting for one, asleep); 0 = none",
                       &config::slow_commit, 0, 3'600'000'000),
      text_setting("media_store", "PARLEY_MEDIA_STORE", "--media-store", "DIR|URL",
                   "Where uploaded files are kept: a directory (shared by the nodes), or "
                   "postgres://… (default: <the SQLite database's directory>/media, or the "
                   "PostgreSQL database itself)",
                   &config::media_store),
      integer_setting<std::int64_t>("max_upload_bytes", "PARLEY_MAX_UPLOAD_BYTES",
                                    "--max-upload-bytes", "BYTES", "Largest file one may upload",
                                    &config::max_upload_bytes, 1024, std::int64_t{1} << 40),
      integer_setting<std::int64_t>("upload_daily_bytes", "PARLEY_UPLOAD_DAILY_BYTES",
                                    "--upload-daily-bytes", "BYTES",
                                    "Bytes a user may upload per UTC day",
                                    &config::upload_daily_bytes, 1024, std::int64_t{1} << 50),
      integer_setting<std::int64_t>("upload_stored_bytes", "PARLEY_UPLOAD_STORED_BYTES",
                                    "--upload-stored-bytes", "BYTES",
                                    "Bytes of uploads a user may keep at once",
                                    &config::upload_stored_bytes, 1024, std::int64_t{1} << 50),
      integer_setting<int>("upload_rate", "PARLEY_UPLOAD_RATE", "--upload-rate", "N",
                           "Uploads per second per user (bursts of ten times that); 0 = no limit",
                           &config::upload_rate, 0, 1'000'000),
      seconds_setting("unattached_upload_ttl", "PARLEY_UNATTACHED_UPLOAD_TTL",
                      "--unattached-upload-ttl",
                      "How long an upload that no message or profile uses is kept",
                      &config::unattached_upload_ttl, 1, 365 * 86400),
      text_setting("push_subject", "PARLEY_PUSH_SUBJECT", "--push-subject", "URL",
                   "A mailto: or https: contact that push services may use to reach the "
                   "operator (default: the server's own origin)",
                   &config::push_subject),
      boolean_setting("push_allow_insecure_endpoints", "PARLEY_PUSH_ALLOW_INSECURE_ENDPOINTS",
                      "--push-allow-insecure-endpoints",
                      "Also accept push endpoints at http://127.0.0.1:PORT (a testing aid)",
                      &config::push_allow_insecure_endpoints),
      integer_setting<int>("push_user_rate", "PARLEY_PUSH_USER_RATE", "--push-user-rate", "N",
                           "Pushes per second to one user (all their subscriptions count as "
                           "one); 0 = no limit",
                           &config::push_user_rate, 0, 1'000'000),
      integer_setting<int>("push_user_burst", "PARLEY_PUSH_USER_BURST", "--push-user-burst", "N",
                           "Pushes one user may get at once before --push-user-rate applies",
                           &config::push_user_burst, 1, 1'000'000),
      seconds_setting("code_ttl", "PARLEY_CODE_TTL", "--code-ttl",
                      "How long a sign-in code stays valid", &config::code_ttl, 30, 86400),
      seconds_setting("code_resend_interval", "PARLEY_CODE_RESEND_INTERVAL",
                      "--code-resend-interval", "Least time between two codes for one phone",
                      &config::code_resend_interval, 0, 86400),
      integer_setting<int>("code_max_attempts", "PARLEY_CODE_MAX_ATTEMPTS", "--code-max-attempts",
                           "N", "Wrong tries that burn a code", &config::code_max_attempts, 1, 100),
      integer_setting<int>("codes_per_phone_per_hour", "PARLEY_CODES_PER_PHONE_PER_HOUR",
                           "--codes-per-phone-per-hour", "N", "Codes sent to one phone per hour",
                           &config::codes_per_phone_per_hour, 1, 1'000'000),
      integer_setting<int>("codes_per_address_per_hour", "PARLEY_CODES_PER_ADDRESS_PER_HOUR",
                           "--codes-per-address-per-hour", "N",
                           "Codes requested from one client address per hour",
                           &config::codes_per_address_per_hour, 1, 1'000'000),
      seconds_setting("session_idle_timeout", "PARLEY_SESSION_IDLE_TIMEOUT",
                      "--session-idle-timeout", "A session unused this long is no longer valid",
                      &config::session_idle_timeout, 60, 10LL * 365 * 86400),
      text_setting("twilio_account_sid", "TWILIO_ACCOUNT_SID", "--twilio-account-sid", "SID",
                   "Twilio account SID (with the auth token: send codes through Twilio)",
                   &config::twilio_account_sid),
      secret_setting("twilio_auth_token", "TWILIO_AUTH_TOKEN",
                     "Twilio auth token (environment or TOML only: flags show in `ps`)",
                     &config::twilio_auth_token),
      text_setting("twilio_phone_number", "TWILIO_PHONE_NUMBER", "--twilio-phone-number", "E164",
                   "Sender number for Twilio Programmable Messaging",
                   &config::twilio_phone_number),
      text_setting("twilio_verify_service_sid", "TWILIO_VERIFY_SERVICE_SID",
                   "--twilio-verify-service-sid", "SID",
                   "Use Twilio Verify (which keeps the codes) instead of sending our own",
                   &config::twilio_verify_service_sid),
      text_setting("twilio_api_base", "TWILIO_API_BASE", "--twilio-api-base", "URL",
                   "Twilio Messages API base (https; http://127.0.0.1:PORT for tests)",
                   &config::twilio_api_base),
      text_setting("twilio_verify_api_base", "TWILIO_VERIFY_API_BASE", "--twilio-verify-api-base",
                   "URL", "Twilio Verify API base (https; http://127.0.0.1:PORT for tests)",
                   &config::twilio_verify_api_base),
      seconds_setting("sms_timeout", "PARLEY_SMS_TIMEOUT", "--sms-timeout",
                      "Time allowed for one call to the SMS provider", &config::sms_timeout, 1, 300),
      text_setting("log_level", "PARLEY_LOG_LEVEL", "--log-level", "LEVEL",
                   "trace, debug, info, warn, error, critical or off", &config::log_level),
  };
}

// The TOML value of `node` as the text a flag would carry.
std::vector<std::string> toml_texts(const setting& entry, const toml::node& node) {
  if (const auto* array = node.as_array()) {
    if (!entry.is_list) {
      throw config_error(std::string(entry.key), "expected a single value, got an array");
    }
    std::vector<std::string> result;
    for (const auto& element : *array) {
      const auto texts = toml_texts(setting{.key = entry.key}, element);
      result.insert(result.end(), texts.begin(), texts.end());
    }
    return result;
  }
  if (const auto* text = node.as_string()) {
    return {text->get()};
  }
  if (const auto* integer = node.as_integer()) {
    return {std::to_string(integer->get())};
  }
  if (const auto* boolean = node.as_boolean()) {
    return {boolean->get() ? "true" : "false"};
  }
  throw config_error(std::string(entry.key), "expected a string, an integer or a boolean");
}

// `chosen` in load() keeps only the highest-precedence source of each setting, so a list
// from the environment replaces the TOML list instead of adding to it.
void apply(config& target, const setting& entry, const std::vector<std::string>& texts) {
  for (const auto& text : texts) {
    entry.assign(target, text);
  }
}

} // namespace

std::span<const setting> settings() {
  static const std::vector<setting> table = make_settings();
  return table;
}

std::optional<std::string> process_environment(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

host_port parse_listen(std::string_view listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw config_error("listen", fmt::format("expected HOST:PORT, got '{}'", listen));
  }
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const auto port = parse_integer<unsigned>("listen", listen.substr(colon + 1), 0, 65535);
  return host_port{std::move(host), static_cast<std::uint16_t>(port)};
}

config load(const sources& from) {
  config result;
  const auto table = settings();

  std::map<std::string, std::vector<std::string>, std::less<>> chosen;
  if (from.toml_path) {
    toml::table document;
    try {
      document = toml::parse_file(*from.toml_path);
    } catch (const toml::parse_error& error) {
      throw config_error("config", fmt::format("{}: {} (line {})", *from.toml_path,
                                               error.description(), error.source().begin.line));
    }
    for (const auto& [key, node] : document) {
      const auto found = std::find_if(table.begin(), table.end(),
                                      [&](const setting& entry) { return entry.key == key.str(); });
      if (found == table.end()) {
        throw config_error(std::string(key.str()),
                           fmt::format("unknown setting in {}", *from.toml_path));
      }
      chosen[std::string(found->key)] = toml_texts(*found, node);
    }
  }
  if (from.environment) {
    for (const auto& entry : table) {
      if (auto value = from.environment(entry.environment)) {
        chosen[std::string(entry.key)] = {std::move(*value)};
      }
    }
  }
  for (const auto& [key, values] : from.flags) {
    const auto found = std::find_if(table.begin(), table.end(),
                                    [&](const setting& entry) { return entry.key == key; });
    if (found == table.end()) {
      throw config_error(key, "unknown setting");
    }
    chosen[key] = values;
  }
  // The compliance mode's heartbeat is the upstream suites' (300 ms / 200 ms), but only as
  // a default: a ping setting given by any source (TOML, environment, flag) still wins.
  const bool compliance = [&] {
    config probe;
    if (const auto found = chosen.find("compliance"); found != chosen.end()) {
      const auto entry = std::find_if(table.begin(), table.end(),
                                      [](const setting& item) { return item.key == "compliance"; });
      apply(probe, *entry, found->second);
    }
    return probe.compliance;
  }();
  if (compliance) {
    result.ping_interval = k_compliance_ping_interval;
    result.ping_timeout = k_compliance_ping_timeout;
  }
  for (const auto& entry : table) {
    if (const auto found = chosen.find(entry.key); found != chosen.end()) {
      apply(result, entry, found->second);
    }
  }
  validate(result);
  return result;
}

} // namespace parley::config

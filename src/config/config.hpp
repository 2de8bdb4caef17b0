#pragma once
// Parley's configuration: one struct, filled from defaults, then a TOML file, then the
// environment, then command-line flags, and validated once at start-up.
//
// Every setting is declared once, in the table returned by settings(): its TOML key, its
// environment variable, its flag and its help text. main() turns the table into CLI11
// options, so `parley --help` lists every flag and nothing can be forgotten.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace parley::config {

struct config {
  // Network
  std::string listen = "127.0.0.1:8080";
  std::vector<std::string> allowed_origins;  ///< Besides the listen address's own origin.
  std::size_t threads = 0;                   ///< I/O threads; 0 = cores - 1, at least 1.
  bool trust_proxy = false;                  ///< Honour X-Forwarded-For / X-Forwarded-Proto.
  std::string node_id; ///< This node's name in a cluster (prefixes its sids); empty = alone.
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds idle_timeout{60};
  std::size_t max_connections_per_address = 512;
  std::chrono::seconds drain_timeout{10};

  // Storage
  std::string database = "var/parley.db";
  /// redis://HOST:PORT[/DB]: the bus to the other nodes; empty = this node is alone.
  std::string bus;
  std::string web_root = "web/dist"; ///< The web client's build; missing = a placeholder page.
  std::size_t database_readers = 4;
  /// SQLite: the longest a read may run on the I/O thread that asks for it before it is moved
  /// to a reader thread (store::database::read_here); zero: reads run on reader threads only.
  std::chrono::microseconds io_thread_read_budget{100};
  /// SQLite: an I/O thread commits a light load of writes itself while the last commit took no
  /// longer than this (store::database::write_here); zero: every write on the writer thread.
  std::chrono::microseconds io_thread_commit_budget{500};
  /// A commit that takes longer than this is logged with its stages (store::commit_timing);
  /// zero: none is.
  std::chrono::microseconds slow_commit{0};

  // Sign-in
  std::string default_region = "US";
  std::chrono::seconds code_ttl{600};
  std::chrono::seconds code_resend_interval{30};
  int code_max_attempts = 5;
  int codes_per_phone_per_hour = 5;
  int codes_per_address_per_hour = 50;
  std::chrono::seconds session_idle_timeout{30 * 24 * 3600};

  // Real time (Engine.IO / Socket.IO)
  std::chrono::milliseconds ping_interval{25'000};
  std::chrono::milliseconds ping_timeout{20'000};
  std::size_t max_payload = 1'000'000;
  bool compliance = false; ///< Mount the upstream protocol suites' test endpoints.
  // With `compliance`, ping_interval / ping_timeout default to the suites' timings below
  // instead (load() applies them unless a source sets the ping settings).

  // Chat
  int message_rate = 20;  ///< Messages per second per user; 0 = unlimited.
  int message_burst = 40; ///< Messages at once before the rate applies.
  std::size_t max_message_length = 4000; ///< Characters of a body after trimming.
  std::size_t max_group_members = 100;   ///< Besides the creator.
  std::chrono::seconds edit_window{24 * 3600}; ///< How long after sending its sender may edit.
  std::chrono::seconds delete_window{48 * 3600}; ///< … and delete for everyone (admins: always).
  int change_rate = 10; ///< Edits, deletes and reactions per second per user (each); 0 = unlimited.
  std::size_t message_cache_bytes = 64 << 20; ///< Kept for history pages (texts, positions).

  // Uploads (photos, files, profile pictures)
  /// Where their bytes go: a directory, or postgres://… (empty: beside a SQLite database as
  /// <its directory>/media, or in the PostgreSQL database itself).
  std::string media_store;
  std::int64_t max_upload_bytes = 100LL * 1024 * 1024;          ///< Per file.
  std::int64_t upload_daily_bytes = 2LL * 1024 * 1024 * 1024;   ///< Per user per UTC day.
  std::int64_t upload_stored_bytes = 10LL * 1024 * 1024 * 1024; ///< Per user, kept at once.
  int upload_rate = 2; ///< Uploads per second per user (bursts of ten times that); 0 = no limit.
  std::chrono::seconds unattached_upload_ttl{24 * 3600}; ///< Uploads never attached go after this.

  // Notifications (Web Push)
  /// VAPID `sub`: a mailto: or https: contact for push services (empty: the server's origin).
  std::string push_subject;
  bool push_allow_insecure_endpoints = false; ///< Also http://127.0.0.1:PORT endpoints (tests).
  int push_user_rate = 1;   ///< Pushes per user per second; 0 = unlimited.
  int push_user_burst = 30; ///< Pushes to one user at once before the rate applies.

  // SMS (Twilio); all empty = the development sender.
  std::string twilio_account_sid;
  std::string twilio_auth_token;
  std::string twilio_phone_number;
  std::string twilio_verify_service_sid;
  std::string twilio_api_base = "https://api.twilio.com";
  std::string twilio_verify_api_base = "https://verify.twilio.com";
  std::chrono::seconds sms_timeout{10};

  // Operations
  std::string log_level = "info";
};

/// The heartbeat the upstream protocol suites expect: the defaults in compliance mode.
inline constexpr std::chrono::milliseconds k_compliance_ping_interval{300};
inline constexpr std::chrono::milliseconds k_compliance_ping_timeout{200};

/// A configuration error, naming the field it is about.
class config_error : public std::runtime_error {
public:
  config_error(std::string field, const std::string& message)
      : std::runtime_error(field + ": " + message), field_(std::move(field)) {}
  [[nodiscard]] const std::string& field() const { return field_; }

private:
  std::string field_;
};

/// One setting: where it comes from and how a text value is stored into the struct.
struct setting {
  std::string_view key;         ///< TOML key and the name used in errors: "listen".
  std::string_view environment; ///< "PARLEY_LISTEN"
  std::string_view flag;        ///< "--listen"; empty: no flag (secrets).
  std::string_view value_name;  ///< "HOST:PORT", for help.
  std::string_view help;
  bool is_list = false;                                   ///< Comma-separated / repeatable.
  std::function<void(config&, std::string_view)> assign;  ///< Throws config_error.
  std::function<std::string(const config&)> show;         ///< The current value, for help.
};

/// Every setting, in help order.
[[nodiscard]] std::span<const setting> settings();

/// Where values come from, lowest precedence first. `flags` maps a setting key to the
/// values given on the command line (several for a repeated list flag).
struct sources {
  std::optional<std::string> toml_path;
  std::function<std::optional<std::string>(std::string_view)> environment; ///< getenv-like.
  std::map<std::string, std::vector<std::string>, std::less<>> flags;
};

/// Builds the configuration from defaults < TOML < environment < flags, then validates
/// it. Throws config_error naming the first bad field.
[[nodiscard]] config load(const sources& from);

/// Checks cross-field rules and ranges. Throws config_error.
void validate(const config& value);

/// The process environment, for sources::environment.
[[nodiscard]] std::optional<std::string> process_environment(std::string_view name);

/// Host and port of `listen`; throws config_error("listen", …) when malformed.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
};
[[nodiscard]] host_port parse_listen(std::string_view listen);

/// True when Twilio settings select a real sender.
[[nodiscard]] inline bool uses_twilio(const config& value) {
  return !value.twilio_account_sid.empty() || !value.twilio_auth_token.empty() ||
         !value.twilio_phone_number.empty() || !value.twilio_verify_service_sid.empty();
}

} // namespace parley::config

#pragma once
// tests/e2e/fake_twilio.py run as a child process, for tests of the Twilio senders.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace parley::sms::test_support {

struct fake_twilio_options {
  std::string account_sid = "AC0123456789abcdef0123456789abcdef";
  std::string auth_token = "fake-auth-token-0123456789";
  std::string phone_number = "+15005550006";
  std::string verify_service_sid = "VA0123456789abcdef0123456789abcdef";
};

/// Starts `/usr/bin/python3 <source dir>/tests/e2e/fake_twilio.py` and waits for its
/// `listening <port>` line; the destructor stops it (SIGTERM) and reaps it. Throws
/// std::runtime_error when the fake does not start. Not thread-safe.
class fake_twilio_process {
public:
  explicit fake_twilio_process(fake_twilio_options options = {});
  ~fake_twilio_process();
  fake_twilio_process(const fake_twilio_process&) = delete;
  fake_twilio_process& operator=(const fake_twilio_process&) = delete;

  [[nodiscard]] const fake_twilio_options& options() const { return options_; }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// `http://127.0.0.1:<port>`: the base of both the Messages and the Verify API.
  [[nodiscard]] std::string base_url() const;

  /// `GET /_fake/<name>` ("messages", "requests", "verify_codes") as JSON.
  [[nodiscard]] boost::json::value control_get(std::string_view name) const;
  /// `POST /_fake/<name>` ("next_error", "expire", "reset") with `arguments` as JSON.
  void control_post(std::string_view name, const boost::json::object& arguments) const;

  /// The next Twilio request gets this Twilio error (status 0: never answered).
  void set_next_error(int status, int code = 0, std::string_view message = {}) const;

private:
  fake_twilio_options options_;
  pid_t pid_ = -1;
  int lifeline_ = -1; // the write end of the fake's stdin
  std::uint16_t port_ = 0;
};

} // namespace parley::sms::test_support

#pragma once
// The SMS seam: how a sign-in code reaches a phone. Three implementations, chosen by
// configuration (see make_sender): the development sender, which writes the code to the
// log; Twilio Programmable Messaging, which sends our own code; and Twilio Verify, where
// Twilio generates, sends and checks the code itself.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <expected>
#include <memory>
#include <string>

namespace parley::sms {

/// Why the provider did not do what was asked. `message` is the provider's own reason
/// (Twilio's `message` field), fit to show to the person signing in.
struct sms_error {
  std::string message;
  int provider_status = 0; ///< HTTP status of the provider's answer; 0 for a timeout or network error.
  int provider_code = 0;   ///< The provider's error code (Twilio's `code`), 0 when there is none.
};

/// Outcome of checking a code at a provider that keeps the codes (Twilio Verify).
enum class check_outcome {
  approved,          ///< The code is right; the verification is finished.
  wrong_code,        ///< Not the code; the person may try again.
  expired,           ///< No pending verification (expired, already used or never started).
  too_many_attempts, ///< The provider refuses further checks for this verification.
};

struct code_request {
  std::string phone; ///< E.164
  std::string code;  ///< The code to send; empty when the provider makes its own.
  std::string body;  ///< The full text of the SMS, the code included.
};

/// Sends sign-in codes. Implementations are thread-safe. Their network calls run on the
/// executor given at construction, never on the caller's: the awaitables below resume the
/// caller on the caller's own executor.
class sender {
public:
  virtual ~sender() = default;

  /// True when the provider generates and checks the codes itself (Twilio Verify): then the
  /// server stores no code and calls check_code instead of comparing hashes.
  [[nodiscard]] virtual bool provider_checks_codes() const = 0;

  /// A short name for logs and metrics: "development", "twilio-messages", "twilio-verify".
  [[nodiscard]] virtual std::string name() const = 0;

  /// Sends the code to `request.phone`. Build the request as a named variable and pass it with
  /// std::move: g++ 12 frees a `code_request` written inside the co_await expression wrongly.
  virtual boost::asio::awaitable<std::expected<void, sms_error>> send_code(code_request request) = 0;

  /// Checks `code` for `phone` at the provider. Only for provider_checks_codes() senders;
  /// the others answer expired.
  virtual boost::asio::awaitable<std::expected<check_outcome, sms_error>>
  check_code(std::string phone, std::string code) = 0;
};

struct twilio_settings {
  std::string account_sid;
  std::string auth_token;
  std::string phone_number;         ///< The From number for Programmable Messaging.
  std::string verify_service_sid;   ///< When set, Twilio Verify is used.
  std::string api_base = "https://api.twilio.com";            ///< Messages API base URL.
  std::string verify_api_base = "https://verify.twilio.com";  ///< Verify API base URL.
  std::chrono::milliseconds timeout{10'000};                  ///< Whole-call timeout.
};

/// The development sender: logs `sms.development to=<phone> code=<code> body="..."` at info
/// level and succeeds.
[[nodiscard]] std::unique_ptr<sender> make_development_sender();

/// Twilio Messages (`verify_service_sid` empty) or Twilio Verify. `executor` runs the HTTPS
/// calls. Throws std::invalid_argument when a base URL is neither https nor http://127.0.0.1.
[[nodiscard]] std::unique_ptr<sender> make_twilio_sender(twilio_settings settings,
                                                         boost::asio::any_io_executor executor);

} // namespace parley::sms

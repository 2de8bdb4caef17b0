#include "net/http_client.hpp"
#include "sms/sender.hpp"

#include "common/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace parley::sms {

using net::base_url;
using net::form_field;
using net::http_client;
using net::http_response;
using net::make_tls_client_context;
using net::parse_base_url;
using net::path_segment;
using net::transport_error;

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using steady_clock = std::chrono::steady_clock;

constexpr std::string_view k_timeout_message = "The SMS provider did not answer in time.";
constexpr std::string_view k_unreachable_message = "The SMS provider could not be reached.";
constexpr std::string_view k_too_large_message = "The SMS provider's answer was too large.";
constexpr int k_twilio_not_found = 20404;
constexpr int k_twilio_max_check_attempts = 60202;

std::string basic_authorization(std::string_view user, std::string_view password) {
  const std::string credentials = fmt::format("{}:{}", user, password);
  std::string encoded(4 * ((credentials.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                     reinterpret_cast<const unsigned char*>(credentials.data()),
                                     static_cast<int>(credentials.size()));
  encoded.resize(static_cast<std::size_t>(length));
  return "Basic " + encoded;
}

bool is_success(unsigned status) {
  return status >= 200 && status < 300;
}

long long elapsed_ms(steady_clock::time_point started) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - started)
      .count();
}

std::optional<json::object> parse_object(std::string_view body) {
  boost::system::error_code error;
  json::value value = json::parse(body, error);
  if (error || !value.is_object()) {
    return std::nullopt;
  }
  return std::move(value.as_object());
}

std::string string_member(const json::object& object, std::string_view name) {
  const json::value* member = object.if_contains(name);
  return member != nullptr && member->is_string() ? std::string(member->as_string()) : "";
}

int int_member(const json::object& object, std::string_view name) {
  const json::value* member = object.if_contains(name);
  if (member == nullptr) {
    return 0;
  }
  boost::system::error_code error;
  const auto number = member->to_number<int>(error);
  return error ? 0 : number;
}

// Twilio's error body: {"code": 21211, "message": "...", "more_info": "...", "status": 400}.
sms_error error_from_answer(const http_response& response) {
  sms_error error{
      .message = fmt::format("The SMS provider answered with HTTP status {}.", response.status),
      .provider_status = static_cast<int>(response.status),
      .provider_code = 0};
  if (const auto object = parse_object(response.body)) {
    if (auto message = string_member(*object, "message"); !message.empty()) {
      error.message = std::move(message);
    }
    error.provider_code = int_member(*object, "code");
  }
  return error;
}

sms_error error_from_transport(const transport_error& failure) {
  switch (failure.what) {
  case transport_error::kind::timeout:
    return sms_error{.message = std::string(k_timeout_message)};
  case transport_error::kind::too_large:
    return sms_error{.message = std::string(k_too_large_message)};
  case transport_error::kind::network:
  case transport_error::kind::refused:
    break;
  }
  return sms_error{.message = std::string(k_unreachable_message)};
}

std::string_view outcome_name(check_outcome outcome) {
  switch (outcome) {
  case check_outcome::approved:
    return "approved";
  case check_outcome::wrong_code:
    return "wrong_code";
  case check_outcome::expired:
    return "expired";
  case check_outcome::too_many_attempts:
    return "too_many_attempts";
  }
  return "unknown";
}

// What Twilio said, or why it said nothing. Logged once per call, never with secrets,
// codes or message bodies.
class twilio_call {
public:
  twilio_call(const http_client& client, std::string_view operation)
      : client_(client), operation_(operation), started_(steady_clock::now()) {}

  asio::awaitable<std::expected<http_response, sms_error>>
  post(std::string path, std::string authorization, std::vector<form_field> fields) {
    auto response =
        co_await client_.post_form(std::move(path), std::move(authorization), std::move(fields));
    if (!response) {
      spdlog::warn("sms.twilio operation={} host={} failure={} detail={} elapsed_ms={}", operation_,
                   client_.base().host, failure_name(response.error().what),
                   log::quoted(response.error().detail), elapsed_ms(started_));
      co_return std::unexpected(error_from_transport(response.error()));
    }
    co_return std::move(*response);
  }

  void log_success(const http_response& response, std::string_view detail) const {
    spdlog::info("sms.twilio operation={} status={} {} elapsed_ms={}", operation_, response.status,
                 detail, elapsed_ms(started_));
  }

  void log_error(const sms_error& error) const {
    spdlog::info("sms.twilio operation={} status={} twilio_code={} message={} elapsed_ms={}",
                 operation_, error.provider_status, error.provider_code, log::quoted(error.message),
                 elapsed_ms(started_));
  }

private:
  static std::string_view failure_name(transport_error::kind what) {
    switch (what) {
    case transport_error::kind::timeout:
      return "timeout";
    case transport_error::kind::too_large:
      return "too_large";
    case transport_error::kind::refused:
      return "refused";
    case transport_error::kind::network:
      break;
    }
    return "network";
  }

  const http_client& client_;
  std::string_view operation_;
  steady_clock::time_point started_;
};

std::string sid_detail(const http_response& response) {
  const auto object = parse_object(response.body);
  const std::string sid = object ? string_member(*object, "sid") : "";
  return fmt::format("sid={}", sid.empty() ? "-" : sid);
}

// Programmable Messaging: we make the code, Twilio carries the text.
class twilio_messages_sender final : public sender {
public:
  twilio_messages_sender(http_client client, std::string authorization,
                         const twilio_settings& settings)
      : client_(std::move(client)), authorization_(std::move(authorization)),
        path_(fmt::format("/2010-04-01/Accounts/{}/Messages.json",
                          path_segment(settings.account_sid))),
        from_(settings.phone_number) {}

  [[nodiscard]] bool provider_checks_codes() const override { return false; }

  [[nodiscard]] std::string name() const override { return "twilio-messages"; }

  asio::awaitable<std::expected<void, sms_error>> send_code(code_request request) override {
    twilio_call call(client_, "message");
    std::vector<form_field> fields{
        {"To", std::move(request.phone)}, {"From", from_}, {"Body", std::move(request.body)}};
    auto response = co_await call.post(path_, authorization_, std::move(fields));
    if (!response) {
      co_return std::unexpected(std::move(response.error()));
    }
    if (!is_success(response->status)) {
      auto error = error_from_answer(*response);
      call.log_error(error);
      co_return std::unexpected(std::move(error));
    }
    call.log_success(*response, sid_detail(*response));
    co_return std::expected<void, sms_error>{};
  }

  asio::awaitable<std::expected<check_outcome, sms_error>>
  check_code(std::string /*phone*/, std::string /*code*/) override {
    co_return check_outcome::expired;
  }

private:
  http_client client_;
  std::string authorization_;
  std::string path_;
  std::string from_;
};

// Twilio Verify: Twilio makes, sends and checks the code.
class twilio_verify_sender final : public sender {
public:
  twilio_verify_sender(http_client client, std::string authorization,
                       const twilio_settings& settings)
      : client_(std::move(client)), authorization_(std::move(authorization)),
        service_path_(fmt::format("/v2/Services/{}", path_segment(settings.verify_service_sid))) {}

  [[nodiscard]] bool provider_checks_codes() const override { return true; }

  [[nodiscard]] std::string name() const override { return "twilio-verify"; }

  asio::awaitable<std::expected<void, sms_error>> send_code(code_request request) override {
    twilio_call call(client_, "verification");
    std::vector<form_field> fields{{"To", std::move(request.phone)}, {"Channel", "sms"}};
    std::string path = service_path_ + "/Verifications";
    auto response = co_await call.post(std::move(path), authorization_, std::move(fields));
    if (!response) {
      co_return std::unexpected(std::move(response.error()));
    }
    if (!is_success(response->status)) {
      auto error = error_from_answer(*response);
      call.log_error(error);
      co_return std::unexpected(std::move(error));
    }
    call.log_success(*response, sid_detail(*response));
    co_return std::expected<void, sms_error>{};
  }

  asio::awaitable<std::expected<check_outcome, sms_error>> check_code(std::string phone,
                                                                      std::string code) override {
    twilio_call call(client_, "verification_check");
    std::vector<form_field> fields{{"To", std::move(phone)}, {"Code", std::move(code)}};
    std::string path = service_path_ + "/VerificationCheck";
    auto response = co_await call.post(std::move(path), authorization_, std::move(fields));
    if (!response) {
      co_return std::unexpected(std::move(response.error()));
    }
    auto outcome = outcome_of(*response);
    if (!outcome) {
      call.log_error(outcome.error());
    } else {
      call.log_success(*response, fmt::format("outcome={}", outcome_name(*outcome)));
    }
    co_return outcome;
  }

private:
  // 200 with the check's status; 404 (20404) when no verification is pending (expired,
  // approved or never started); 429 (60202) after too many checks.
  static std::expected<check_outcome, sms_error> outcome_of(const http_response& response) {
    if (!is_success(response.status)) {
      auto error = error_from_answer(response);
      if (response.status == 404 && error.provider_code == k_twilio_not_found) {
        return check_outcome::expired;
      }
      if (response.status == 429 && error.provider_code == k_twilio_max_check_attempts) {
        return check_outcome::too_many_attempts;
      }
      return std::unexpected(std::move(error));
    }
    const auto object = parse_object(response.body);
    const std::string status = object ? string_member(*object, "status") : "";
    if (status == "approved") {
      return check_outcome::approved;
    }
    if (status == "pending") {
      return check_outcome::wrong_code;
    }
    if (status == "max_attempts_reached") {
      return check_outcome::too_many_attempts;
    }
    if (status == "expired" || status == "canceled" || status == "deleted" || status == "failed") {
      return check_outcome::expired;
    }
    return std::unexpected(sms_error{
        .message = "The SMS provider's answer was not understood.",
        .provider_status = static_cast<int>(response.status),
        .provider_code = 0,
    });
  }

  http_client client_;
  std::string authorization_;
  std::string service_path_;
};

base_url parse_or_throw(std::string_view field, std::string_view text) {
  auto parsed = parse_base_url(text);
  if (!parsed) {
    throw std::invalid_argument(fmt::format("twilio {}: {}", field, parsed.error()));
  }
  return std::move(*parsed);
}

} // namespace

std::unique_ptr<sender> make_twilio_sender(twilio_settings settings,
                                           boost::asio::any_io_executor executor) {
  const base_url api_base = parse_or_throw("api_base", settings.api_base);
  const base_url verify_api_base = parse_or_throw("verify_api_base", settings.verify_api_base);
  if (settings.timeout <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("twilio timeout: must be positive");
  }
  if (!executor) {
    throw std::invalid_argument("twilio sender: no executor for the network calls");
  }
  const bool use_verify = !settings.verify_service_sid.empty();
  const base_url& base = use_verify ? verify_api_base : api_base;
  auto tls_context = base.tls ? make_tls_client_context() : nullptr;
  http_client client(base, std::move(executor), settings.timeout, std::move(tls_context));
  auto authorization = basic_authorization(settings.account_sid, settings.auth_token);
  if (use_verify) {
    return std::make_unique<twilio_verify_sender>(std::move(client), std::move(authorization),
                                                  settings);
  }
  return std::make_unique<twilio_messages_sender>(std::move(client), std::move(authorization),
                                                  settings);
}

} // namespace parley::sms

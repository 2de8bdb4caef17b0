// The Twilio senders against tests/e2e/fake_twilio.py (which checks every request the
// way Twilio does) and against loopback servers that misbehave on purpose.

#include "sms/fake_twilio_process.hpp"
#include "sms/sender.hpp"
#include "sms/sms_test_support.hpp"
#include "support/http_test_servers.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>

namespace parley::sms {
namespace {

using namespace std::chrono_literals;
using test_support::fake_twilio_process;
using test_support::log_capture;
using test_support::network_thread;
using test_support::run_on_caller;

constexpr std::string_view k_phone = "+14155550123";
constexpr std::string_view k_timeout_message = "The SMS provider did not answer in time.";
constexpr std::string_view k_unreachable_message = "The SMS provider could not be reached.";

std::string string_of(const boost::json::value& value) {
  return std::string(value.as_string());
}

class twilio_sender_test : public ::testing::Test {
protected:
  [[nodiscard]] twilio_settings messages_settings() const {
    const auto& options = fake_.options();
    return {.account_sid = options.account_sid,
            .auth_token = options.auth_token,
            .phone_number = options.phone_number,
            .verify_service_sid = "",
            .api_base = fake_.base_url(),
            .verify_api_base = fake_.base_url(),
            .timeout = 5s};
  }

  [[nodiscard]] twilio_settings verify_settings() const {
    auto settings = messages_settings();
    settings.verify_service_sid = fake_.options().verify_service_sid;
    return settings;
  }

  std::expected<void, sms_error> send(sender& sender, std::string_view phone = k_phone,
                                      std::string body = "Your Parley code is 123456") {
    return run_on_caller(
        sender.send_code({.phone = std::string(phone), .code = "123456", .body = std::move(body)}));
  }

  std::expected<check_outcome, sms_error> check(sender& sender, std::string code) {
    return run_on_caller(sender.check_code(std::string(k_phone), std::move(code)));
  }

  [[nodiscard]] std::string verify_code() const {
    const auto codes = fake_.control_get("verify_codes");
    const auto* code = codes.as_object().if_contains(k_phone);
    return code != nullptr ? string_of(*code) : "";
  }

  fake_twilio_process fake_;
  network_thread network_;
};

// --- Programmable Messaging ------------------------------------------------------------

TEST_F(twilio_sender_test, messages_delivers_to_from_and_body_exactly) {
  const auto sender = make_twilio_sender(messages_settings(), network_.executor());
  const std::string body = "Your Parley code is 123456.\nKeep it: a+b=c & 100% caf\xc3\xa9 ~";
  const auto sent = send(*sender, k_phone, body);
  ASSERT_TRUE(sent.has_value()) << sent.error().message;

  const auto messages = fake_.control_get("messages").as_array();
  ASSERT_EQ(messages.size(), 1U);
  const auto& message = messages[0].as_object();
  EXPECT_EQ(string_of(message.at("to")), k_phone);
  EXPECT_EQ(string_of(message.at("from")), fake_.options().phone_number);
  EXPECT_EQ(string_of(message.at("body")), body);

  const auto requests = fake_.control_get("requests").as_array();
  ASSERT_EQ(requests.size(), 1U);
  const auto& request = requests[0].as_object();
  EXPECT_EQ(string_of(request.at("method")), "POST");
  EXPECT_EQ(string_of(request.at("path")),
            "/2010-04-01/Accounts/" + fake_.options().account_sid + "/Messages.json");
  EXPECT_EQ(string_of(request.at("headers").at("Content-Type")),
            "application/x-www-form-urlencoded");
}

TEST_F(twilio_sender_test, messages_sender_makes_its_own_codes) {
  const auto sender = make_twilio_sender(messages_settings(), network_.executor());
  EXPECT_EQ(sender->name(), "twilio-messages");
  EXPECT_FALSE(sender->provider_checks_codes());
  const auto checked = check(*sender, "123456");
  ASSERT_TRUE(checked.has_value());
  EXPECT_EQ(*checked, check_outcome::expired);
  EXPECT_TRUE(fake_.control_get("requests").as_array().empty());
}

TEST_F(twilio_sender_test, twilio_error_answer_carries_twilios_message_status_and_code) {
  const auto sender = make_twilio_sender(messages_settings(), network_.executor());
  fake_.set_next_error(400, 21211, "The 'To' number +1415 is not a valid phone number.");
  const auto sent = send(*sender);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message, "The 'To' number +1415 is not a valid phone number.");
  EXPECT_EQ(sent.error().provider_status, 400);
  EXPECT_EQ(sent.error().provider_code, 21211);
}

TEST_F(twilio_sender_test, number_twilio_rejects_comes_back_as_twilios_error) {
  const auto sender = make_twilio_sender(messages_settings(), network_.executor());
  const auto sent = send(*sender, "+0123");
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().provider_code, 21211);
  EXPECT_EQ(sent.error().message, "The 'To' number +0123 is not a valid phone number.");
  EXPECT_TRUE(fake_.control_get("messages").as_array().empty());
}

TEST_F(twilio_sender_test, wrong_credentials_are_refused_by_twilio) {
  auto settings = messages_settings();
  settings.auth_token = "not-the-token";
  const auto sender = make_twilio_sender(settings, network_.executor());
  const auto sent = send(*sender);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().provider_status, 401);
  EXPECT_EQ(sent.error().provider_code, 20003);
  EXPECT_EQ(sent.error().message, "Authenticate");
}

TEST_F(twilio_sender_test, from_number_not_on_the_account_is_refused) {
  auto settings = messages_settings();
  settings.phone_number = "+15550001111";
  const auto sender = make_twilio_sender(settings, network_.executor());
  const auto sent = send(*sender);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().provider_code, 21606);
}

TEST_F(twilio_sender_test, error_without_a_json_body_gives_the_status) {
  const auto sender = make_twilio_sender(messages_settings(), network_.executor());
  fake_.control_post("next_error", {{"status", 503}, {"body", "Service Unavailable"}});
  const auto sent = send(*sender);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message, "The SMS provider answered with HTTP status 503.");
  EXPECT_EQ(sent.error().provider_status, 503);
  EXPECT_EQ(sent.error().provider_code, 0);
}

TEST_F(twilio_sender_test, oversized_answer_is_an_error_not_a_buffer) {
  const auto sender = make_twilio_sender(messages_settings(), network_.executor());
  fake_.control_post("next_error", {{"status", 500}, {"body", std::string(100'000, 'x')}});
  const auto sent = send(*sender);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message, "The SMS provider's answer was too large.");
  EXPECT_EQ(sent.error().provider_status, 0);
}

TEST_F(twilio_sender_test, unanswered_request_times_out_with_the_configured_timeout) {
  auto settings = messages_settings();
  settings.timeout = 200ms;
  const auto sender = make_twilio_sender(settings, network_.executor());
  fake_.set_next_error(0);
  const auto started = std::chrono::steady_clock::now();
  const auto sent = send(*sender);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message, k_timeout_message);
  EXPECT_EQ(sent.error().provider_status, 0);
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 3s);
}

TEST_F(twilio_sender_test, logs_each_call_without_token_code_or_body) {
  const log_capture log;
  const auto sender = make_twilio_sender(messages_settings(), network_.executor());
  ASSERT_TRUE(send(*sender, k_phone, "Your Parley code is 987654").has_value());
  fake_.set_next_error(400, 21211, "The 'To' number is not a valid phone number.");
  ASSERT_FALSE(send(*sender, k_phone, "Your Parley code is 987654").has_value());

  const std::string text = log.text();
  EXPECT_TRUE(std::regex_search(
      text, std::regex(R"(info sms\.twilio operation=message status=201 sid=SM[0-9a-f]{32} )")))
      << text;
  EXPECT_NE(text.find("sms.twilio operation=message status=400 twilio_code=21211 message="),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(fake_.options().auth_token), std::string::npos);
  EXPECT_EQ(text.find("987654"), std::string::npos);
  EXPECT_EQ(text.find("Basic"), std::string::npos);
}

// --- Verify ------------------------------------------------------------------------------

TEST_F(twilio_sender_test, verify_sender_lets_twilio_keep_the_codes) {
  const auto sender = make_twilio_sender(verify_settings(), network_.executor());
  EXPECT_EQ(sender->name(), "twilio-verify");
  EXPECT_TRUE(sender->provider_checks_codes());
}

TEST_F(twilio_sender_test, verify_starts_a_verification_and_approves_the_right_code_once) {
  const auto sender = make_twilio_sender(verify_settings(), network_.executor());
  ASSERT_TRUE(send(*sender).has_value());
  const auto requests = fake_.control_get("requests").as_array();
  ASSERT_EQ(requests.size(), 1U);
  const auto& form = requests[0].at("form").as_object();
  EXPECT_EQ(string_of(form.at("To")), k_phone);
  EXPECT_EQ(string_of(form.at("Channel")), "sms");
  EXPECT_EQ(form.size(), 2U);

  const std::string code = verify_code();
  ASSERT_EQ(code.size(), 6U);
  const auto approved = check(*sender, code);
  ASSERT_TRUE(approved.has_value()) << approved.error().message;
  EXPECT_EQ(*approved, check_outcome::approved);
  const auto again = check(*sender, code);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(*again, check_outcome::expired);
}

TEST_F(twilio_sender_test, verify_wrong_code_leaves_the_verification_pending) {
  const auto sender = make_twilio_sender(verify_settings(), network_.executor());
  ASSERT_TRUE(send(*sender).has_value());
  const std::string code = verify_code();
  const std::string wrong = code == "000000" ? "111111" : "000000";
  const auto first = check(*sender, wrong);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(*first, check_outcome::wrong_code);
  const auto second = check(*sender, code);
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ(*second, check_outcome::approved);
}

TEST_F(twilio_sender_test, verify_check_without_a_verification_is_expired) {
  const auto sender = make_twilio_sender(verify_settings(), network_.executor());
  const auto checked = check(*sender, "123456");
  ASSERT_TRUE(checked.has_value()) << checked.error().message;
  EXPECT_EQ(*checked, check_outcome::expired);
}

TEST_F(twilio_sender_test, verify_check_after_expiry_is_expired) {
  const auto sender = make_twilio_sender(verify_settings(), network_.executor());
  ASSERT_TRUE(send(*sender).has_value());
  const std::string code = verify_code();
  fake_.control_post("expire", {{"phone", k_phone}});
  const auto checked = check(*sender, code);
  ASSERT_TRUE(checked.has_value()) << checked.error().message;
  EXPECT_EQ(*checked, check_outcome::expired);
}

TEST_F(twilio_sender_test, verify_refuses_a_sixth_check_even_with_the_right_code) {
  const auto sender = make_twilio_sender(verify_settings(), network_.executor());
  ASSERT_TRUE(send(*sender).has_value());
  const std::string code = verify_code();
  const std::string wrong = code == "000000" ? "111111" : "000000";
  for (int attempt = 1; attempt <= 5; ++attempt) {
    const auto checked = check(*sender, wrong);
    ASSERT_TRUE(checked.has_value()) << checked.error().message;
    EXPECT_EQ(*checked, check_outcome::wrong_code) << "attempt " << attempt;
  }
  const auto sixth = check(*sender, code);
  ASSERT_TRUE(sixth.has_value()) << sixth.error().message;
  EXPECT_EQ(*sixth, check_outcome::too_many_attempts);
}

TEST_F(twilio_sender_test, verify_send_error_carries_twilios_message) {
  const auto sender = make_twilio_sender(verify_settings(), network_.executor());
  fake_.set_next_error(429, 60203, "Max send attempts reached");
  const auto sent = send(*sender);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message, "Max send attempts reached");
  EXPECT_EQ(sent.error().provider_status, 429);
  EXPECT_EQ(sent.error().provider_code, 60203);
}

TEST_F(twilio_sender_test, verify_check_server_error_is_an_sms_error) {
  const auto sender = make_twilio_sender(verify_settings(), network_.executor());
  fake_.set_next_error(500, 20500, "Internal Server Error");
  const auto checked = check(*sender, "123456");
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error().message, "Internal Server Error");
  EXPECT_EQ(checked.error().provider_status, 500);
}

TEST_F(twilio_sender_test, verify_not_found_without_twilios_code_is_an_error_not_expired) {
  const auto sender = make_twilio_sender(verify_settings(), network_.executor());
  fake_.control_post("next_error", {{"status", 404}, {"body", "<html>Not Found</html>"}});
  const auto checked = check(*sender, "123456");
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error().provider_status, 404);
}

TEST_F(twilio_sender_test, verify_check_logs_the_outcome_but_never_the_code) {
  const log_capture log;
  const auto sender = make_twilio_sender(verify_settings(), network_.executor());
  ASSERT_TRUE(send(*sender).has_value());
  const std::string code = verify_code();
  ASSERT_TRUE(check(*sender, code).has_value());
  const std::string text = log.text();
  EXPECT_NE(text.find("sms.twilio operation=verification status=201 sid=VE"), std::string::npos)
      << text;
  EXPECT_NE(text.find("sms.twilio operation=verification_check status=200 outcome=approved"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(code), std::string::npos) << text;
}

// --- Executors ---------------------------------------------------------------------------

boost::asio::awaitable<std::thread::id> send_and_report_thread(sender& provider) {
  // A named request: g++ 12 mishandles braced temporaries inside a co_await expression.
  code_request request{.phone = "+14155550123", .code = "1", .body = "x"};
  auto sent = co_await provider.send_code(std::move(request));
  if (!sent) {
    throw std::runtime_error(sent.error().message);
  }
  co_return std::this_thread::get_id();
}

TEST_F(twilio_sender_test, caller_resumes_on_its_own_thread) {
  const auto sender = make_twilio_sender(messages_settings(), network_.executor());
  const auto resumed_on = run_on_caller(send_and_report_thread(*sender));
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
  EXPECT_NE(resumed_on, network_.thread_id());
}

TEST(twilio_sender, network_work_waits_for_the_network_executor) {
  const fake_twilio_process fake;
  // Declared first, destroyed last: the network thread's side of the call holds a copy of the
  // caller's executor for a moment after the result is ready (see run_on_caller).
  boost::asio::io_context caller;
  network_thread network(network_thread::start_mode::later);
  const auto sender = make_twilio_sender({.account_sid = fake.options().account_sid,
                                          .auth_token = fake.options().auth_token,
                                          .phone_number = fake.options().phone_number,
                                          .api_base = fake.base_url(),
                                          .timeout = 5s},
                                         network.executor());
  auto guard = boost::asio::make_work_guard(caller);
  auto sent = boost::asio::co_spawn(
      caller, sender->send_code({.phone = "+14155550123", .code = "1", .body = "x"}),
      boost::asio::use_future);
  caller.poll(); // everything the caller's executor can do without the network thread
  EXPECT_EQ(sent.wait_for(0s), std::future_status::timeout);
  EXPECT_TRUE(fake.control_get("requests").as_array().empty());

  network.start();
  while (sent.wait_for(0s) != std::future_status::ready) {
    caller.run_one();
  }
  const auto result = sent.get();
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(fake.control_get("messages").as_array().size(), 1U);
}

// --- Transport failures and TLS ------------------------------------------------------------

twilio_settings settings_for(std::string base, std::chrono::milliseconds timeout = 5s) {
  return {.account_sid = "AC0123456789abcdef0123456789abcdef",
          .auth_token = "token",
          .phone_number = "+15005550006",
          .api_base = std::move(base),
          .timeout = timeout};
}

std::expected<void, sms_error> send_once(const twilio_settings& settings, network_thread& network) {
  const auto sender = make_twilio_sender(settings, network.executor());
  return run_on_caller(sender->send_code({.phone = "+14155550123", .code = "1", .body = "x"}));
}

TEST(twilio_sender, tls_handshake_that_never_completes_times_out) {
  const parley::test_support::silent_listener listener;
  network_thread network;
  const auto sent = send_once(
      settings_for("https://127.0.0.1:" + std::to_string(listener.port()), 200ms), network);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message, k_timeout_message);
  EXPECT_EQ(sent.error().provider_status, 0);
}

TEST(twilio_sender, server_that_hangs_up_is_unreachable) {
  const parley::test_support::hang_up_server server;
  network_thread network;
  for (const char* scheme : {"http", "https"}) {
    const auto sent = send_once(
        settings_for(std::string(scheme) + "://127.0.0.1:" + std::to_string(server.port())),
        network);
    ASSERT_FALSE(sent.has_value()) << scheme;
    EXPECT_EQ(sent.error().message, k_unreachable_message) << scheme;
    EXPECT_EQ(sent.error().provider_status, 0) << scheme;
  }
}

TEST(twilio_sender, refused_connection_is_unreachable) {
  std::uint16_t closed_port = 0;
  {
    boost::asio::io_context context;
    boost::asio::ip::tcp::acceptor acceptor(context, {boost::asio::ip::address_v4::loopback(), 0});
    closed_port = acceptor.local_endpoint().port();
  }
  network_thread network;
  const auto sent =
      send_once(settings_for("http://127.0.0.1:" + std::to_string(closed_port)), network);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message, k_unreachable_message);
}

TEST(twilio_sender, untrusted_certificate_is_refused_and_sni_names_the_host) {
  parley::test_support::tls_test_server server;
  network_thread network;
  const auto sent =
      send_once(settings_for("https://localhost:" + std::to_string(server.port())), network);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message, k_unreachable_message);
  const auto connection = server.next_connection();
  ASSERT_TRUE(connection.has_value());
  EXPECT_FALSE(connection->handshake_succeeded);
  EXPECT_EQ(connection->server_name, "localhost");
}

// Trusts `pem` through SSL_CERT_FILE, which OpenSSL reads when a client context loads its
// default verify paths (in make_twilio_sender), and forgets it again on destruction.
class trusted_certificate {
public:
  explicit trusted_certificate(const std::string& pem)
      : path_(std::filesystem::temp_directory_path() /
              ("parley-sms-test-" + std::to_string(::getpid()) + ".pem")) {
    std::ofstream(path_) << pem;
    ::setenv("SSL_CERT_FILE", path_.c_str(), 1);
  }
  ~trusted_certificate() {
    ::unsetenv("SSL_CERT_FILE");
    std::filesystem::remove(path_);
  }
  trusted_certificate(const trusted_certificate&) = delete;
  trusted_certificate& operator=(const trusted_certificate&) = delete;

private:
  std::filesystem::path path_;
};

TEST(twilio_sender, trusted_certificate_for_the_host_carries_the_request) {
  parley::test_support::tls_test_server server;
  network_thread network;
  std::expected<void, sms_error> sent;
  {
    const trusted_certificate trusted(server.certificate_pem());
    sent = send_once(settings_for("https://localhost:" + std::to_string(server.port())), network);
  }
  ASSERT_TRUE(sent.has_value()) << sent.error().message;
  const auto connection = server.next_connection();
  ASSERT_TRUE(connection.has_value());
  EXPECT_TRUE(connection->handshake_succeeded);
  EXPECT_EQ(connection->server_name, "localhost");
  EXPECT_NE(connection->request.find(
                "POST /2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"),
            std::string::npos)
      << connection->request;
  EXPECT_NE(connection->request.find("To=%2B14155550123&From=%2B15005550006&Body=x"),
            std::string::npos)
      << connection->request;
}

TEST(twilio_sender, trusted_certificate_for_another_host_is_refused) {
  parley::test_support::tls_test_server server;
  network_thread network;
  std::expected<void, sms_error> sent;
  {
    const trusted_certificate trusted(server.certificate_pem());
    // The certificate names `localhost`; 127.0.0.1 is the same machine but not that name.
    sent = send_once(settings_for("https://127.0.0.1:" + std::to_string(server.port())), network);
  }
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message, k_unreachable_message);
  const auto connection = server.next_connection();
  ASSERT_TRUE(connection.has_value());
  EXPECT_FALSE(connection->handshake_succeeded);
  EXPECT_EQ(connection->server_name, ""); // no SNI for an address
}

// --- Configuration -------------------------------------------------------------------------

TEST(make_twilio_sender, refuses_plain_http_to_a_host_that_is_not_loopback) {
  network_thread network;
  EXPECT_THROW((void)make_twilio_sender(settings_for("http://api.twilio.com"), network.executor()),
               std::invalid_argument);
  auto settings = settings_for("https://api.twilio.com");
  settings.verify_api_base = "http://verify.twilio.com";
  EXPECT_THROW((void)make_twilio_sender(settings, network.executor()), std::invalid_argument);
}

TEST(make_twilio_sender, accepts_https_and_plain_http_on_loopback) {
  network_thread network;
  for (const char* base : {"https://api.twilio.com", "http://127.0.0.1:8080", "http://localhost:1",
                           "http://[::1]:9000"}) {
    EXPECT_NO_THROW((void)make_twilio_sender(settings_for(base), network.executor())) << base;
  }
}

TEST(make_twilio_sender, refuses_what_is_not_a_base_url) {
  network_thread network;
  for (const char* base :
       {"", "api.twilio.com", "ftp://api.twilio.com", "https://user:password@api.twilio.com"}) {
    EXPECT_THROW((void)make_twilio_sender(settings_for(base), network.executor()),
                 std::invalid_argument)
        << base;
  }
}

TEST(make_twilio_sender, refuses_a_timeout_that_is_not_positive) {
  network_thread network;
  EXPECT_THROW(
      (void)make_twilio_sender(settings_for("https://api.twilio.com", 0ms), network.executor()),
      std::invalid_argument);
}

} // namespace
} // namespace parley::sms

#include "sms/sender.hpp"
#include "sms/sms_test_support.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace parley::sms {
namespace {

using test_support::log_capture;
using test_support::run_on_caller;

TEST(development_sender, logs_the_code_in_the_line_the_end_to_end_tests_read) {
  const log_capture log;
  const auto sender = make_development_sender();
  const auto sent = run_on_caller(sender->send_code(
      {.phone = "+14155550123", .code = "042917", .body = "Your Parley code: 042917\n\"hi\""}));
  ASSERT_TRUE(sent.has_value());

  const std::string text = log.text();
  EXPECT_NE(text.find("info sms.development to=+14155550123 code=042917 "
                      "body=\"Your Parley code: 042917\\n\\\"hi\\\"\""),
            std::string::npos)
      << text;
  std::smatch match;
  ASSERT_TRUE(
      std::regex_search(text, match, std::regex(R"(sms\.development to=(\S+) code=(\d{6}))")));
  EXPECT_EQ(match[1], "+14155550123");
  EXPECT_EQ(match[2], "042917");
}

TEST(development_sender, keeps_no_codes_at_the_provider) {
  const auto sender = make_development_sender();
  EXPECT_FALSE(sender->provider_checks_codes());
  EXPECT_EQ(sender->name(), "development");
  const auto checked = run_on_caller(sender->check_code("+14155550123", "042917"));
  ASSERT_TRUE(checked.has_value());
  EXPECT_EQ(*checked, check_outcome::expired);
}

} // namespace
} // namespace parley::sms

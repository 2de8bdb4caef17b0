#include "sms/sender.hpp"

#include "common/log.hpp"

#include <spdlog/spdlog.h>

namespace parley::sms {
namespace {

class development_sender final : public sender {
public:
  [[nodiscard]] bool provider_checks_codes() const override { return false; }

  [[nodiscard]] std::string name() const override { return "development"; }

  boost::asio::awaitable<std::expected<void, sms_error>> send_code(code_request request) override {
    spdlog::info("sms.development to={} code={} body={}", request.phone, request.code,
                 log::quoted(request.body));
    co_return std::expected<void, sms_error>{};
  }

  boost::asio::awaitable<std::expected<check_outcome, sms_error>>
  check_code(std::string /*phone*/, std::string /*code*/) override {
    co_return check_outcome::expired;
  }
};

} // namespace

std::unique_ptr<sender> make_development_sender() {
  return std::make_unique<development_sender>();
}

} // namespace parley::sms

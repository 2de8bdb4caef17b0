#include "workload_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <iostream>
#include <stdexcept>

namespace parley::load {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::duration;

void sleep_for(double seconds) {
  std::this_thread::sleep_for(duration<double>(seconds));
}

std::vector<const user*> take_users(const std::vector<user>& users, std::size_t count,
                                    std::size_t offset) {
  if (users.size() < offset + count) {
    throw std::runtime_error(fmt::format("this workload needs {} users; the users file has {}",
                                         offset + count, users.size()));
  }
  std::vector<const user*> taken;
  for (std::size_t index = offset; index < offset + count; ++index) {
    taken.push_back(&users[index]);
  }
  return taken;
}

send_outcome read_send_ack(const json::value& arguments) {
  send_outcome outcome;
  const auto* list = arguments.if_array();
  const auto* answer = list != nullptr && !list->empty() ? list->front().if_object() : nullptr;
  if (answer == nullptr) {
    outcome.error = "malformed ack: " + json::serialize(arguments);
    return outcome;
  }
  const auto* ok = answer->if_contains("ok");
  if (ok == nullptr || !ok->is_bool() || !ok->as_bool()) {
    outcome.error = json::serialize(*answer);
    return outcome;
  }
  const auto* message = answer->if_contains("message");
  if (message == nullptr || !message->is_object()) {
    outcome.error = "ack without a message: " + json::serialize(*answer);
    return outcome;
  }
  outcome.ok = true;
  outcome.message_id = message->as_object().at("id").to_number<std::int64_t>();
  outcome.conversation_id = message->as_object().at("conversation_id").to_number<std::int64_t>();
  return outcome;
}

std::string run_prefix(const common_options& options) {
  return fmt::format("{}-{}-{}", options.label, ::getpid(), now_ns() % 1'000'000'007);
}

void error_log::add(std::string_view what) {
  if (count.fetch_add(1) == 0) {
    std::lock_guard lock(mutex);
    first = what;
  }
}

std::string error_log::first_error() {
  std::lock_guard lock(mutex);
  return first;
}

void error_log::report_to(report& out) {
  out.figures()["errors"] = count.load();
  if (count.load() != 0) {
    std::lock_guard lock(mutex);
    out.figures()["first_error"] = first;
    std::cerr << "parley-load: " << count.load() << " errors; the first: " << first << std::endl;
  }
}

void finish(report& out, error_log& errors, std::string_view workload) {
  errors.report_to(out);
  out.finish();
  if (errors.count != 0) {
    throw std::runtime_error(fmt::format("the {} run had errors", workload));
  }
}

void add_percentiles(boost::json::object& figures, std::string_view name, latencies& samples,
                     std::initializer_list<double> quantiles) {
  for (const double quantile : quantiles) {
    const auto digits = fmt::format("{}", quantile).substr(2); // 0.99 -> "99"
    const auto key = fmt::format("{}_p{}{}_ms", name, digits, digits.size() == 1 ? "0" : "");
    figures[key] = rounded(samples.quantile(quantile) / 1e3, 3);
  }
}

void close_all(std::vector<connection_ptr>& connections) {
  std::vector<std::future<void>> closed;
  for (auto& connection : connections) {
    closed.push_back(asio::co_spawn(connection->context(), connection->close(), asio::use_future));
  }
  for (auto& future : closed) {
    future.get();
  }
  connections.clear();
}

bool wait_until(const std::function<bool()>& done, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + duration<double>(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

} // namespace parley::load

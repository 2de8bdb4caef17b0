// The `history` workload: one sender fills a direct conversation, then readers fetch random
// full pages of it over HTTP (GET /api/v1/conversations/{id}/messages?before=…&limit=…).
#include "http_client.hpp"
#include "workload_support.hpp"
#include "workloads.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <random>
#include <stdexcept>

namespace parley::load {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct history_run {
  std::atomic<bool> recording{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> pages{0};      ///< While recording.
  std::atomic<std::uint64_t> pages_read{0}; ///< All, warm-up included.
  std::vector<latencies> page_latency;      // per reader
  error_log errors;
};

asio::awaitable<void> read_pages(history_run* run, const common_options* options,
                                 const user* reader, std::int64_t conversation, std::int64_t first,
                                 std::int64_t last, unsigned page, std::size_t slot) {
  http_connection connection(co_await asio::this_coro::executor);
  if (auto why = co_await connection.connect(options->server); !why.empty()) {
    run->errors.add(why);
    co_return;
  }
  std::mt19937_64 random(slot + 1);
  // Full pages where there are enough messages for them (else from the second message on).
  std::uniform_int_distribution<std::int64_t> before(std::min<std::int64_t>(first + page, last),
                                                     last + 1);
  while (!run->stopping.load(std::memory_order_relaxed)) {
    const auto target = fmt::format("/api/v1/conversations/{}/messages?before={}&limit={}",
                                    conversation, before(random), page);
    const auto started = now_ns();
    const auto answer = co_await connection.get(target, reader->token);
    if (answer.status != 200) {
      run->errors.add(
          fmt::format("GET {}: {} {}", target, answer.status, answer.body.substr(0, 200)));
      co_return;
    }
    ++run->pages_read;
    if (run->recording.load(std::memory_order_relaxed)) {
      ++run->pages;
      run->page_latency[slot].add(static_cast<double>(now_ns() - started) / 1e3);
    }
  }
}

} // namespace

void run_history(const common_options& options, const history_options& workload) {
  const auto users = read_users(options.users_file);
  const auto two = take_users(users, 2);
  thread_pool pool(options.threads);
  auto connections = connect_all(pool, options, two);
  error_log fill_errors;
  for (auto& connection : connections) {
    asio::post(connection->context(), [connection, &fill_errors] {
      connection->start(
          [](sio_connection& self, std::string_view name, json::value&, std::int64_t ack_id) {
            if (name == "message" && ack_id >= 0) {
              self.ack(ack_id, "[]");
            }
          },
          [&fill_errors](std::string_view why) {
            fill_errors.add(fmt::format("closed: {}", why));
          });
    });
  }

  // Fill: one sender, 64 messages in flight.
  auto& writer = *connections[0];
  const auto prefix = run_prefix(options);
  std::atomic<std::int64_t> unacked{0};
  std::atomic<std::int64_t> first_id{0};
  std::atomic<std::int64_t> last_id{0};
  std::atomic<std::int64_t> conversation{0};
  const auto fill_started = now_ns();
  for (unsigned message = 0; message < workload.messages; ++message) {
    std::string target = message == 0 ? fmt::format(R"("to":{})", two[1]->id)
                                      : fmt::format(R"("conversation_id":{})", conversation.load());
    const auto arguments = fmt::format(
        R"(["message:send",{{{},"body":"history message {} with some text","client_id":"{}-{}"}}])",
        target, message, prefix, message);
    ++unacked;
    asio::post(writer.context(), [&, arguments] {
      writer.emit_with_ack(arguments, [&](json::value& answer) {
        const auto outcome = read_send_ack(answer);
        if (!outcome.ok) {
          fill_errors.add("message:send: " + outcome.error);
        } else {
          conversation = outcome.conversation_id;
          std::int64_t expected = 0;
          first_id.compare_exchange_strong(expected, outcome.message_id);
          last_id = std::max(last_id.load(), outcome.message_id);
        }
        --unacked;
      });
    });
    const auto limit = message == 0 ? 1 : 64;
    if (!wait_until([&] { return unacked.load() < limit; }, 30)) {
      throw std::runtime_error("filling the conversation: no ack for 30 s");
    }
    if (fill_errors.count != 0) {
      throw std::runtime_error("filling the conversation: " + fill_errors.first_error());
    }
  }
  wait_until([&] { return unacked.load() == 0; }, 30);
  const double fill_seconds = static_cast<double>(now_ns() - fill_started) / 1e9;
  close_all(connections);

  history_run run;
  run.page_latency.resize(workload.concurrency);
  std::vector<std::future<void>> readers;
  for (std::size_t slot = 0; slot < workload.concurrency; ++slot) {
    readers.push_back(
        asio::co_spawn(pool.context(slot),
                       read_pages(&run, &options, two[0], conversation.load(), first_id.load(),
                                  last_id.load(), workload.page, slot),
                       asio::use_future));
  }
  server_meter meter(options);
  measure_loops(run, meter, workload.warmup_seconds, workload.seconds, readers);
  const auto pages = run.pages.load();

  report out("history", options);
  out.parameters() = {{"messages", workload.messages},
                      {"page", workload.page},
                      {"concurrency", workload.concurrency},
                      {"seconds", workload.seconds},
                      {"threads", pool.size()}};
  latencies all;
  for (const auto& one : run.page_latency) {
    all.merge(one);
  }
  auto& figures = out.figures();
  figures["fill_messages_per_s"] = rounded(workload.messages / fill_seconds, 0);
  figures["pages_per_s"] = rounded(static_cast<double>(pages) / meter.wall_seconds(), 0);
  figures["pages_read"] = run.pages_read.load();
  add_percentiles(figures, "page", all, {0.5, 0.99});
  add_server_figures(out, meter, static_cast<double>(pages), "page");
  finish(out, run.errors, "history");
}

} // namespace parley::load

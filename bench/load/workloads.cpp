#include "workloads.hpp"

#include "http_client.hpp"
#include "workload_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <future>
#include <random>
#include <stdexcept>
#include <string_view>

namespace parley::load {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::duration;

namespace {

constexpr auto k_use = asio::as_tuple(asio::use_awaitable);

// The send time a message body carries: "t<steady nanoseconds>" (any prefix letter).
std::optional<std::int64_t> sent_at(const json::value& payload) {
  const auto* object = payload.if_object();
  const auto* body = object != nullptr ? object->if_contains("body") : nullptr;
  if (body == nullptr || !body->is_string() || body->as_string().size() < 2) {
    return std::nullopt;
  }
  const auto& text = body->as_string();
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data() + 1, text.data() + text.size(), value);
  (void)end;
  if (error != std::errc()) {
    return std::nullopt;
  }
  return value;
}

// ---- throughput ----------------------------------------------------------------------

struct per_thread {
  latencies ack_latency;
  latencies delivery_latency;
};

struct throughput_run {
  const throughput_options* options = nullptr;
  std::string prefix;
  std::atomic<bool> recording{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> acked_offline{0}; // whole run: messages to receivers never connected
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> skipped{0};
  std::atomic<std::int64_t> in_flight{0};
  std::vector<per_thread> threads;
  error_log errors;
};

struct sender {
  connection_ptr connection;
  std::size_t thread = 0;
  std::size_t index = 0;
  std::int64_t to = 0;
  std::int64_t conversation = 0;
  bool offline = false; // its receiver never connects
  unsigned in_flight = 0;
  std::uint64_t sequence = 0;
};

void send_one(throughput_run& run, sender& from);

void on_send_ack(throughput_run& run, sender& from, std::int64_t started, json::value& arguments) {
  --from.in_flight;
  --run.in_flight;
  const auto outcome = read_send_ack(arguments);
  if (!outcome.ok) {
    run.errors.add("message:send: " + outcome.error);
    return;
  }
  ++run.acked;
  if (from.offline) {
    ++run.acked_offline;
  }
  if (run.recording.load(std::memory_order_relaxed)) {
    run.threads[from.thread].ack_latency.add(static_cast<double>(now_ns() - started) / 1e3);
  }
  if (run.options->rate == 0 && !run.stopping.load(std::memory_order_relaxed)) {
    send_one(run, from);
  }
}

void send_one(throughput_run& run, sender& from) {
  const auto started = now_ns();
  const auto arguments = fmt::format(
      R"(["message:send",{{"conversation_id":{},"body":"t{}","client_id":"{}-{}-{}"}}])",
      from.conversation, started, run.prefix, from.index, from.sequence++);
  ++from.in_flight;
  ++run.in_flight;
  ++run.sent;
  from.connection->emit_with_ack(arguments, [&run, &from, started](json::value& answer) {
    on_send_ack(run, from, started, answer);
  });
}

asio::awaitable<void> pace(throughput_run* run, sender* from, double interval_seconds,
                           double offset_seconds) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      duration<double>(interval_seconds));
  auto next = std::chrono::steady_clock::now() +
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  duration<double>(offset_seconds));
  while (!run->stopping.load(std::memory_order_relaxed) && from->connection->is_open()) {
    timer.expires_at(next);
    auto [error] = co_await timer.async_wait(k_use);
    if (error) {
      co_return;
    }
    next += interval;
    if (from->in_flight < run->options->window) {
      send_one(*run, *from);
    } else {
      ++run->skipped;
    }
  }
}

} // namespace

void run_throughput(const common_options& options, const throughput_options& workload) {
  const auto users = read_users(options.users_file);
  thread_pool pool(options.threads);
  throughput_run run;
  run.options = &workload;
  run.prefix = run_prefix(options);
  run.threads.resize(pool.size());

  if (workload.offline > workload.pairs) {
    throw std::runtime_error("--offline is at most --pairs");
  }
  // Sender i is user 2i, its receiver user 2i+1; they sit on different threads when there
  // are several. The receivers of the last `offline` pairs never connect.
  const auto all = take_users(users, 2 * std::size_t{workload.pairs});
  const std::size_t online_pairs = workload.pairs - workload.offline;
  std::vector<const user*> connected;
  std::vector<std::size_t> sender_connection; // per pair: its index in `connected`
  // With a receiver node, every message crosses nodes: senders on --url, receivers there.
  std::vector<server_address> servers;
  for (std::size_t index = 0; index < all.size(); ++index) {
    const bool sends = index % 2 == 0;
    if (!sends && index / 2 >= online_pairs) {
      continue;
    }
    if (sends) {
      sender_connection.push_back(connected.size());
    }
    connected.push_back(all[index]);
    if (options.receiver_server) {
      servers.push_back(sends ? options.server : *options.receiver_server);
    }
  }
  auto connections = connect_all(pool, options, connected, servers);
  std::vector<std::unique_ptr<sender>> senders;
  for (std::size_t pair = 0; pair < workload.pairs; ++pair) {
    auto entry = std::make_unique<sender>();
    entry->connection = connections[sender_connection[pair]];
    entry->thread = sender_connection[pair] % pool.size();
    entry->index = pair;
    entry->to = all[2 * pair + 1]->id;
    entry->offline = pair >= online_pairs;
    senders.push_back(std::move(entry));
  }
  for (std::size_t index = 0; index < connections.size(); ++index) {
    const std::size_t thread = index % pool.size();
    auto on_event = [&run, thread](sio_connection& connection, std::string_view name,
                                   json::value& payload, std::int64_t ack_id) {
      if (name != "message") {
        return;
      }
      if (ack_id >= 0) {
        connection.ack(ack_id, "[]");
      }
      ++run.delivered;
      if (run.recording.load(std::memory_order_relaxed)) {
        if (const auto started = sent_at(payload)) {
          run.threads[thread].delivery_latency.add(static_cast<double>(now_ns() - *started) / 1e3);
        }
      }
    };
    asio::post(connections[index]->context(), [connection = connections[index], on_event, &run] {
      connection->start(on_event, [&run](std::string_view why) {
        if (!run.stopping) {
          run.errors.add(fmt::format("connection closed: {}", why));
        }
      });
    });
  }

  // The first message of each pair opens (or finds) the direct conversation with `to`.
  {
    std::vector<std::future<std::string>> opened;
    for (auto& entry : senders) {
      auto promise = std::make_shared<std::promise<std::string>>();
      opened.push_back(promise->get_future());
      asio::post(entry->connection->context(), [&run, from = entry.get(), promise] {
        const auto arguments =
            fmt::format(R"(["message:send",{{"to":{},"body":"t{}","client_id":"{}-{}-open"}}])",
                        from->to, now_ns(), run.prefix, from->index);
        from->connection->emit_with_ack(arguments, [&run, from, promise](json::value& answer) {
          const auto outcome = read_send_ack(answer);
          from->conversation = outcome.conversation_id;
          if (outcome.ok && from->offline) {
            ++run.acked_offline;
          }
          promise->set_value(outcome.error);
        });
      });
    }
    for (auto& future : opened) {
      if (auto why = future.get(); !why.empty()) {
        throw std::runtime_error("opening a conversation: " + why);
      }
    }
  }

  std::vector<std::future<void>> pacers;
  for (auto& entry : senders) {
    if (workload.rate > 0) {
      const double interval = static_cast<double>(workload.pairs) / workload.rate;
      const double offset = interval * static_cast<double>(entry->index) / workload.pairs;
      pacers.push_back(asio::co_spawn(entry->connection->context(),
                                      pace(&run, entry.get(), interval, offset), asio::use_future));
    } else {
      asio::post(entry->connection->context(), [&run, from = entry.get()] {
        for (unsigned count = 0; count < run.options->window; ++count) {
          send_one(run, *from);
        }
      });
    }
  }

  sleep_for(workload.warmup_seconds);
  server_meter meter(options);
  meter.start();
  const auto delivered_before = run.delivered.load();
  const auto acked_before = run.acked.load();
  run.recording = true;
  sleep_for(workload.seconds);
  run.recording = false;
  const auto delivered = run.delivered.load() - delivered_before;
  const auto acked = run.acked.load() - acked_before;
  meter.stop();
  run.stopping = true;
  for (auto& pacer : pacers) {
    pacer.get();
  }
  if (!wait_until([&run] { return run.in_flight.load() <= 0; }, 30)) {
    run.errors.add(
        fmt::format("{} messages still unacknowledged 30 s after the end", run.in_flight.load()));
  }
  close_all(connections);

  report out("throughput", options);
  out.parameters() = {{"pairs", workload.pairs},
                      {"window", workload.window},
                      {"rate", workload.rate},
                      {"offline", workload.offline},
                      {"seconds", workload.seconds},
                      {"threads", pool.size()},
                      {"warmup_seconds", workload.warmup_seconds},
                      {"cross_node", options.receiver_server.has_value()}};
  latencies ack_latency;
  latencies delivery_latency;
  pool.on_each([&](std::size_t thread) {
    ack_latency.merge(run.threads[thread].ack_latency);
    delivery_latency.merge(run.threads[thread].delivery_latency);
  });
  auto& figures = out.figures();
  figures["delivered_per_s"] = rounded(static_cast<double>(delivered) / meter.wall_seconds(), 0);
  figures["acked_per_s"] = rounded(static_cast<double>(acked) / meter.wall_seconds(), 0);
  add_percentiles(figures, "ack", ack_latency, {0.5, 0.99, 0.999});
  add_percentiles(figures, "delivery", delivery_latency, {0.5, 0.99, 0.999});
  if (workload.rate > 0) {
    figures["skipped_sends"] = run.skipped.load();
  }
  // With offline receivers, a message is every one acknowledged (delivered or not), and the
  // server owes a push for each sent to an offline receiver (when subscribed).
  if (workload.offline > 0) {
    figures["offline_acked_total"] = run.acked_offline.load();
  }
  add_server_figures(out, meter, static_cast<double>(workload.offline > 0 ? acked : delivered),
                     "message");
  finish(out, run.errors, "throughput");
}

// ---- fanout --------------------------------------------------------------------------

namespace {

struct fanout_run {
  std::atomic<std::int64_t> remaining{0}; // deliveries still expected
  std::atomic<std::int64_t> last_at{0};   // when the last one arrived
  std::atomic<std::uint64_t> delivered{0};
  error_log errors;
};

std::int64_t create_group(const common_options& options, const user& owner,
                          const std::vector<const user*>& members) {
  json::array ids;
  for (const auto* member : members) {
    ids.push_back(member->id);
  }
  const json::object body{{"members", ids}, {"title", "fanout"}};
  const auto answer = http_request(options.server, boost::beast::http::verb::post,
                                   "/api/v1/conversations", json::serialize(body), owner.token);
  if (answer.status != 201 && answer.status != 200) {
    throw std::runtime_error(
        fmt::format("creating the group: {} {}", answer.status, answer.body.substr(0, 300)));
  }
  return json::parse(answer.body).at("conversation").at("id").to_number<std::int64_t>();
}

} // namespace

void run_fanout(const common_options& options, const fanout_options& workload) {
  if (workload.members < 3) {
    throw std::runtime_error("a group has at least 3 members");
  }
  const auto users = read_users(options.users_file);
  const auto all = take_users(users, workload.members);
  const std::vector<const user*> others(all.begin() + 1, all.end());
  const auto conversation = create_group(options, *all[0], others);
  const auto recipients = static_cast<std::int64_t>(others.size());

  thread_pool pool(options.threads);
  fanout_run run;
  auto connections = connect_all(pool, options, all);
  for (std::size_t index = 0; index < connections.size(); ++index) {
    auto on_event = [&run](sio_connection& connection, std::string_view name, json::value&,
                           std::int64_t ack_id) {
      if (name != "message") {
        return;
      }
      if (ack_id >= 0) {
        connection.ack(ack_id, "[]");
      }
      ++run.delivered;
      // The time is taken first and stored after the count reaches 0, so the main thread,
      // which sees the count first, waits until last_at belongs to its own round or burst.
      const auto arrived = now_ns();
      if (run.remaining.fetch_sub(1) == 1) {
        run.last_at = arrived;
      }
    };
    asio::post(connections[index]->context(), [connection = connections[index], on_event, &run] {
      connection->start(on_event, [&run](std::string_view why) {
        run.errors.add(fmt::format("connection closed: {}", why));
      });
    });
  }
  auto& owner = *connections[0];
  const auto prefix = run_prefix(options);
  std::atomic<std::int64_t> unacked{0};
  const auto send = [&](std::string kind, std::uint64_t sequence) {
    const auto arguments = fmt::format(
        R"(["message:send",{{"conversation_id":{},"body":"t{}","client_id":"{}-{}-{}"}}])",
        conversation, now_ns(), prefix, kind, sequence);
    ++unacked;
    asio::post(owner.context(), [&owner, arguments, &run, &unacked] {
      owner.emit_with_ack(arguments, [&run, &unacked](json::value& answer) {
        if (const auto outcome = read_send_ack(answer); !outcome.ok) {
          run.errors.add("message:send: " + outcome.error);
        }
        --unacked;
      });
    });
  };

  // One message at a time: from the send to the last member's receipt of it.
  latencies to_last;
  for (unsigned round = 0; round < workload.rounds + 1; ++round) {
    run.remaining = recipients;
    const auto started = now_ns();
    send("round", round);
    if (!wait_until(
            [&] {
              return (run.remaining.load() <= 0 && run.last_at.load() >= started &&
                      unacked.load() == 0) ||
                     run.errors.count != 0;
            },
            30) ||
        run.errors.count != 0) {
      throw std::runtime_error(
          fmt::format("round {}: {} members still waiting ({})", round, run.remaining.load(),
                      run.errors.count != 0 ? run.errors.first_error() : "30 s"));
    }
    if (round > 0) { // the first round warms up
      to_last.add(static_cast<double>(run.last_at.load() - started) / 1e3);
    }
  }

  // Then a burst with `window` messages in flight.
  server_meter meter(options);
  run.remaining = recipients * workload.burst;
  const auto delivered_before = run.delivered.load();
  meter.start();
  const auto started = now_ns();
  for (unsigned message = 0; message < workload.burst; ++message) {
    send("burst", message);
    if (!wait_until([&] { return unacked.load() < workload.window || run.errors.count != 0; },
                    30) ||
        run.errors.count != 0) {
      throw std::runtime_error(
          fmt::format("burst message {}: {}", message,
                      run.errors.count != 0 ? run.errors.first_error() : "no ack for 30 s"));
    }
  }
  if (!wait_until([&] { return run.remaining.load() <= 0 && run.last_at.load() >= started; }, 60)) {
    throw std::runtime_error(
        fmt::format("burst: {} deliveries missing after 60 s", run.remaining.load()));
  }
  const double burst_seconds = static_cast<double>(run.last_at.load() - started) / 1e9;
  meter.stop();
  const auto delivered = run.delivered.load() - delivered_before;
  wait_until([&] { return unacked.load() == 0; }, 30);
  close_all(connections);

  report out("fanout", options);
  out.parameters() = {{"members", workload.members},
                      {"rounds", workload.rounds},
                      {"burst", workload.burst},
                      {"window", workload.window},
                      {"threads", pool.size()}};
  auto& figures = out.figures();
  figures["members"] = workload.members;
  figures["to_last_p50_ms"] = rounded(to_last.quantile(0.5) / 1e3, 3);
  figures["to_last_max_ms"] = rounded(to_last.quantile(1.0) / 1e3, 3);
  figures["deliveries_per_s"] = rounded(static_cast<double>(delivered) / burst_seconds, 0);
  add_server_figures(out, meter, static_cast<double>(delivered), "delivery");
  finish(out, run.errors, "fanout");
}

// ---- idle ----------------------------------------------------------------------------

void run_idle(const common_options& options, const idle_options& workload) {
  const auto users = read_users(options.users_file);
  const auto warm = take_users(users, workload.warmup);
  const auto rest = take_users(users, workload.connections, workload.warmup);
  thread_pool pool(options.threads);
  error_log errors;
  const auto start_all = [&](std::vector<connection_ptr>& connections) {
    for (auto& connection : connections) {
      asio::post(connection->context(), [connection, &errors] {
        connection->start([](sio_connection&, std::string_view, json::value&, std::int64_t) {},
                          [&errors](std::string_view why) {
                            errors.add(fmt::format("connection closed: {}", why));
                          });
      });
    }
  };
  auto warm_connections = connect_all(pool, options, warm);
  start_all(warm_connections);
  server_meter meter(options);
  meter.start();
  const auto before = sample_process(options.server_pid);
  auto connections = connect_all(pool, options, rest);
  meter.stop();
  const double connect_seconds = meter.wall_seconds();
  start_all(connections);
  sleep_for(workload.hold_seconds); // let the server settle (lazy frees, timers) before reading
  const auto after = sample_process(options.server_pid);
  std::optional<double> sockets;
  if (options.metrics) {
    sockets = scrape_metric(options.server, "parley_realtime_sockets");
  }

  report out("idle", options);
  out.parameters() = {{"connections", workload.connections},
                      {"warmup", workload.warmup},
                      {"source_addresses", options.source_addresses},
                      {"threads", pool.size()}};
  auto& figures = out.figures();
  figures["connections"] = workload.connections;
  figures["connect_seconds"] = rounded(connect_seconds, 2);
  figures["connects_per_s"] = rounded(workload.connections / connect_seconds, 0);
  if (before && after) {
    const double grown =
        static_cast<double>(after->rss_bytes) - static_cast<double>(before->rss_bytes);
    figures["server_bytes_per_connection"] = rounded(grown / workload.connections, 0);
    figures["server_rss_mib"] =
        rounded(static_cast<double>(after->rss_bytes) / (1024.0 * 1024.0), 1);
    figures["server_cpu_us_per_connect"] =
        rounded(*meter.cpu_seconds() * 1e6 / workload.connections, 1);
  }
  if (sockets) {
    figures["server_sockets"] = *sockets;
  }
  const std::size_t still_open = [&] {
    std::atomic<std::size_t> open{0};
    pool.on_each([&](std::size_t thread) {
      for (std::size_t index = thread; index < connections.size(); index += pool.size()) {
        open += connections[index]->is_open() ? 1 : 0;
      }
    });
    return open.load();
  }();
  figures["open_at_end"] = still_open;
  if (still_open != connections.size()) {
    errors.add(fmt::format("{} of {} connections closed while idle",
                           connections.size() - still_open, connections.size()));
  }
  std::vector<connection_ptr> everything = std::move(connections);
  everything.insert(everything.end(), warm_connections.begin(), warm_connections.end());
  for (auto& connection : everything) {
    asio::post(connection->context(), [connection] { connection->abort(); });
  }
  pool.on_each([](std::size_t) {});
  finish(out, errors, "idle");
}

// ---- churn ---------------------------------------------------------------------------

namespace {

struct churn_run {
  std::atomic<bool> recording{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> cycles{0};
  error_log errors;
};

asio::awaitable<void> churn_loop(churn_run* run, const common_options* options, const user* who,
                                 asio::io_context* context) {
  while (!run->stopping.load(std::memory_order_relaxed)) {
    auto connection = std::make_shared<sio_connection>(*context, options->gather_writes);
    auto why = co_await connection->open(options->server, who->token, std::nullopt);
    if (!why.empty()) {
      run->errors.add(why);
      co_return;
    }
    co_await connection->close();
    if (run->recording.load(std::memory_order_relaxed)) {
      ++run->cycles;
    }
  }
}

} // namespace

void run_churn(const common_options& options, const churn_options& workload) {
  const auto users = read_users(options.users_file);
  const auto loopers = take_users(users, workload.concurrency);
  thread_pool pool(options.threads);
  churn_run run;
  std::vector<std::future<void>> loops;
  for (std::size_t index = 0; index < loopers.size(); ++index) {
    loops.push_back(asio::co_spawn(pool.context(index),
                                   churn_loop(&run, &options, loopers[index], &pool.context(index)),
                                   asio::use_future));
  }
  server_meter meter(options);
  measure_loops(run, meter, std::min(1.0, workload.seconds / 5), workload.seconds, loops);
  const auto cycles = run.cycles.load();
  report out("churn", options);
  out.parameters() = {{"concurrency", workload.concurrency},
                      {"seconds", workload.seconds},
                      {"threads", pool.size()}};
  out.figures()["cycles_per_s"] = rounded(static_cast<double>(cycles) / meter.wall_seconds(), 0);
  add_server_figures(out, meter, static_cast<double>(cycles), "cycle");
  finish(out, run.errors, "churn");
}

} // namespace parley::load

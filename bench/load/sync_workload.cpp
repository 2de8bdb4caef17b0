// The `sync` workload (Parley only: the conversation log's catch-up, API.md "Catching up:
// sync"). User R and N others; each other user S opens a direct conversation with R; R syncs
// to the present and leaves; then each S makes its changes while R is away (new messages,
// edits and reactions of its own messages). Measured: one device of R catching up page by
// page, then `devices` devices of R (the same token) catching up from the same cursors at
// once. Every device checks that it got exactly the final state.
#include "workload_support.hpp"
#include "workloads.hpp"

#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <stdexcept>
#include <unordered_set>

namespace parley::load {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// ---- the changes while R is away ------------------------------------------------------

struct sync_sender {
  connection_ptr connection;
  std::size_t index = 0;
  std::int64_t conversation = 0;
  std::vector<std::int64_t> sent; // ids of this phase's messages, in send order
  unsigned next = 0;              // the next operation
  unsigned acked = 0;
  unsigned in_flight = 0;
};

struct fill_run {
  const sync_options* options = nullptr;
  std::string prefix;
  std::atomic<std::int64_t> remaining{0}; // senders not done
  error_log errors;

  [[nodiscard]] unsigned operations() const {
    return options->messages + options->edits + options->reactions;
  }
};

void pump(fill_run& run, sync_sender& from);

// Operation k of a sender: k < messages sends message k; then `edits` edits of its first
// messages, then `reactions` reactions on the next ones (so an edited message and a reacted
// one are never the same). Edits and reactions wait until every send is acked.
void issue(fill_run& run, sync_sender& from, unsigned operation) {
  const auto& options = *run.options;
  std::string arguments;
  if (operation < options.messages) {
    arguments = fmt::format(
        R"(["message:send",{{"conversation_id":{},"body":"sync message {}","client_id":"{}-{}-{}"}}])",
        from.conversation, operation, run.prefix, from.index, operation);
  } else if (operation < options.messages + options.edits) {
    const auto target = operation - options.messages;
    arguments = fmt::format(R"(["message:edit",{{"message_id":{},"body":"edited {}"}}])",
                            from.sent[target], target);
  } else {
    const auto target = operation - options.messages; // edits + reaction number
    arguments =
        fmt::format(R"(["reaction:set",{{"message_id":{},"emoji":"👍"}}])", from.sent[target]);
  }
  ++from.in_flight;
  from.connection->emit_with_ack(arguments, [&run, &from, operation](json::value& answer) {
    --from.in_flight;
    const auto outcome = read_send_ack(answer);
    if (!outcome.ok) {
      run.errors.add(
          fmt::format("operation {} of sender {}: {}", operation, from.index, outcome.error));
      return;
    }
    if (operation < run.options->messages) {
      from.sent[operation] = outcome.message_id;
    }
    if (++from.acked == run.operations()) {
      --run.remaining;
    } else {
      pump(run, from);
    }
  });
}

void pump(fill_run& run, sync_sender& from) {
  const auto& options = *run.options;
  while (from.in_flight < options.window && from.next < run.operations() &&
         (from.next < options.messages || from.acked >= options.messages)) {
    issue(run, from, from.next++);
  }
}

// ---- a device of R catching up --------------------------------------------------------

struct sync_device {
  connection_ptr connection;
  std::map<std::int64_t, std::int64_t> cursors; // conversation -> seq
  std::unordered_set<std::int64_t> seen;        // message ids
  std::uint64_t messages = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t edited = 0;
  std::uint64_t reacted = 0;
  std::uint64_t pages = 0;
  std::int64_t started_ns = 0;
  std::int64_t finished_ns = 0;
  bool done = false;
};

struct catch_up {
  unsigned limit = 200;
  std::atomic<std::int64_t> remaining{0}; // devices not done
  error_log errors;
};

void end(catch_up& run, sync_device& device, std::string_view error = {}) {
  if (device.done) {
    return;
  }
  if (!error.empty()) {
    run.errors.add(error);
  }
  device.done = true;
  device.finished_ns = now_ns();
  --run.remaining;
}

void request_page(catch_up& run, sync_device& device);

void read_page(catch_up& run, sync_device& device, json::value& arguments) {
  const auto* list = arguments.if_array();
  const auto* answer = list != nullptr && !list->empty() ? list->front().if_object() : nullptr;
  const auto* ok = answer != nullptr ? answer->if_contains("ok") : nullptr;
  if (ok == nullptr || !ok->is_bool() || !ok->as_bool()) {
    end(run, device, "sync: " + json::serialize(arguments).substr(0, 300));
    return;
  }
  const auto* messages = answer->if_contains("messages");
  const auto* conversations = answer->if_contains("conversations");
  const auto* more = answer->if_contains("has_more");
  if (messages == nullptr || !messages->is_array() || conversations == nullptr ||
      !conversations->is_array() || more == nullptr || !more->is_bool()) {
    end(run, device, "sync: malformed answer " + json::serialize(*answer).substr(0, 300));
    return;
  }
  for (const auto& item : messages->as_array()) {
    const auto& message = item.as_object();
    const auto id = message.at("id").to_number<std::int64_t>();
    const auto conversation = message.at("conversation_id").to_number<std::int64_t>();
    const auto updated = message.at("updated_seq").to_number<std::int64_t>();
    const auto cursor = device.cursors.find(conversation);
    if (cursor == device.cursors.end()) {
      end(run, device,
          fmt::format("sync: message {} of unknown conversation {}", id, conversation));
      return;
    }
    cursor->second = std::max(cursor->second, updated);
    ++device.messages;
    device.duplicates += device.seen.insert(id).second ? 0 : 1;
    const auto* body = message.if_contains("body");
    device.edited +=
        body != nullptr && body->is_string() && body->as_string().starts_with("edited");
    const auto* reactions = message.if_contains("reactions");
    device.reacted +=
        reactions != nullptr && reactions->is_array() && !reactions->as_array().empty();
  }
  if (more->as_bool()) {
    if (messages->as_array().empty()) {
      end(run, device, "sync: has_more without messages");
      return;
    }
    request_page(run, device);
    return;
  }
  for (const auto& item : conversations->as_array()) {
    const auto& conversation = item.as_object();
    device.cursors[conversation.at("id").to_number<std::int64_t>()] =
        conversation.at("seq").to_number<std::int64_t>();
  }
  end(run, device);
}

void on_page(catch_up& run, sync_device& device, json::value& arguments) {
  try {
    read_page(run, device, arguments);
  } catch (const std::exception& error) { // a field missing or of another type
    end(run, device, fmt::format("sync: malformed answer ({})", error.what()));
  }
}

void request_page(catch_up& run, sync_device& device) {
  json::array cursors;
  for (const auto& [conversation, seq] : device.cursors) {
    cursors.push_back(json::object{{"conversation_id", conversation}, {"seq", seq}});
  }
  const json::array arguments{"sync",
                              json::object{{"cursors", std::move(cursors)}, {"limit", run.limit}}};
  ++device.pages;
  device.connection->emit_with_ack(
      json::serialize(arguments),
      [&run, &device](json::value& answer) { on_page(run, device, answer); });
}

// Connects one device per entry of `who` (all R), then, once all are connected, starts every
// sync at once from `cursors` and waits for the last answer. The meter spans the syncs only.
std::vector<std::unique_ptr<sync_device>>
sync_devices(thread_pool& pool, const common_options& options, const std::vector<const user*>& who,
             const std::map<std::int64_t, std::int64_t>& cursors, unsigned limit,
             server_meter& meter, error_log& errors) {
  auto connections = connect_all(pool, options, who);
  catch_up run;
  run.limit = limit;
  run.remaining = static_cast<std::int64_t>(connections.size());
  std::vector<std::unique_ptr<sync_device>> devices;
  for (auto& connection : connections) {
    auto device = std::make_unique<sync_device>();
    device->connection = connection;
    device->cursors = cursors;
    asio::post(connection->context(), [&run, device = device.get()] {
      device->connection->start(
          [](sio_connection& self, std::string_view, json::value&, std::int64_t ack_id) {
            if (ack_id >= 0) {
              self.ack(ack_id, "[]");
            }
          },
          [&run, device](std::string_view why) {
            end(run, *device, fmt::format("connection closed: {}", why));
          });
    });
    devices.push_back(std::move(device));
  }
  pool.on_each([](std::size_t) {}); // every read loop started
  meter.start();
  for (auto& device : devices) {
    asio::post(device->connection->context(), [&run, device = device.get()] {
      device->started_ns = now_ns();
      request_page(run, *device);
    });
  }
  const bool finished = wait_until([&run] { return run.remaining.load() <= 0; }, 300);
  meter.stop();
  pool.on_each([](std::size_t) {}); // the devices' state is read below, from this thread
  if (!finished) {
    run.errors.add(fmt::format("{} devices still syncing after 300 s", run.remaining.load()));
  }
  if (run.errors.count != 0) {
    errors.add(run.errors.first_error());
  }
  close_all(connections);
  return devices;
}

// What every device must end with: exactly the phase's messages, each once, in their final
// state, and each conversation's cursor at its last change.
void check(const sync_device& device, const sync_options& workload,
           const std::map<std::int64_t, std::int64_t>& expected, error_log& errors,
           std::string_view which) {
  const std::uint64_t conversations = workload.conversations;
  const auto messages = conversations * workload.messages;
  if (device.messages != messages || device.seen.size() != messages || device.duplicates != 0) {
    errors.add(fmt::format("{}: {} messages ({} distinct) where {} were expected", which,
                           device.messages, device.seen.size(), messages));
  }
  if (device.edited != conversations * workload.edits ||
      device.reacted != conversations * workload.reactions) {
    errors.add(fmt::format("{}: {} edited and {} reacted messages where {} and {} were expected",
                           which, device.edited, device.reacted, conversations * workload.edits,
                           conversations * workload.reactions));
  }
  if (device.cursors != expected) {
    errors.add(fmt::format("{}: its cursors are not at each conversation's last change", which));
  }
}

} // namespace

void run_sync(const common_options& options, const sync_options& workload) {
  if (workload.edits + workload.reactions > workload.messages || workload.window == 0 ||
      workload.devices == 0 || workload.conversations == 0) {
    throw std::runtime_error("sync: edits + reactions must not exceed messages; window, devices "
                             "and conversations must be positive");
  }
  const auto users = read_users(options.users_file);
  const auto everyone = take_users(users, std::size_t{workload.conversations} + 1);
  const std::vector<const user*> reader{everyone[0]};
  const std::vector<const user*> others(everyone.begin() + 1, everyone.end());
  fill_run fill;
  fill.options = &workload;
  fill.prefix = run_prefix(options);
  std::vector<std::unique_ptr<sync_sender>> senders;
  thread_pool pool(options.threads); // stopped before what its handlers use goes away

  // Each S opens its direct conversation with R.
  auto connections = connect_all(pool, options, others);
  fill.remaining = static_cast<std::int64_t>(connections.size());
  for (std::size_t index = 0; index < connections.size(); ++index) {
    auto from = std::make_unique<sync_sender>();
    from->connection = connections[index];
    from->index = index;
    from->sent.resize(workload.messages);
    asio::post(from->connection->context(), [&fill, from = from.get(), to = reader[0]->id] {
      from->connection->start([](sio_connection&, std::string_view, json::value&, std::int64_t) {},
                              [&fill](std::string_view why) {
                                fill.errors.add(fmt::format("connection closed: {}", why));
                              });
      const auto arguments =
          fmt::format(R"(["message:send",{{"to":{},"body":"hello","client_id":"{}-{}-open"}}])", to,
                      fill.prefix, from->index);
      from->connection->emit_with_ack(arguments, [&fill, from](json::value& answer) {
        const auto outcome = read_send_ack(answer);
        if (!outcome.ok) {
          fill.errors.add("opening a conversation: " + outcome.error);
        }
        from->conversation = outcome.conversation_id;
        --fill.remaining;
      });
    });
    senders.push_back(std::move(from));
  }
  if (!wait_until([&fill] { return fill.remaining.load() <= 0 || fill.errors.count != 0; }, 60) ||
      fill.errors.count != 0) {
    throw std::runtime_error("opening the conversations: " +
                             (fill.errors.count != 0 ? fill.errors.first_error() : "60 s"));
  }
  pool.on_each([](std::size_t) {});

  // R syncs to the present (no cursors: the conversation objects, whose seq are the cursors).
  error_log errors;
  server_meter unmeasured(options);
  const auto first = sync_devices(pool, options, reader, {}, workload.limit, unmeasured, errors);
  const auto cursors = first.front()->cursors;
  std::map<std::int64_t, std::int64_t> expected;
  for (const auto& from : senders) {
    const auto found = cursors.find(from->conversation);
    if (found == cursors.end()) {
      throw std::runtime_error(
          fmt::format("R's first sync does not list conversation {}", from->conversation));
    }
    expected[from->conversation] = found->second + fill.operations();
  }
  if (errors.count != 0 || cursors.size() != senders.size()) {
    throw std::runtime_error(
        fmt::format("R's first sync: {} conversations where {} were expected{}", cursors.size(),
                    senders.size(), errors.count != 0 ? "; " + errors.first_error() : ""));
  }

  // While R is away: every S makes its changes, `window` in flight each.
  fill.remaining = static_cast<std::int64_t>(senders.size());
  const auto fill_started = now_ns();
  for (auto& from : senders) {
    asio::post(from->connection->context(), [&fill, from = from.get()] { pump(fill, *from); });
  }
  if (!wait_until([&fill] { return fill.remaining.load() <= 0 || fill.errors.count != 0; }, 600) ||
      fill.errors.count != 0) {
    throw std::runtime_error("the changes: " +
                             (fill.errors.count != 0 ? fill.errors.first_error() : "600 s"));
  }
  const double fill_seconds = static_cast<double>(now_ns() - fill_started) / 1e9;
  close_all(connections);
  pool.on_each([](std::size_t) {});
  for (auto& from : senders) {
    from->connection.reset(); // closed: nothing of it may outlive the pool's io_contexts
  }

  // (a) One device of R catches up.
  server_meter one_meter(options);
  const auto one = sync_devices(pool, options, reader, cursors, workload.limit, one_meter, errors);
  check(*one.front(), workload, expected, errors, "the device");
  const auto& single = *one.front();

  // (b) `devices` devices of R catch up at once from the same cursors.
  server_meter many_meter(options);
  const std::vector<const user*> devices(workload.devices, reader[0]);
  const auto many =
      sync_devices(pool, options, devices, cursors, workload.limit, many_meter, errors);
  latencies each;
  std::int64_t first_start = many.front()->started_ns;
  std::int64_t last_end = many.front()->finished_ns;
  for (std::size_t index = 0; index < many.size(); ++index) {
    const auto& device = *many[index];
    check(device, workload, expected, errors, fmt::format("device {} of {}", index, many.size()));
    each.add(static_cast<double>(device.finished_ns - device.started_ns) / 1e3);
    first_start = std::min(first_start, device.started_ns);
    last_end = std::max(last_end, device.finished_ns);
  }

  report out("sync", options);
  out.parameters() = {{"conversations", workload.conversations},
                      {"messages", workload.messages},
                      {"edits", workload.edits},
                      {"reactions", workload.reactions},
                      {"limit", workload.limit},
                      {"devices", workload.devices},
                      {"window", workload.window},
                      {"threads", pool.size()}};
  auto& figures = out.figures();
  const std::uint64_t changes = senders.size() * fill.operations();
  figures["fill_changes"] = changes;
  figures["fill_changes_per_s"] = rounded(static_cast<double>(changes) / fill_seconds, 0);
  figures["sync_wall_ms"] =
      rounded(static_cast<double>(single.finished_ns - single.started_ns) / 1e6, 2);
  if (const auto cpu = one_meter.cpu_seconds()) {
    figures["sync_server_cpu_ms"] = rounded(*cpu * 1e3, 1);
  }
  figures["sync_pages"] = single.pages;
  figures["sync_messages"] = single.messages;
  figures["sync100_devices"] = many.size();
  figures["sync100_wall_ms"] = rounded(static_cast<double>(last_end - first_start) / 1e6, 1);
  if (const auto cpu = many_meter.cpu_seconds()) {
    figures["sync100_server_cpu_ms"] = rounded(*cpu * 1e3, 1);
  }
  add_percentiles(figures, "sync100", each, {0.5, 0.99});
  figures["sync100_generator_cpu_cores"] =
      rounded(many_meter.generator_cpu_seconds() / many_meter.wall_seconds(), 2);
  if (const auto rss = many_meter.rss_bytes()) {
    figures["server_rss_mib"] = rounded(static_cast<double>(*rss) / (1024.0 * 1024.0), 1);
  }
  finish(out, errors, "sync");
}

} // namespace parley::load

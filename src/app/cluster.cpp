#include "app/cluster.hpp"

#include "common/thread_name.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <future>
#include <random>
#include <utility>

namespace parley::app {
namespace {

// A name for this process on the bus when --node-id is not given (it only has to differ from
// the other nodes').
std::string random_node_name() {
  std::random_device random;
  return fmt::format("node-{:08x}", random());
}

// The bus channel of the nodes of this database: named by a random value kept in the database
// (the first node to start chooses it), so that clusters sharing one Redis never hear each other.
std::string bus_channel(store::database& database) {
  std::random_device random;
  std::vector<unsigned char> candidate(8);
  for (auto& byte : candidate) {
    byte = static_cast<unsigned char>(random());
  }
  const auto kept =
      store::blocking_write(database, [&candidate](store::write_transaction& transaction) {
        return transaction.keep_server_secret("bus_channel", candidate);
      });
  std::string name = "parley:bus:";
  for (const auto byte : kept) {
    name += fmt::format("{:02x}", byte);
  }
  return name;
}

} // namespace

cluster_link::cluster_link(const config::config& settings, store::database& database)
    : guard_(context_.get_executor()),
      thread_(common::named_thread("bus", [this] { context_.run(); })) {
  if (settings.bus.empty()) {
    return;
  }
  try {
    const auto node = settings.node_id.empty() ? random_node_name() : settings.node_id;
    const auto channel = bus_channel(database);
    // PARLEY_TEST_PUBLISH_DELAY_MS: the tests' fault hook (a publish overtaken by another
    // node's); not a setting.
    const char* delay = std::getenv("PARLEY_TEST_PUBLISH_DELAY_MS");
    if (delay != nullptr) {
      spdlog::warn("bus.test_publish_delay ms={} note=\"a fault hook for the tests\"", delay);
    }
    bus_ = bus::make_redis_transport(context_.get_executor(), settings.bus, channel, node,
                                     std::chrono::milliseconds(delay != nullptr ? std::atoi(delay) : 0));
    presence_ = bus::make_redis_presence(context_.get_executor(), settings.bus, channel + ":", node);
  } catch (...) {
    presence_.reset(); // their stop() runs on the thread: before it ends
    bus_.reset();
    context_.stop();
    thread_.join();
    throw;
  }
}

cluster_link::~cluster_link() {
  presence_.reset();
  bus_.reset();
  context_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void cluster_link::discard_pending() {
  context_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
  context_.discard_pending();
}

void cluster_link::start(chat::chat_service& chat, socketio::hub& hub) {
  if (!bus_) {
    return;
  }
  bus_->on_receive([&chat](std::string_view payload) { chat.relay().received(payload); });
  bus_->on_resynchronise([&chat] { chat.relay().resynchronise(); });
  bus_->start();
  chat.use_presence(presence_.get());
  const auto announce = [&chat, this](std::vector<std::int64_t> users, bool online) {
    for (const auto user : users) {
      boost::asio::co_spawn(context_, chat.announce_presence(user, online), boost::asio::detached);
    }
  };
  presence_->on_offline([announce](std::vector<std::int64_t> users) { announce(users, false); });
  presence_->on_online([announce](std::vector<std::int64_t> users) { announce(users, true); });
  presence_->local_users([&hub] { return hub.users(); });
  presence_->on_departure([&chat] { chat.relay().resynchronise(); });
  presence_->start();
}

void cluster_link::add_metrics(http::metrics& counters, chat::chat_service& chat) const {
  if (!bus_) {
    return;
  }
  counters.add_sampled("parley_bus_published_total", "Deliveries sent to the other nodes.",
                       "counter", [&chat] { return double(chat.relay().stats().published); });
  counters.add_sampled("parley_bus_received_total", "Deliveries from the other nodes.", "counter",
                       [&chat] { return double(chat.relay().stats().received); });
  counters.add_sampled("parley_bus_late_total",
                       "Log changes dropped on arrival: already delivered here.", "counter",
                       [&chat] { return double(chat.relay().stats().late); });
  counters.add_sampled("parley_bus_gap_reads_total",
                       "Reads from the database of log changes the bus lost or reordered.",
                       "counter", [&chat] { return double(chat.relay().stats().gaps); });
  counters.add_sampled("parley_bus_resynchronisations_total",
                       "Checks of every conversation here against the database: after the bus "
                       "reconnected, or another node left the cluster.",
                       "counter", [&chat] { return double(chat.relay().stats().resynchronisations); });
  counters.add_sampled("parley_bus_tracked_conversations",
                       "Conversations whose last delivered seq this node keeps: those whose last "
                       "change concerned someone here.",
                       "gauge", [&chat] { return double(chat.relay().stats().tracked); });
}

void cluster_link::stop() {
  if (bus_ && !std::exchange(stopped_, true)) {
    // The relay sequences and publishes on this thread: what the last commits queued there
    // runs first (the thread takes its queue in order), then the bus stops.
    std::promise<void> drained;
    boost::asio::post(context_, [&drained] { drained.set_value(); });
    drained.get_future().wait();
    bus_->stop();
    presence_->stop();
  }
}

} // namespace parley::app

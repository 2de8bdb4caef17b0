// Presence on leases in Redis (see presence.hpp). Keys, under the cluster's prefix P:
//   P nodes             ZSET  node -> lease deadline (ms, Redis's clock)
//   P node:<n>:users    SET   users with sockets on node n
//   P user:<u>          SET   nodes where user u has sockets
//   P departures        INT   how many times a node has been taken off (swept or said goodbye)
// Every change is one Lua script, so that concurrent nodes never see half of one.

#include "bus/presence.hpp"
#include "bus/redis.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <stdexcept>

namespace parley::bus {
namespace {

namespace asio = boost::asio;

// ARGV: prefix, node, user. Returns how many nodes have the user now.
constexpr const char* k_arrive = R"lua(
redis.call('SADD', ARGV[1] .. 'node:' .. ARGV[2] .. ':users', ARGV[3])
redis.call('SADD', ARGV[1] .. 'user:' .. ARGV[3], ARGV[2])
return redis.call('SCARD', ARGV[1] .. 'user:' .. ARGV[3])
)lua";

constexpr const char* k_leave = R"lua(
redis.call('SREM', ARGV[1] .. 'node:' .. ARGV[2] .. ':users', ARGV[3])
redis.call('SREM', ARGV[1] .. 'user:' .. ARGV[3], ARGV[2])
return redis.call('SCARD', ARGV[1] .. 'user:' .. ARGV[3])
)lua";

// ARGV: prefix, node, lease ms. Returns 1 when the node had no lease (new, or swept).
constexpr const char* k_renew = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', ARGV[1] .. 'nodes', now + tonumber(ARGV[3]), ARGV[2])
)lua";

// Takes nodes off, with their users. ARGV: prefix, and either a node's name (that node, now)
// or nothing (every node whose lease lapsed). Returns {users left on no node, departures}.
constexpr const char* k_sweep = R"lua(
local p = ARGV[1]
local dead
if ARGV[2] then
  dead = {ARGV[2]}
else
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  dead = redis.call('ZRANGEBYSCORE', p .. 'nodes', '-inf', now)
end
local gone = {}
for _, node in ipairs(dead) do
  for _, user in ipairs(redis.call('SMEMBERS', p .. 'node:' .. node .. ':users')) do
    redis.call('SREM', p .. 'user:' .. user, node)
    if redis.call('SCARD', p .. 'user:' .. user) == 0 then
      table.insert(gone, user)
    end
  end
  redis.call('DEL', p .. 'node:' .. node .. ':users')
  if redis.call('ZREM', p .. 'nodes', node) == 1 then
    redis.call('INCR', p .. 'departures')
  end
end
return {gone, tonumber(redis.call('GET', p .. 'departures') or '0')}
)lua";

// ARGV: prefix, users… Returns, per user, how many nodes have them.
constexpr const char* k_online = R"lua(
local counts = {}
for index = 2, #ARGV do
  counts[index - 1] = redis.call('SCARD', ARGV[1] .. 'user:' .. ARGV[index])
end
return counts
)lua";

std::vector<std::int64_t> user_ids(const redis::reply& reply) {
  std::vector<std::int64_t> users;
  for (const auto& element : reply.elements) {
    users.push_back(element.is_integer() ? element.integer : std::stoll(element.str));
  }
  return users;
}

class redis_presence final : public presence {
public:
  redis_presence(asio::any_io_executor executor, redis::endpoint where, std::string prefix,
                 std::string node, presence_options options)
      : strand_(asio::make_strand(executor)), prefix_(std::move(prefix)), node_(std::move(node)),
        options_(options), client_(strand_, where, client_options()), renew_timer_(strand_),
        sweep_timer_(strand_) {}

  ~redis_presence() override { stop(); }

  void on_offline(std::function<void(std::vector<std::int64_t>)> callback) override {
    offline_ = std::move(callback);
  }
  void local_users(std::function<std::vector<std::int64_t>()> callback) override {
    local_users_ = std::move(callback);
  }
  void on_online(std::function<void(std::vector<std::int64_t>)> callback) override {
    online_ = std::move(callback);
  }
  void on_departure(std::function<void()> callback) override {
    departed_ = std::move(callback);
  }

  void start() override {
    client_.on_connected([this] {
      // A node restarted under the same name: what its last life registered goes first.
      asio::co_spawn(strand_, forget_self_then_renew(), asio::detached);
    });
    asio::post(strand_, [this] {
      client_.start();
      schedule_sweep();
    });
  }

  void stop() override {
    if (stopped_.exchange(true)) {
      return;
    }
    std::promise<void> done;
    asio::post(strand_, [this, &done] {
      renew_timer_.cancel();
      sweep_timer_.cancel();
      if (!client_.connected()) {
        client_.stop();
        done.set_value();
        return;
      }
      // The goodbye: this node's lease and registrations, then the connection.
      client_.command({"EVAL", k_sweep, "0", prefix_, node_},
                      [this, &done](boost::system::error_code, redis::reply) {
                        client_.stop();
                        done.set_value();
                      });
    });
    done.get_future().wait();
  }

  asio::awaitable<bool> arrived(std::int64_t user) override {
    const auto count = co_await count_after(k_arrive, user);
    spdlog::debug("presence.arrived node={} user={} nodes={}", node_, user, count.value_or(-1));
    co_return !count || *count == 1;
  }

  asio::awaitable<bool> left(std::int64_t user) override {
    const auto count = co_await count_after(k_leave, user);
    spdlog::debug("presence.left node={} user={} nodes={}", node_, user, count.value_or(-1));
    co_return !count || *count == 0;
  }

  asio::awaitable<std::optional<std::vector<bool>>>
  online(std::vector<std::int64_t> users) override {
    std::vector<std::string> arguments{"EVAL", k_online, "0", prefix_};
    for (const auto user : users) {
      arguments.push_back(std::to_string(user));
    }
    const auto reply = co_await run(std::move(arguments));
    if (!reply || !reply->is_array() || reply->elements.size() != users.size()) {
      co_return std::nullopt;
    }
    std::vector<bool> result;
    for (const auto& count : reply->elements) {
      result.push_back(count.integer > 0);
    }
    co_return result;
  }

private:
  static redis::options client_options() {
    redis::options value;
    value.name = "bus.presence";
    return value;
  }

  /// Runs a command on the strand; nullopt when it fails (Redis away).
  asio::awaitable<std::optional<redis::reply>> run(std::vector<std::string> arguments) {
    co_return co_await asio::co_spawn(strand_, run_here(std::move(arguments)),
                                      asio::use_awaitable);
  }

  asio::awaitable<std::optional<redis::reply>> run_here(std::vector<std::string> arguments) {
    try {
      auto reply = co_await client_.command(std::move(arguments), asio::use_awaitable);
      if (reply.is_error()) {
        spdlog::warn("presence.redis_error node={} error={}", node_, reply.str);
        co_return std::nullopt;
      }
      co_return reply;
    } catch (const boost::system::system_error& error) {
      spdlog::debug("presence.unavailable node={} error={}", node_, error.code().message());
      co_return std::nullopt;
    }
  }

  asio::awaitable<std::optional<std::int64_t>> count_after(const char* script,
                                                           std::int64_t user) {
    // (g++ 12 rejects a braced list inside a co_await: the arguments are named first)
    std::vector<std::string> arguments{"EVAL", script, "0", prefix_, node_, std::to_string(user)};
    const auto reply = co_await run(std::move(arguments));
    if (!reply || !reply->is_integer()) {
      co_return std::nullopt;
    }
    co_return reply->integer;
  }

  asio::awaitable<void> forget_self_then_renew() {
    std::vector<std::string> arguments{"EVAL", k_sweep, "0", prefix_, node_};
    swept(co_await run_here(std::move(arguments)));
    co_await renew();
  }

  asio::awaitable<void> renew() {
    renew_timer_.cancel();
    std::vector<std::string> arguments{"EVAL", k_renew, "0", prefix_, node_,
                                       std::to_string(options_.lease.count())};
    const auto added = co_await run_here(std::move(arguments));
    if (added && added->is_integer() && added->integer == 1 && local_users_) {
      // No lease before this renewal: register this node's users (again).
      std::vector<std::int64_t> back;
      for (const auto user : local_users_()) {
        std::vector<std::string> again{"EVAL", k_arrive, "0", prefix_, node_,
                                       std::to_string(user)};
        const auto count = co_await run_here(std::move(again));
        if (count && count->is_integer() && count->integer == 1) {
          back.push_back(user);
        }
      }
      if (!back.empty() && online_) {
        online_(std::move(back));
      }
    }
    if (stopped_) {
      co_return;
    }
    renew_timer_.expires_after(options_.renew);
    renew_timer_.async_wait([this](boost::system::error_code error) {
      if (!error && !stopped_) {
        asio::co_spawn(strand_, renew(), asio::detached);
      }
    });
  }

  void schedule_sweep() {
    sweep_timer_.expires_after(options_.sweep);
    sweep_timer_.async_wait([this](boost::system::error_code error) {
      if (error || stopped_) {
        return;
      }
      asio::co_spawn(strand_, sweep(), asio::detached);
      schedule_sweep();
    });
  }

  asio::awaitable<void> sweep() {
    std::vector<std::string> arguments{"EVAL", k_sweep, "0", prefix_};
    swept(co_await run_here(std::move(arguments)));
  }

  /// A sweep's answer: {users left on no node, departures so far}.
  void swept(const std::optional<redis::reply>& reply) {
    if (!reply || !reply->is_array() || reply->elements.size() != 2 ||
        !reply->elements[1].is_integer()) {
      return;
    }
    const auto& gone = reply->elements[0];
    if (!gone.elements.empty() && offline_) {
      spdlog::info("presence.swept node={} offline={}", node_, gone.elements.size());
      offline_(user_ids(gone));
    }
    const auto departures = reply->elements[1].integer;
    if (departures_ && *departures_ != departures && departed_) {
      spdlog::info("presence.node_departed node={} departures={}", node_, departures);
      departed_();
    }
    departures_ = departures;
  }

  asio::strand<asio::any_io_executor> strand_;
  std::string prefix_;
  std::string node_;
  presence_options options_;
  redis::client client_;
  asio::steady_timer renew_timer_;
  asio::steady_timer sweep_timer_;
  std::function<void(std::vector<std::int64_t>)> offline_;
  std::function<void(std::vector<std::int64_t>)> online_;
  std::function<std::vector<std::int64_t>()> local_users_;
  std::function<void()> departed_;
  std::optional<std::int64_t> departures_; // as of this node's last sweep
  std::atomic<bool> stopped_{false};
};

} // namespace

std::unique_ptr<presence> make_redis_presence(asio::any_io_executor executor,
                                              std::string_view url, std::string prefix,
                                              std::string node, presence_options options) {
  auto where = redis::parse_url(url);
  if (!where) {
    throw std::invalid_argument("presence: " + where.error());
  }
  return std::make_unique<redis_presence>(std::move(executor), std::move(*where),
                                          std::move(prefix), std::move(node), options);
}

} // namespace parley::bus

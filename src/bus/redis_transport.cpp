// The bus over Redis PUB/SUB: one publisher connection and one subscriber connection on the
// cluster's channel. Every node receives every payload (like Socket.IO's classic Redis
// adapter) and keeps what concerns its own sockets; each payload starts with the publishing
// node's name and a newline, so that a node skips its own.

#include "bus/bus.hpp"
#include "bus/redis.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <future>
#include <stdexcept>

namespace parley::bus {
namespace {

class redis_transport final : public transport {
public:
  redis_transport(boost::asio::any_io_executor executor, redis::endpoint where,
                  std::string channel, std::string node, std::chrono::milliseconds delay)
      : strand_(boost::asio::make_strand(executor)), channel_(std::move(channel)),
        node_(std::move(node)), delay_(delay),
        prefix_(node_ + "\n"), publisher_(strand_, where, options("bus.publisher")),
        subscriber_(strand_, where, options("bus.subscriber")) {}

  ~redis_transport() override { stop(); }

  void on_receive(std::function<void(std::string_view)> callback) override {
    receive_ = std::move(callback);
  }
  void on_resynchronise(std::function<void()> callback) override {
    resynchronise_ = std::move(callback);
  }

  void start() override {
    subscriber_.on_message([this](const redis::message& message) {
      const auto payload = message.payload;
      const auto newline = payload.find('\n');
      if (newline == std::string_view::npos || payload.substr(0, newline + 1) == prefix_) {
        return; // ours, or not one of ours at all
      }
      if (receive_) {
        receive_(payload.substr(newline + 1));
      }
    });
    subscriber_.on_ready([this] {
      ready_ = true;
      spdlog::info("bus.ready node={}", node_);
      if (resynchronise_) {
        resynchronise_();
      }
    });
    subscriber_.on_disconnected([this](boost::system::error_code error) {
      ready_ = false;
      spdlog::warn("bus.disconnected node={} error={}", node_, error.message());
    });
    publisher_.on_connected([this] {
      // What could not be published while Redis was away goes now, in order: receivers drop
      // what they already have, and the gap check orders what comes late.
      auto waiting = std::exchange(backlog_, {});
      for (auto& payload : waiting) {
        send(std::move(payload));
      }
    });
    boost::asio::post(strand_, [this] {
      subscriber_.subscribe(channel_);
      publisher_.start();
      subscriber_.start();
    });
  }

  void stop() override {
    if (stopped_.exchange(true)) {
      return;
    }
    // The Redis objects live on the strand: stop them there and wait.
    std::promise<void> done;
    boost::asio::post(strand_, [this, &done] {
      publisher_.stop();
      subscriber_.stop();
      done.set_value();
    });
    done.get_future().wait();
  }

  void publish(std::string payload) override {
    if (delay_.count() > 0) { // the tests' fault hook
      auto timer = std::make_shared<boost::asio::steady_timer>(strand_, delay_);
      timer->async_wait([this, timer, payload = prefix_ + payload](boost::system::error_code) mutable {
        send(std::move(payload));
      });
      return;
    }
    boost::asio::post(strand_,
                      [this, payload = prefix_ + payload]() mutable { send(std::move(payload)); });
  }

  [[nodiscard]] bool ready() const override { return ready_; }

private:
  // On the strand. A payload that cannot go now waits for the publisher's reconnection: a
  // receiver whose own subscription never dropped has no other way to learn of it.
  void send(std::string payload) {
    if (!publisher_.connected()) {
      keep(std::move(payload));
      return;
    }
    publisher_.command({"PUBLISH", channel_, payload},
                       [this, payload](boost::system::error_code error, redis::reply) mutable {
                         if (error) {
                           keep(std::move(payload)); // it may have gone out: receivers dedupe
                         }
                       });
  }

  void keep(std::string payload) {
    if (backlog_.size() >= k_backlog) {
      backlog_.pop_front();
      if (++dropped_ % 1000 == 1) {
        spdlog::warn("bus.backlog_full node={} dropped={}", node_, dropped_.load());
      }
    }
    backlog_.push_back(std::move(payload));
  }

  static constexpr std::size_t k_backlog = 100'000;

  static redis::options options(std::string name) {
    redis::options value;
    value.name = std::move(name);
    return value;
  }

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::string channel_;
  std::string node_;
  std::chrono::milliseconds delay_;
  std::string prefix_;
  redis::client publisher_;
  redis::subscriber subscriber_;
  std::function<void(std::string_view)> receive_;
  std::function<void()> resynchronise_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> dropped_{0};
  std::deque<std::string> backlog_; // on the strand
};

} // namespace

std::unique_ptr<transport> make_redis_transport(boost::asio::any_io_executor executor,
                                                std::string_view url, std::string channel,
                                                std::string node, std::chrono::milliseconds delay) {
  auto where = redis::parse_url(url);
  if (!where) {
    throw std::invalid_argument("bus: " + where.error());
  }
  return std::make_unique<redis_transport>(std::move(executor), std::move(*where),
                                           std::move(channel), std::move(node), delay);
}

} // namespace parley::bus

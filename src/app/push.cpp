#include "app/push.hpp"

#include "net/http_client.hpp"

#include <boost/asio/ssl/context.hpp>

#include <spdlog/spdlog.h>

namespace parley::app {

std::string default_push_subject(const config::config& settings) {
  for (const auto& origin : settings.allowed_origins) {
    if (origin.starts_with("https://")) {
      return origin;
    }
  }
  const auto colon = settings.listen.rfind(':');
  return "https://" + settings.listen.substr(0, colon);
}

push_parts::push_parts(const config::config& settings, store::database& database,
                       const parley::clock& clock, chat::chat_service& chat,
                       boost::asio::any_io_executor outbound, http::metrics& counters) {
  push::options options;
  options.subject =
      settings.push_subject.empty() ? default_push_subject(settings) : settings.push_subject;
  options.allow_insecure_endpoints = settings.push_allow_insecure_endpoints;
  options.user_rate = settings.push_user_rate;
  options.user_burst = settings.push_user_burst;
  auto online = [&chat](const std::vector<store::id>& users) { return chat.online(users); };
  service_ = std::make_unique<push::push_service>(options, database, clock, std::move(outbound),
                                                  net::make_tls_client_context(),
                                                  std::move(online));
  chat.observe_new_messages([service = service_.get(), &chat](const store::message_row& message,
                                                               const std::vector<store::id>& members) {
    // The usual case, everyone connected here: nothing to plan, no hand-off to the outbound
    // thread (this runs on the writer thread, for every message).
    if (chat.all_connected_here(members, message.sender_id)) {
      return;
    }
    push::new_message out;
    out.recipients.reserve(members.size());
    for (const auto member : members) {
      if (member != message.sender_id) {
        out.recipients.push_back(member);
      }
    }
    // Nor when nobody it goes to has a push subscription, as far as this node knows.
    if (!service->may_push(out.recipients)) {
      return;
    }
    out.conversation_id = message.conversation_id;
    out.message_id = message.message_id;
    out.sender_id = message.sender_id;
    out.body = message.body;
    out.attachment_count = message.attachment_count;
    service->message_committed(std::move(out));
  });
  // A subscription stored on any node makes every node's planner ask again about that user.
  service_->announce_subscriptions([&chat](store::id user) { chat.push_subscribed(user); });
  chat.observe_push_subscribers([service = service_.get()](std::optional<store::id> user) {
    service->subscriptions_changed(user);
  });
  if (options.allow_insecure_endpoints) {
    spdlog::warn("push.insecure_endpoints note=\"http://127.0.0.1 push endpoints are accepted: "
                 "a testing aid\"");
  }
  spdlog::info("push.ready subject={}", options.subject);

  auto* service = service_.get();
  counters.add_sampled("parley_push_sent_total", "Pushes the push services accepted.", "counter",
                       [service] { return double(service->stats().sent); });
  counters.add_sampled("parley_push_retries_total", "Pushes retried after 429, 5xx or no answer.",
                       "counter", [service] { return double(service->stats().retried); });
  counters.add_sampled("parley_push_subscriptions_dropped_total",
                       "Subscriptions dropped because the push service said 404 or 410.",
                       "counter",
                       [service] { return double(service->stats().subscriptions_dropped); });
  counters.add_sampled("parley_push_skipped_total",
                       "Pushes not sent: over a user's rate or the queue's limit.", "counter",
                       [service] { return double(service->stats().skipped); });
  counters.add_sampled("parley_push_messages_dropped_total",
                       "New messages whose pushes were not even planned: the queue was full.",
                       "counter",
                       [service] { return double(service->stats().messages_dropped); });
  counters.add_sampled("parley_push_queue_depth", "Pushes waiting or in flight.", "gauge",
                       [service] { return double(service->stats().queue_depth); });
  counters.add_sampled_family("parley_push_failed_total",
                              "Pushes that failed for good, by the push service's status "
                              "(or timeout, network, refused).",
                              "counter", "status", [service] {
                                std::vector<std::pair<std::string, double>> values;
                                for (const auto& [status, count] : service->stats().failed) {
                                  values.emplace_back(status, double(count));
                                }
                                return values;
                              });
}

} // namespace parley::app

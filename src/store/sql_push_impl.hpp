#pragma once
// The notifications half of sql_transaction: push subscriptions, mutes and previews. Included
// by each engine's transaction translation unit. Internal to the store.

#include "store/push_queries.hpp"
#include "store/sql_rows.hpp"
#include "store/sql_transaction.hpp"

namespace parley::store {

template <class Connection>
std::vector<push_target> sql_transaction<Connection>::push_targets(id conversation_id, id sender) {
  auto& statement = cached(push_sql::targets);
  statement.bind(1, conversation_id).bind(2, sender);
  return sql_rows::all_rows(statement, [](const auto& row) {
    push_target target;
    target.subscription.subscription_id = row.integer(0);
    target.subscription.user_id = row.integer(1);
    target.subscription.endpoint = row.text(2);
    target.subscription.p256dh = row.blob(3);
    target.subscription.auth = row.blob(4);
    target.previews = row.integer(5) != 0;
    target.muted_until = row.optional_integer(6);
    target.title = row.text(7);
    target.sender_name = row.text(8);
    return target;
  });
}

template <class Connection>
subscription_outcome sql_transaction<Connection>::put_push_subscription(
    id user, id session, std::string_view endpoint, std::span<const unsigned char> p256dh,
    std::span<const unsigned char> auth, unix_ms now, std::size_t limit) {
  auto& holder = cached(push_sql::holder);
  holder.bind(1, endpoint);
  const auto held_by = sql_rows::single_row(holder, [](const auto& row) { return row.integer(0); });
  if (held_by != user) {
    auto& count = cached(push_sql::count_of_user);
    count.bind(1, user);
    if (static_cast<std::size_t>(sql_rows::returned_integer(count)) >= limit) {
      return subscription_outcome::too_many;
    }
  }
  cached(push_sql::upsert)
      .bind(1, user)
      .bind(2, session)
      .bind(3, endpoint)
      .bind_blob(4, p256dh)
      .bind_blob(5, auth)
      .bind(6, now)
      .run();
  return held_by == user ? subscription_outcome::existing : subscription_outcome::created;
}

template <class Connection>
bool sql_transaction<Connection>::delete_push_subscription(id user, std::string_view endpoint) {
  cached(push_sql::delete_of_user).bind(1, user).bind(2, endpoint).run();
  return db_.changes() > 0;
}

template <class Connection>
void sql_transaction<Connection>::drop_push_subscription(id subscription_id) {
  cached(push_sql::drop).bind(1, subscription_id).run();
}

template <class Connection>
bool sql_transaction<Connection>::set_muted(id conversation_id, id user,
                                            std::optional<unix_ms> until) {
  lock_conversation(conversation_id); // member rows only under their conversation's lock
  cached(push_sql::set_muted).bind(1, conversation_id).bind(2, user).bind(3, until).run();
  return db_.changes() > 0;
}

template <class Connection>
void sql_transaction<Connection>::set_notification_previews(id user, bool previews) {
  cached(push_sql::set_previews).bind(1, user).bind(2, std::int64_t{previews ? 1 : 0}).run();
}

} // namespace parley::store

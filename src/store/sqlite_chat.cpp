// The chat half of the SQLite transaction: contacts, conversations, members, messages.

#include "store/sqlite_chat_queries.hpp"
#include "store/sqlite_rows.hpp"
#include "store/sqlite_transaction.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace parley::store {
namespace {

using sqlite_rows::all_rows;
using sqlite_rows::read_user;
using sqlite_rows::single_row;


contact_row read_contact(const sqlite::statement& row) {
  return contact_row{read_user(row), row.text(4), row.optional_integer(5), row.integer(6)};
}

message_row read_message(const sqlite::statement& row) {
  return message_row{row.integer(0), row.integer(1), row.integer(2),
                     row.text(3),    row.integer(4), row.text(5)};
}

conversation_kind kind_from(std::string_view text) {
  if (text == "direct") {
    return conversation_kind::direct;
  }
  if (text == "group") {
    return conversation_kind::group;
  }
  throw std::runtime_error("unknown conversation kind in the database");
}

conversation_row read_conversation(const sqlite::statement& row) {
  conversation_row conversation;
  conversation.conversation_id = row.integer(0);
  conversation.kind = kind_from(row.text(1));
  if (!row.is_null(2)) {
    conversation.title = row.text(2);
  }
  conversation.created_by = row.integer(3);
  conversation.created_at = row.integer(4);
  conversation.last_message_id = row.optional_integer(5);
  conversation.last_activity_at = row.integer(6);
  return conversation;
}

} // namespace

std::vector<contact_row> sqlite_write_transaction::contacts_of(id owner) {
  auto& statement = db_.cached(chat_sql::contacts_of);
  statement.bind(1, owner);
  return all_rows(statement, read_contact);
}

std::optional<contact_row> sqlite_write_transaction::contact(id owner, id contact_id) {
  auto& statement = db_.cached(chat_sql::contact);
  statement.bind(1, owner).bind(2, contact_id);
  return single_row(statement, read_contact);
}

std::vector<id> sqlite_write_transaction::contact_owners_of(id user) {
  auto& statement = db_.cached(chat_sql::contact_owners_of);
  statement.bind(1, user);
  return all_rows(statement, [](const sqlite::statement& row) { return row.integer(0); });
}

std::optional<id> sqlite_write_transaction::direct_conversation(id first, id second) {
  auto& statement = db_.cached(chat_sql::direct_conversation);
  statement.bind(1, std::min(first, second)).bind(2, std::max(first, second));
  return single_row(statement, [](const sqlite::statement& row) { return row.integer(0); });
}

std::optional<conversation_row> sqlite_write_transaction::conversation(id conversation_id) {
  auto& statement = db_.cached(chat_sql::conversation);
  statement.bind(1, conversation_id);
  return single_row(statement, read_conversation);
}

std::optional<member_row> sqlite_write_transaction::membership(id conversation_id, id user_id) {
  auto& statement = db_.cached(chat_sql::membership);
  statement.bind(1, conversation_id).bind(2, user_id);
  return single_row(statement, [](const sqlite::statement& row) {
    return member_row{row.integer(0), row.integer(1), row.integer(2), row.integer(3)};
  });
}

std::vector<id> sqlite_write_transaction::member_ids(id conversation_id) {
  auto& statement = db_.cached(chat_sql::member_ids);
  statement.bind(1, conversation_id);
  return all_rows(statement, [](const sqlite::statement& row) { return row.integer(0); });
}

std::vector<id> sqlite_write_transaction::senders_between(id conversation_id, id after, id up_to) {
  auto& statement = db_.cached(chat_sql::senders_between);
  statement.bind(1, conversation_id).bind(2, after).bind(3, up_to);
  return all_rows(statement, [](const sqlite::statement& row) { return row.integer(0); });
}

conversation_summary sqlite_write_transaction::summarise(conversation_row conversation, id viewer,
                                                         id last_read_id) {
  conversation_summary result;
  {
    auto& statement = db_.cached(chat_sql::members);
    statement.bind(1, conversation.conversation_id);
    result.members = all_rows(statement, read_user);
  }
  if (conversation.last_message_id) {
    auto& statement = db_.cached(chat_sql::message_by_id);
    statement.bind(1, *conversation.last_message_id);
    result.last_message = single_row(statement, read_message);
    auto& unread = db_.cached(chat_sql::unread_count);
    unread.bind(1, conversation.conversation_id).bind(2, last_read_id).bind(3, viewer);
    result.unread_count =
        single_row(unread, [](const sqlite::statement& row) { return row.integer(0); }).value_or(0);
  }
  if (conversation.kind == conversation_kind::direct) {
    for (const auto& member : result.members) {
      if (member.user_id != viewer) {
        auto& statement = db_.cached(chat_sql::nickname);
        statement.bind(1, viewer).bind(2, member.user_id);
        result.nickname =
            single_row(statement, [](const sqlite::statement& row) { return row.text(0); });
      }
    }
  }
  result.conversation = std::move(conversation);
  return result;
}

std::optional<conversation_summary> sqlite_write_transaction::summary(id conversation_id,
                                                                      id viewer) {
  const auto member = membership(conversation_id, viewer);
  if (!member) {
    return std::nullopt;
  }
  auto found = conversation(conversation_id);
  if (!found) {
    return std::nullopt;
  }
  return summarise(std::move(*found), viewer, member->last_read_id);
}

std::vector<conversation_summary> sqlite_write_transaction::conversations_of(id viewer) {
  auto& statement = db_.cached(chat_sql::conversations_of);
  statement.bind(1, viewer);
  // Collect first: summarise() runs other cached statements.
  auto rows = all_rows(statement, [](const sqlite::statement& row) {
    return std::pair{read_conversation(row), row.integer(7)};
  });
  std::vector<conversation_summary> result;
  result.reserve(rows.size());
  for (auto& [conversation, last_read_id] : rows) {
    result.push_back(summarise(std::move(conversation), viewer, last_read_id));
  }
  return result;
}

std::optional<message_row> sqlite_write_transaction::message_by_client_id(
    id sender, std::string_view client_id) {
  auto& statement = db_.cached(chat_sql::message_by_client_id);
  statement.bind(1, sender).bind(2, client_id);
  return single_row(statement, read_message);
}

std::vector<message_row> sqlite_write_transaction::messages_before(id conversation_id,
                                                                   std::optional<id> before,
                                                                   int limit) {
  auto& statement = db_.cached(chat_sql::messages_before);
  statement.bind(1, conversation_id)
      .bind(2, before.value_or(std::numeric_limits<id>::max()))
      .bind(3, std::int64_t{limit});
  return all_rows(statement, read_message);
}

std::vector<message_row> sqlite_write_transaction::messages_after(id user, id after, int limit) {
  auto& statement = db_.cached(chat_sql::messages_after);
  statement.bind(1, user).bind(2, after).bind(3, std::int64_t{limit});
  return all_rows(statement, read_message);
}

void sqlite_write_transaction::insert_contact(id owner, id contact_id, std::string_view name,
                                              unix_ms now) {
  db_.cached(chat_sql::insert_contact).bind(1, owner).bind(2, contact_id).bind(3, name).bind(4, now).run();
}

bool sqlite_write_transaction::update_contact_name(id owner, id contact_id, std::string_view name) {
  db_.cached(chat_sql::update_contact_name).bind(1, owner).bind(2, contact_id).bind(3, name).run();
  return db_.changes() > 0;
}

bool sqlite_write_transaction::delete_contact(id owner, id contact_id) {
  db_.cached(chat_sql::delete_contact).bind(1, owner).bind(2, contact_id).run();
  return db_.changes() > 0;
}

conversation_row sqlite_write_transaction::insert_conversation(
    conversation_kind kind, std::optional<std::string_view> title,
    std::optional<std::pair<id, id>> direct_pair, id created_by, unix_ms now) {
  auto& statement = db_.cached(chat_sql::insert_conversation);
  statement.bind(1, kind == conversation_kind::direct ? "direct" : "group");
  statement.bind(2, title);
  if (direct_pair) {
    statement.bind(3, std::min(direct_pair->first, direct_pair->second))
        .bind(4, std::max(direct_pair->first, direct_pair->second));
  } else {
    statement.bind_null(3).bind_null(4);
  }
  statement.bind(5, created_by).bind(6, now).run();
  conversation_row row;
  row.conversation_id = db_.last_insert_rowid();
  row.kind = kind;
  if (title) {
    row.title = std::string(*title);
  }
  row.created_by = created_by;
  row.created_at = now;
  row.last_activity_at = now;
  return row;
}

void sqlite_write_transaction::insert_member(id conversation_id, id user_id, unix_ms now) {
  db_.cached(chat_sql::insert_member).bind(1, conversation_id).bind(2, user_id).bind(3, now).run();
}

message_row sqlite_write_transaction::insert_message(id conversation_id, id sender_id,
                                                     std::string_view body, unix_ms sent_at,
                                                     std::string_view client_id) {
  db_.cached(chat_sql::insert_message)
      .bind(1, conversation_id)
      .bind(2, sender_id)
      .bind(3, body)
      .bind(4, sent_at)
      .bind(5, client_id)
      .run();
  message_row message{db_.last_insert_rowid(), conversation_id, sender_id,
                      std::string(body),       sent_at,         std::string(client_id)};
  db_.cached(chat_sql::touch_conversation)
      .bind(1, conversation_id)
      .bind(2, message.message_id)
      .bind(3, sent_at)
      .run();
  return message;
}

bool sqlite_write_transaction::advance_read(id conversation_id, id user_id, id up_to) {
  db_.cached(chat_sql::advance_read).bind(1, conversation_id).bind(2, user_id).bind(3, up_to).run();
  return db_.changes() > 0;
}

bool sqlite_write_transaction::advance_delivered(id conversation_id, id user_id, id up_to) {
  db_.cached(chat_sql::advance_delivered)
      .bind(1, conversation_id)
      .bind(2, user_id)
      .bind(3, up_to)
      .run();
  return db_.changes() > 0;
}

} // namespace parley::store

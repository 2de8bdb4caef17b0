// The contact list of chat_service (chat_service.hpp): list, add by phone number, rename,
// delete; each change one store job.
#include "chat/chat_service.hpp"

#include "auth/phone.hpp"

namespace parley::chat {
namespace {

using boost::asio::awaitable;
using store::id;

struct list_contacts {
  id owner;
  std::vector<store::contact_row> operator()(store::read_transaction& transaction) const {
    return transaction.contacts_of(owner);
  }
};

struct add_contact_job {
  id owner;
  std::string phone;
  std::optional<std::string> name;
  unix_ms now;
  result<store::contact_row> operator()(store::write_transaction& transaction) const {
    const auto person = transaction.user_by_phone(phone);
    if (person && person->user_id == owner) {
      return std::unexpected(
          error{error_code::cannot_add_self, "You cannot add yourself as a contact."});
    }
    if (!person) {
      return std::unexpected(
          error{error_code::user_not_found, "No Parley account has this phone number."});
    }
    if (transaction.contact(owner, person->user_id)) {
      return std::unexpected(
          error{error_code::already_contact, "This person is already one of your contacts."});
    }
    transaction.insert_contact(owner, person->user_id, name.value_or(person->name), now);
    return *transaction.contact(owner, person->user_id);
  }
};

struct rename_contact_job {
  id owner;
  id person;
  std::string name;
  result<store::contact_row> operator()(store::write_transaction& transaction) const {
    if (!transaction.update_contact_name(owner, person, name)) {
      return std::unexpected(error{error_code::not_a_contact, "No such contact."});
    }
    return *transaction.contact(owner, person);
  }
};

struct delete_contact_job {
  id owner;
  id person;
  result<bool> operator()(store::write_transaction& transaction) const {
    if (!transaction.delete_contact(owner, person)) {
      return std::unexpected(error{error_code::not_a_contact, "No such contact."});
    }
    return true;
  }
};

} // namespace

awaitable<std::vector<contact_view>> chat_service::contacts(id owner) {
  list_contacts job{owner};
  auto rows = co_await database_.read(std::move(job));
  std::vector<id> people;
  people.reserve(rows.size());
  for (const auto& row : rows) {
    people.push_back(row.user.user_id);
  }
  const auto present = co_await online(people);
  std::vector<contact_view> result;
  result.reserve(rows.size());
  for (std::size_t index = 0; index < rows.size(); ++index) {
    result.push_back(contact_view{std::move(rows[index]), present[index]});
  }
  co_return result;
}

awaitable<result<contact_view>> chat_service::add_contact(id owner, std::string phone,
                                                          std::optional<std::string> name) {
  auto normalized = auth::normalize_phone(phone, rules_.default_region);
  if (!normalized) {
    co_return std::unexpected(
        error{error_code::invalid_phone, std::string(auth::describe(normalized.error()))});
  }
  if (name) {
    auto valid = auth::validate_name(*name);
    if (!valid) {
      co_return std::unexpected(error{error_code::invalid_name, valid.error().message});
    }
    name = std::move(*valid);
  }
  add_contact_job job{owner, std::move(*normalized), std::move(name), clock_.now_ms()};
  auto added = co_await database_.write(std::move(job));
  if (!added) {
    co_return std::unexpected(std::move(added.error()));
  }
  std::vector<id> person(1, added->user.user_id);
  const auto present = co_await online(person);
  co_return contact_view{std::move(*added), present.front()};
}

awaitable<result<contact_view>> chat_service::rename_contact(id owner, id person,
                                                             std::string name) {
  auto valid = auth::validate_name(name);
  if (!valid) {
    co_return std::unexpected(error{error_code::invalid_name, valid.error().message});
  }
  rename_contact_job job{owner, person, std::move(*valid)};
  auto renamed = co_await database_.write(std::move(job));
  if (!renamed) {
    co_return std::unexpected(std::move(renamed.error()));
  }
  std::vector<id> renamed_person(1, renamed->user.user_id);
  const auto present = co_await online(renamed_person);
  co_return contact_view{std::move(*renamed), present.front()};
}

awaitable<result<bool>> chat_service::delete_contact(id owner, id person) {
  delete_contact_job job{owner, person};
  co_return co_await database_.write(std::move(job));
}

} // namespace parley::chat

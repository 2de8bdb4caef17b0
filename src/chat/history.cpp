// A page of history (history_read, chat_service.hpp): from the texts kept in message_texts
// when every message of the page is kept at its version (no row read), else read with its
// rows, those kept left out. docs/architecture.md, "History pages from messages kept as text".
#include "chat/changes.hpp"
#include "chat/chat_service.hpp"
#include "chat/json.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::chat {

using detail::make_error;
using store::id;

namespace {

constexpr std::string_view k_page_start = R"({"messages":[)";
constexpr std::string_view k_more = R"(],"has_more":true})";
constexpr std::string_view k_no_more = R"(],"has_more":false})";
constexpr std::size_t k_text_guess = 384; // a message's text, for reserving

// The page from kept texts alone, when every message of it is kept at its version: the
// versions come from two index scans, no row is read. Nullopt when one is not kept.
std::optional<page> kept_page(store::read_transaction& transaction, message_texts& texts,
                              const history_read& read, id from_seq) {
  auto positions =
      transaction.page_positions(read.conversation, read.before, from_seq, read.limit + 1);
  const bool more = positions.size() > std::size_t(read.limit);
  if (more) {
    positions.pop_back();
  }
  page answer;
  answer.text.reserve(k_page_start.size() + positions.size() * k_text_guess + k_no_more.size());
  answer.text += k_page_start;
  for (std::size_t index = positions.size(); index-- > 0;) { // oldest first
    const auto& position = positions[index];
    const auto version = texts.append_at(position.message_id, position.updated_seq, answer.text);
    if (!version || (version->reply_to_id && transaction.updated_seq_of(*version->reply_to_id) !=
                                                 version->quoted_updated_seq)) {
      return std::nullopt;
    }
    if (index > 0) {
      answer.text += ',';
    }
  }
  texts.count(positions.size());
  answer.text += more ? k_more : k_no_more;
  return answer;
}

} // namespace

result<page> history_read::operator()(store::read_transaction& transaction, id viewer) const {
  const auto member = transaction.membership(conversation, viewer);
  if (!member) {
    return std::unexpected(make_error(error_code::not_found, "No such conversation."));
  }
  if (texts != nullptr) {
    if (auto kept = kept_page(transaction, *texts, *this, member->from_seq)) {
      return std::move(*kept);
    }
  }
  // Else the page with its rows, those of the messages kept at their version left out: the
  // kept texts found go one after the other into `kept`, in the store's order (newest first),
  // and `spans` says where each message's is (npos: read from the store, written below).
  std::string kept;
  kept.reserve(std::size_t(limit) * k_text_guess);
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t unknown = 0;
  auto found = transaction.page_before(
      conversation, before, member->from_seq, limit + 1,
      [this, &kept, &spans, &unknown](const store::message_version& version) {
        const auto start = kept.size();
        const bool known = texts != nullptr && texts->append(version, kept);
        spans.emplace_back(known ? start : std::string::npos, kept.size() - start);
        unknown += known ? 0 : 1;
        return known;
      });
  const bool more = found.size() > std::size_t(limit);
  if (more) {
    found.pop_back();
  }
  page answer;
  answer.text.reserve(k_page_start.size() + kept.size() + found.size() + unknown * k_text_guess +
                      k_no_more.size());
  answer.text += k_page_start;
  for (std::size_t index = found.size(); index-- > 0;) {
    if (const auto [start, length] = spans[index]; start != std::string::npos) {
      answer.text.append(kept, start, length);
    } else {
      const auto written = answer.text.size();
      append_message_text(answer.text, *found[index].row);
      if (texts != nullptr) {
        texts->keep(found[index].version, std::string_view(answer.text).substr(written));
      }
    }
    if (index > 0) {
      answer.text += ',';
    }
  }
  answer.text += more ? k_more : k_no_more;
  return answer;
}

} // namespace parley::chat

// A page of history (history_read, chat_service.hpp): the messages' positions and versions
// from indexes alone, then each message's text from message_texts when it is kept at that
// version, else its row read by id (and its text kept). docs/architecture.md, "History pages from
// messages kept as text".
#include "chat/changes.hpp"
#include "chat/chat_service.hpp"
#include "chat/json.hpp"

#include <optional>
#include <stdexcept>
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

// Appends the message's kept text if it is kept at `position`'s version (its quote checked
// too); false, and `out` as it was, when it is not.
bool append_kept(store::read_transaction& transaction, message_texts& texts,
                 const store::message_position& position, std::string& out) {
  const auto mark = out.size();
  const auto version = texts.append_at(position.message_id, position.updated_seq, out);
  if (!version) {
    return false;
  }
  if (version->reply_to_id &&
      transaction.updated_seq_of(*version->reply_to_id) != version->quoted_updated_seq) {
    out.resize(mark);
    return false;
  }
  return true;
}

// Reads the message by its id, appends its text and keeps it (with `texts`).
void append_read(store::read_transaction& transaction, message_texts* texts,
                 const store::message_position& position, std::string& out) {
  const auto row = transaction.message(position.message_id);
  if (!row) { // the same transaction listed it
    throw std::logic_error("a message of the page is missing from the same read");
  }
  const auto written = out.size();
  append_message_text(out, *row);
  if (texts != nullptr) {
    const store::message_version version{
        row->message_id, row->updated_seq, row->reply_to_id,
        row->reply_to_id ? transaction.updated_seq_of(*row->reply_to_id) : std::nullopt};
    texts->keep(version, std::string_view(out).substr(written));
  }
}

} // namespace

result<page> history_read::operator()(store::read_transaction& transaction, id viewer) const {
  const auto member = transaction.membership(conversation, viewer);
  if (!member) {
    return std::unexpected(make_error(error_code::not_found, "No such conversation."));
  }
  // Where the page's messages are and their versions, from indexes alone; then each message
  // from its kept text, or else read by its id (and kept).
  auto positions = transaction.page_positions(conversation, before, member->from_seq, limit + 1);
  const bool more = positions.size() > std::size_t(limit);
  if (more) {
    positions.pop_back();
  }
  page answer;
  answer.text.reserve(k_page_start.size() + positions.size() * k_text_guess + k_no_more.size());
  answer.text += k_page_start;
  std::size_t hits = 0;
  for (std::size_t index = positions.size(); index-- > 0;) { // oldest first
    if (texts != nullptr && append_kept(transaction, *texts, positions[index], answer.text)) {
      ++hits;
    } else {
      append_read(transaction, texts, positions[index], answer.text);
    }
    if (index > 0) {
      answer.text += ',';
    }
  }
  if (texts != nullptr) {
    texts->count(hits, positions.size() - hits);
  }
  answer.text += more ? k_more : k_no_more;
  return answer;
}

} // namespace parley::chat

// A page of history (history_read, chat_service.hpp): the messages' positions and versions
// from log_index when it has them as of this read, else from the store's indexes alone; then
// each message's text from message_texts when it is kept at that version, else its row read by
// id (and its text kept). docs/architecture.md, "History pages from messages kept as text".
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
// log_index: how far (in seqs) below the kept positions a page may start for the positions
// down to it to be read and kept; how many more than a page needs are read when they are; how
// many changes since kept positions were last brought up to date are worth reading (more, and
// they are started over).
constexpr id k_reach = 16'384;
constexpr int k_margin = 128;
constexpr int k_catch_up = 4'096;

// Where the page's messages are, and whether they came from `index` (once it is brought up to
// this read: the changes since, or the positions under what it keeps) or from the store's
// indexes.
struct located {
  std::vector<store::message_position> positions;
  bool kept = false;
};

located locate(store::read_transaction& transaction, log_index& index, id conversation,
               std::optional<id> before, id from_seq, int count) {
  located found{{}, true};
  auto& out = found.positions;
  const auto last_seq = transaction.last_seq_of(conversation).value_or(0);
  auto seen = index.find(conversation, last_seq, before, from_seq, count, out);
  if (seen.page) {
    return found;
  }
  const auto start = [&] {
    index.start(conversation, last_seq);
    seen = log_index::seen{false, last_seq, last_seq, std::nullopt};
  };
  if (!seen.as_of) {
    start();
  } else if (*seen.as_of < last_seq) {
    const auto changed = transaction.positions_changed_after(conversation, *seen.as_of, k_catch_up);
    if (changed.size() >= std::size_t(k_catch_up)) {
      start();
    } else {
      index.advance(conversation, *seen.as_of, last_seq, changed);
      seen = index.find(conversation, last_seq, before, from_seq, count, out);
      if (seen.page) {
        return found;
      }
    }
  }
  const auto from_store = [&] {
    return located{transaction.page_positions(conversation, before, from_seq, count), false};
  };
  if (seen.as_of != last_seq) { // kept as of another read, later than this one
    return from_store();
  }
  // The page reaches below what is kept.
  if (!before || (seen.lowest_id && *before > *seen.lowest_id)) { // it starts in what is kept
    const int wanted = count + k_margin;
    const auto below = transaction.page_positions(conversation, seen.lowest_id, 0, wanted);
    index.extend(conversation, last_seq, seen.floor, below, below.size() < std::size_t(wanted));
    return index.find(conversation, last_seq, before, from_seq, count, out).page ? found
                                                                                 : from_store();
  }
  // It starts further down: read it from the store, and what lies between when that is near.
  auto page = from_store();
  if (!page.positions.empty() && seen.floor - page.positions.back().seq < k_reach) {
    const int wanted = static_cast<int>(seen.floor - page.positions.back().seq) + 1 + k_margin;
    const auto below = transaction.page_positions(conversation, seen.lowest_id, 0, wanted);
    index.extend(conversation, last_seq, seen.floor, below, below.size() < std::size_t(wanted));
  }
  return page;
}

std::vector<store::message_position> positions_of(store::read_transaction& transaction,
                                                  log_index& index, id conversation,
                                                  std::optional<id> before, id from_seq,
                                                  int count) {
  auto found = locate(transaction, index, conversation, before, from_seq, count);
  index.count(found.kept);
  return std::move(found.positions);
}

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

// Reads the message by its id, appends its text and keeps it (with `texts`), at the version
// read: its quote came in the same read.
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
        row->reply_to ? std::optional<store::id>(row->reply_to->updated_seq) : std::nullopt};
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
  auto positions =
      index != nullptr
          ? positions_of(transaction, *index, conversation, before, member->from_seq, limit + 1)
          : transaction.page_positions(conversation, before, member->from_seq, limit + 1);
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

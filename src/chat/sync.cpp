// `sync` (chat_service.hpp, API.md "Catching up"): from the client's cursors to the present in
// one read transaction, so an answer is one consistent snapshot. Per conversation with a cursor
// it is one range scan of the (conversation_id, updated_seq) index; messages are paged by
// `limit`, conversations in id order, and a conversation's object comes with the page that
// holds the last of its changes.
#include "chat/changes.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace parley::chat {
namespace {

using boost::asio::awaitable;
using store::id;

// Listed to the viewer at all: conversations_of's rule (an empty direct conversation shows
// only to whoever opened it).
bool listed(const store::conversation_summary& view, id viewer) {
  const auto& conversation = view.conversation;
  return conversation.kind == store::conversation_kind::group ||
         conversation.last_seq > 0 || conversation.created_by == viewer;
}

struct sync_job {
  // A page holds up to `limit` changes (500 by default): milliseconds of reading when full,
  // past any budget for reads on the I/O thread (store::database::read_here).
  static constexpr bool long_read = true;

  id user;
  std::vector<sync_cursor> cursors;
  int limit;

  sync_answer operator()(store::read_transaction& transaction) const {
    std::unordered_map<id, id> cursor_of; // the last cursor named for a conversation counts
    for (const auto& cursor : cursors) {
      cursor_of[cursor.conversation_id] = cursor.seq;
    }
    sync_answer answer;
    std::size_t budget = std::size_t(limit);
    std::unordered_set<id> member_of;
    for (const auto& position : transaction.log_positions(user)) {
      member_of.insert(position.conversation_id);
      const auto cursor = cursor_of.find(position.conversation_id);
      if (cursor == cursor_of.end()) {
        // Never seen by this client: its object only (history is paged over REST).
        if (auto view = transaction.summary(position.conversation_id, user);
            view && listed(*view, user)) {
          answer.conversations.push_back(std::move(*view));
        }
        continue;
      }
      if (position.last_seq <= cursor->second || answer.has_more) {
        continue; // unchanged, or for a later page
      }
      const id after = std::max(cursor->second, position.from_seq);
      auto changes = transaction.changes_after(position.conversation_id, after, position.from_seq,
                                               int(budget) + 1);
      if (changes.size() > budget) {
        changes.resize(budget);
        answer.has_more = true;
      }
      budget -= changes.size();
      std::ranges::move(changes, std::back_inserter(answer.messages));
      if (!answer.has_more) {
        if (auto view = transaction.summary(position.conversation_id, user)) {
          answer.conversations.push_back(std::move(*view));
        }
      }
    }
    for (const auto& cursor : cursors) {
      if (!member_of.contains(cursor.conversation_id) &&
          std::ranges::find(answer.left, cursor.conversation_id) == answer.left.end()) {
        answer.left.push_back(cursor.conversation_id);
      }
    }
    return answer;
  }
};

} // namespace

awaitable<sync_answer> chat_service::sync(id user, std::vector<sync_cursor> cursors, int limit) {
  sync_job job{user, std::move(cursors), limit};
  co_return co_await database_.read(std::move(job));
}

} // namespace parley::chat

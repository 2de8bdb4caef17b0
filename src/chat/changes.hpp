#pragma once
// Pieces shared by the files that implement chat_service (internal to the chat layer).

#include "chat/chat_service.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace parley::chat::detail {

/// Trims and checks a message body (UTF-8, at most `max_length` characters, not empty unless
/// `may_be_empty`: a message that carries attachments).
[[nodiscard]] result<std::string> validate_body(std::string_view body, std::size_t max_length,
                                                bool may_be_empty = false);

/// After a change to a conversation: its members, each with the conversation as they now
/// see it (the `conversation` event).
[[nodiscard]] chat_service::announcement to_every_member(store::read_transaction& transaction,
                                                         store::id conversation);

/// A refusal with no Retry-After.
[[nodiscard]] inline error make_error(error_code code, std::string message) {
  return error{code, std::move(message), std::nullopt};
}

/// A refusal for rate_limited with Retry-After.
[[nodiscard]] error too_fast(std::string message, std::chrono::milliseconds wait);

} // namespace parley::chat::detail

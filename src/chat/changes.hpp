#pragma once
// Pieces shared by the files that implement chat_service (internal to the chat layer).

#include "chat/chat_service.hpp"

#include <string>
#include <vector>

namespace parley::chat::detail {

/// Trims and checks a message body (UTF-8, not empty, at most `max_length` characters).
[[nodiscard]] result<std::string> validate_body(std::string_view body, std::size_t max_length);

/// The conversation as each of `viewers` sees it now (for the `conversation` event).
[[nodiscard]] std::vector<std::pair<store::id, store::conversation_summary>>
views_of(store::read_transaction& transaction, store::id conversation,
         const std::vector<store::id>& viewers);

/// A refusal for rate_limited with Retry-After.
[[nodiscard]] error too_fast(std::string message, std::chrono::milliseconds wait);

} // namespace parley::chat::detail

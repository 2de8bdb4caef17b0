#pragma once
// Structured logging on spdlog: one line per event, `time level event key=value ...`.
// Call sites log through spdlog directly (spdlog::info("http.listen address={}", ...));
// values that may contain spaces are passed through `quoted()`.

#include <string>
#include <string_view>

namespace parley::log {

/// Sets up the default logger on stderr. Throws std::invalid_argument for an unknown level.
/// Call once at start-up, before any other thread logs.
void initialize(std::string_view level);

/// `value` in double quotes with `"` and `\` and control characters escaped, so that a log
/// line stays one line and stays parseable.
[[nodiscard]] std::string quoted(std::string_view value);

} // namespace parley::log

#pragma once
// Plain rows as the store keeps them. No behaviour here: the domain layers decide.

#include "common/clock.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::store {

using id = std::int64_t;
using bytes = std::vector<unsigned char>;

struct user_row {
  id user_id = 0;
  std::string phone; ///< E.164, unique.
  std::string name;
  unix_ms created_at = 0;
};

struct session_row {
  id session_id = 0;
  bytes token_hash; ///< Keyed hash of the token; the token itself is never stored.
  id user_id = 0;
  unix_ms created_at = 0;
  unix_ms last_seen_at = 0;
  std::optional<unix_ms> revoked_at;
};

struct login_code_row {
  std::string phone;              ///< E.164; one live code per phone.
  std::optional<bytes> code_hash; ///< Keyed hash; empty when the SMS provider keeps the code.
  unix_ms created_at = 0;
  unix_ms expires_at = 0;
  int attempts = 0; ///< Wrong tries so far.
};

} // namespace parley::store

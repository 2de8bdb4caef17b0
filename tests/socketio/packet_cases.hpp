#pragma once
// What the Socket.IO packet tests share: readable failure messages, packets built from JSON
// text, and the protocol's documented wire forms (each both what encode() writes and what the
// decoder reads).

#include "socketio/packet.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace parley::socketio {

// Readable failure messages (found by GoogleTest through the argument's namespace).
void PrintTo(const packet& value, std::ostream* out);

namespace cases {

boost::json::value json(std::string_view text);

packet make_packet(packet_type type, std::string nsp, std::optional<std::uint64_t> id,
                   std::string_view data_json, std::vector<std::string> attachments = {});

inline constexpr std::string_view k_placeholder_0 = R"({"_placeholder":true,"num":0})";

// The protocol's documented wire forms (Socket.IO v5), without the Engine.IO '4'. Each is both
// what encode() writes and what the decoder reads.
struct wire_case {
  std::string_view text;
  std::vector<std::string> attachments;
  packet decoded;
};

const std::vector<wire_case>& canonical_cases();

} // namespace cases
} // namespace parley::socketio

#pragma once
// The Socket.IO v5 wire format (github.com/socketio/socket.io-protocol): packets in Engine.IO
// messages, their text header and JSON payload, and binary attachments sent as separate
// Engine.IO binary messages. Pure codecs: no namespaces joined, no acks tracked. The free
// functions are thread-safe; a decoder belongs to one connection and is used by one thread
// at a time.

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::socketio {

/// Most binary attachments one packet may announce (the reference parser's limit).
inline constexpr std::size_t k_max_attachments = 10;
/// Deepest JSON nesting accepted in a payload.
inline constexpr std::size_t k_max_json_depth = 32;
/// Longest namespace accepted, in bytes (including the leading '/').
inline constexpr std::size_t k_max_namespace_length = 256;
/// Largest ack id accepted: 2^53 − 1, the largest integer a JavaScript client can echo back.
inline constexpr std::uint64_t k_max_ack_id = 9'007'199'254'740'991;

/// The packet type digit.
enum class packet_type {
  connect = 0,       ///< data: optional auth object (c→s) / {"sid": …} (s→c).
  disconnect = 1,    ///< no data.
  event = 2,         ///< data: [name, args…].
  ack = 3,           ///< data: [args…].
  connect_error = 4, ///< data: {"message": …, "data"?: …} (or a string).
  binary_event = 5,  ///< event with attachments.
  binary_ack = 6,    ///< ack with attachments.
};

/// One Socket.IO packet.
struct packet {
  packet_type type = packet_type::event;
  std::string nsp = "/";                ///< Always starts with '/'.
  std::optional<std::uint64_t> id;      ///< Ack id.
  boost::json::value data;              ///< Null when absent. Binary parts appear as placeholders.
  std::vector<std::string> attachments; ///< Raw bytes of the binary parts, in `num` order.
  /// The JSON had `\uD800`-style escapes of lone UTF-16 surrogates (what JSON.stringify and
  /// Python's json make of a broken string); they were decoded as U+FFFD so that the
  /// application can refuse the event instead of the connection being closed.
  bool replaced_lone_surrogates = false;
  /// Outgoing only: `data` already serialised (shared by every socket of a fan-out); when
  /// set, encode() writes it instead of `data`.
  std::shared_ptr<const std::string> serialized_data;

  friend bool operator==(const packet&, const packet&) = default;
};

/// `{"_placeholder":true,"num":num}`: stands in `data` for attachments[num].
[[nodiscard]] boost::json::value make_placeholder(std::size_t num);

/// Why a message was refused. Every one of them means the Engine.IO connection must be
/// closed.
enum class decode_error {
  bad_type,             ///< Empty message, or the first character is not a digit 0–6.
  bad_attachment_count, ///< Types 5/6: no digits before '-', a non-digit, or no '-'.
  too_many_attachments, ///< Types 5/6: more than k_max_attachments announced.
  bad_placeholder,      ///< A placeholder whose num is not an integer in 0..count-1, a num
                        ///< used twice, or fewer placeholders than announced attachments.
  bad_namespace,        ///< Longer than k_max_namespace_length, or has control characters.
  bad_id,               ///< An ack id above k_max_ack_id.
  bad_json,             ///< The payload is not JSON (or nests deeper than k_max_json_depth).
  bad_payload_shape,    ///< JSON of the wrong shape for the packet type.
  reserved_event_name,  ///< An event named connect, connect_error, disconnect, …
  unexpected_binary,    ///< A binary message when no attachment is awaited.
  unexpected_text,      ///< A text message while attachments are still awaited.
};

/// A short English phrase for logs ("bad packet type").
[[nodiscard]] std::string_view describe(decode_error error);

/// One packet as Engine.IO messages: `text` is the payload of one Engine.IO text message
/// (what follows its '4', e.g. `2["chat","hi"]`, `0/admin,{"sid":"x"}`,
/// `51-["file",{"_placeholder":true,"num":0}]`), and each of `attachments` goes after it as
/// one Engine.IO binary message, in order.
struct encoded {
  std::string text;
  std::vector<std::string> attachments;
};

/// Encodes `outgoing`. Events and acks are written as types 5/6 when `attachments` is not
/// empty and as 2/3 when it is, whatever `type` says. The namespace is written (with its
/// ',') only when it is not "/"; the id when present; the data when not null, as compact
/// JSON with key order kept and control characters escaped (so never a raw `\x1e`).
/// Numbers are Boost.JSON's: integers as written, doubles in exponent form (1.5 → `1.5E0`),
/// which every JSON parser reads but which differs from JavaScript's JSON.stringify.
///
/// Preconditions: `nsp` starts with '/'; `attachments` only with event/ack types (they are
/// dropped for other types); `data` holds one placeholder per attachment, num 0..n-1 in
/// depth-first order (see make_placeholder).
[[nodiscard]] encoded encode(const packet& outgoing);

/// Decodes the Socket.IO messages of one connection, joining binary packets with their
/// attachments.
///
/// The header is decoded like the reference parser: type digit; for 5/6 the attachment
/// count then '-'; a namespace iff the next character is '/', running to the next ',' (which
/// is consumed) or the end; an ack id iff the next character is a digit (the maximal digit
/// run); then the rest, if any, as JSON. Accepted shapes: CONNECT an object or nothing;
/// DISCONNECT nothing; EVENT/BINARY_EVENT a non-empty array starting with a string (not a
/// reserved name) or a number; ACK/BINARY_ACK an array; CONNECT_ERROR an object or a
/// string. For 5/6, the placeholders (objects whose "_placeholder" is true) must number
/// 0..count-1, each exactly once; they are left in `data`, and the binary messages that
/// follow fill `attachments` in arrival order (the i-th is num i). Placeholder-like objects
/// in other types are plain data. An ack id is kept whatever the type. Each attachment is
/// as large as the Engine.IO layer lets a message be; a packet holds at most
/// k_max_attachments of them.
///
/// After an error the connection must be closed; every later call returns that error.
class decoder {
public:
  /// One Engine.IO text message (without its '4'). Returns the packet, or nullopt when it
  /// announces attachments that have not arrived yet.
  std::expected<std::optional<packet>, decode_error> on_text(std::string_view message);
  /// One Engine.IO binary message. Returns the packet when this was its last attachment.
  std::expected<std::optional<packet>, decode_error> on_binary(std::string_view bytes);

  /// True while a binary packet waits for attachments.
  [[nodiscard]] bool awaiting_attachments() const { return pending_ != nullptr; }

private:
  std::expected<std::optional<packet>, decode_error> fail(decode_error error);

  // On the heap: every connection has a decoder, and few ever receive a binary packet.
  std::unique_ptr<packet> pending_;
  std::size_t expected_attachments_ = 0;
  std::optional<decode_error> failure_;
};

} // namespace parley::socketio

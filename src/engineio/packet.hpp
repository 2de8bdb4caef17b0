#pragma once
// The Engine.IO v4 wire format (github.com/socketio/engine.io-protocol): packets, text form,
// WebSocket binary frames, and the `\x1e`-joined polling payloads with `b`+base64 binary
// records. Pure codecs: no I/O, no session state. Every function here is thread-safe;
// a payload_decoder is used by one thread at a time.

#include <cstddef>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley::engineio {

/// The one-character packet type that starts every text packet.
enum class packet_type : char {
  open = '0',    ///< Server → client handshake; data is the JSON handshake object.
  close = '1',   ///< Either direction: this transport/session is closing.
  ping = '2',    ///< Server → client heartbeat; from the client only as the `2probe` probe.
  pong = '3',    ///< Client → server answer to a ping; `3probe` answers the probe.
  message = '4', ///< Application data (all Socket.IO traffic).
  upgrade = '5', ///< Client → server on the new WebSocket: finish the upgrade.
  noop = '6',    ///< Server → client: releases a pending polling GET.
};

/// One Engine.IO packet. `binary` packets are always messages whose `data` holds raw bytes;
/// text packets hold UTF-8 `data` (possibly empty).
struct packet {
  packet_type type = packet_type::message;
  std::string data;
  bool binary = false; ///< Only with packet_type::message.

  friend bool operator==(const packet&, const packet&) = default;
};

/// Why a frame or a polling payload was refused. Any of these closes the session.
enum class decode_error {
  empty,            ///< An empty frame, an empty body, or an empty record ("4a\x1e\x1e4b").
  unknown_type,     ///< The first character is neither a type digit 0–6 nor `b`.
  invalid_utf8,     ///< A text frame or record that is not well-formed UTF-8.
  invalid_base64,   ///< A `b` record whose rest is not standard base64.
  too_many_packets, ///< A polling payload with more records than the decoder allows.
};

/// A short English phrase for logs ("unknown packet type").
[[nodiscard]] std::string_view describe(decode_error error);

/// The text form of `packet`: the type character then the data ("4hello", "2", "3probe").
/// A binary message becomes `b` + standard base64, the polling record form (also what a
/// `b64=1` client gets on WebSocket).
/// Precondition: `binary` only with packet_type::message. Text data that goes into a polling
/// payload must not contain `\x1e` (Socket.IO's JSON always escapes it).
[[nodiscard]] std::string encode_text(const packet& outgoing);

/// Decodes one text WebSocket frame or one polling record. The text must be valid UTF-8.
/// A leading `b` means a base64 binary message (the reference accepts it in both places).
/// Data after the type character is kept as is, for every type.
[[nodiscard]] std::expected<packet, decode_error> decode_text(std::string_view frame);

/// A WebSocket binary frame is always a binary message holding exactly those bytes.
[[nodiscard]] packet decode_binary_frame(std::string_view bytes);

/// A polling payload (GET response body): each packet's encode_text form, joined by `\x1e`
/// with no trailing separator; binary messages as `b` + base64. Same preconditions as
/// encode_text. An empty span gives an empty string (which is not a valid payload to decode).
[[nodiscard]] std::string encode_payload(std::span<const packet> packets);

/// Incremental decoder for one polling POST body. Feed the body in chunks split anywhere
/// (even inside a UTF-8 sequence or a base64 group), then call finish(). Each record is
/// decoded when its `\x1e` (or the end of the body) arrives, and appended to `out`; the
/// result does not depend on how the body was split.
///
/// A record is buffered until it completes, so the caller bounds memory by capping the body
/// size (maxPayload). At most `max_packets` packets are accepted per payload.
///
/// Decoding stops at the first bad record, as in the reference: packets of the records
/// before it are still appended to `out` (the caller may act on them, then must close the
/// session). After an error every call returns that error again. A successful finish()
/// resets the decoder for a new body.
class payload_decoder {
public:
  explicit payload_decoder(std::size_t max_packets = 10'000);

  /// Consumes `chunk`, appending the packets of the records it completes.
  std::expected<void, decode_error> feed(std::string_view chunk, std::vector<packet>& out);
  /// Ends the body and decodes its last record. An empty body or a trailing `\x1e` is an
  /// empty record, hence decode_error::empty.
  std::expected<void, decode_error> finish(std::vector<packet>& out);

private:
  std::expected<void, decode_error> complete_record(std::vector<packet>& out);
  std::expected<void, decode_error> fail(decode_error error);

  std::size_t max_packets_;
  std::size_t packet_count_ = 0;
  std::string record_;
  std::expected<void, decode_error> state_;
};

/// The whole POST body at once; same rules as payload_decoder.
[[nodiscard]] std::expected<std::vector<packet>, decode_error>
decode_payload(std::string_view body, std::size_t max_packets = 10'000);

/// Standard base64 (RFC 4648 §4: `A–Z a–z 0–9 + /`) with `=` padding.
[[nodiscard]] std::string base64_encode(std::string_view bytes);

/// Standard base64. Padding may be omitted, but if present it must be correct; no white
/// space, no URL-safe alphabet, no data after padding. Unused low bits of the last group
/// are ignored.
[[nodiscard]] std::expected<std::string, decode_error> base64_decode(std::string_view text);

} // namespace parley::engineio

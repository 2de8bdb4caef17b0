#include "engineio/websocket_protocol.hpp"

#include "engineio/packet.hpp"

#include <openssl/evp.h>

namespace parley::engineio {

std::string websocket_accept(std::string_view key) {
  std::string input(key);
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha1(), nullptr) != 1) {
    return {};
  }
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

frame_header::frame_header(std::uint8_t opcode, std::size_t size, bool masked) {
  const std::uint8_t mask_bit = masked ? 0x80 : 0x00;
  data[0] = static_cast<std::uint8_t>(0x80 | opcode);
  if (size < 126) {
    data[1] = static_cast<std::uint8_t>(mask_bit | size);
    length = 2;
  } else if (size <= 0xFFFF) {
    data[1] = mask_bit | 126;
    data[2] = static_cast<std::uint8_t>(size >> 8);
    data[3] = static_cast<std::uint8_t>(size);
    length = 4;
  } else {
    data[1] = mask_bit | 127;
    for (int index = 0; index < 8; ++index) {
      data[2 + index] = static_cast<std::uint8_t>(std::uint64_t{size} >> (56 - 8 * index));
    }
    length = 10;
  }
}

frame_status read_frame_head(std::string_view bytes, bool from_client, bool in_message,
                             std::uint64_t room, frame_head& head) {
  if (bytes.size() < 2) {
    return frame_status::need_more;
  }
  const auto* frame = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if ((frame[0] & 0x70) != 0) {
    return frame_status::bad_reserved_bits;
  }
  const bool masked = (frame[1] & 0x80) != 0;
  if (masked != from_client) {
    return frame_status::bad_masking;
  }
  const std::uint8_t length7 = frame[1] & 0x7F;
  const std::size_t extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
  const std::size_t size = 2 + extended + (masked ? 4 : 0);
  if (bytes.size() < size) {
    return frame_status::need_more;
  }
  std::uint64_t length = extended == 0 ? length7 : 0;
  for (std::size_t index = 0; index < extended; ++index) {
    length = (length << 8) | frame[2 + index];
  }
  head.fin = (frame[0] & 0x80) != 0;
  head.opcode = frame[0] & 0x0F;
  head.length = length;
  head.size = size;
  head.mask = masked ? frame + size - 4 : nullptr;
  if ((head.opcode & 0x8) != 0) {
    if (head.opcode != opcode::close && head.opcode != opcode::ping &&
        head.opcode != opcode::pong) {
      return frame_status::bad_opcode;
    }
    if (!head.fin) {
      return frame_status::control_fragmented;
    }
    if (length > 125) {
      return frame_status::control_too_big;
    }
  } else {
    if (head.opcode != opcode::continuation && head.opcode != opcode::text &&
        head.opcode != opcode::binary) {
      return frame_status::bad_opcode;
    }
    if (head.opcode == opcode::continuation && !in_message) {
      return frame_status::continuation_of_nothing;
    }
    if (head.opcode != opcode::continuation && in_message) {
      return frame_status::data_inside_message;
    }
    if (length > room) {
      return frame_status::too_big;
    }
  }
  return bytes.size() - size < length ? frame_status::need_more : frame_status::whole;
}

} // namespace parley::engineio

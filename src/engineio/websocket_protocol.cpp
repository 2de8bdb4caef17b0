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

} // namespace parley::engineio

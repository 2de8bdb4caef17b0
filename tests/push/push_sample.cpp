// Prints, as one JSON object, what push_verify.py checks with an independent implementation:
// a user agent's key pair and auth secret (as a browser would make them), bodies encrypted for
// it by encrypt(), a VAPID Authorization header made at the current time, and a topic.
#include "push/crypto.hpp"

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

using parley::push::bytes;

bytes text_bytes(std::string_view text) {
  return bytes(text.begin(), text.end());
}

// The fields are base64url, decimal numbers or fixed ASCII: no escaping needed.
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

} // namespace

int main() {
  namespace push = parley::push;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const std::string audience = "https://push.example.net:8443";
  const std::string subject = "mailto:push-test@example.org";

  const push::ec_key ua = push::ec_key::generate();
  bytes auth(16);
  std::random_device random;
  for (unsigned char& byte : auth) {
    byte = static_cast<unsigned char>(random());
  }

  struct sample {
    bytes plaintext;
    std::size_t pad_to;
  };
  bytes largest(push::max_plaintext_size);
  for (std::size_t index = 0; index < largest.size(); ++index) {
    largest[index] = static_cast<unsigned char>(index * 7 + 1);
  }
  const std::vector<sample> samples = {
      {text_bytes("When I grow up, I want to be a watermelon"), 0},
      {{}, 0},
      {text_bytes(R"({"v":1,"conversation_id":"c-42","sender_name":"Zoë","body":"hi"})"), 1024},
      {bytes(10, 0), 0}, // a plaintext ending in zeros: only the delimiter marks its end
      {text_bytes("x"), push::max_padded_size},
      {largest, 0},
  };

  std::string out = "{\n";
  out += "  \"now\": " + std::to_string(now) + ",\n";
  out += "  \"audience\": " + quoted(audience) + ",\n";
  out += "  \"subject\": " + quoted(subject) + ",\n";
  push::vapid_signer signer(push::ec_key::generate(), subject);
  out += "  \"vapid_public\": " + quoted(push::base64url(signer.public_key())) + ",\n";
  out += "  \"authorization\": " + quoted(signer.authorization(audience, now)) + ",\n";
  out += "  \"ua_private\": " + quoted(push::base64url(ua.private_bytes())) + ",\n";
  out += "  \"ua_public\": " + quoted(push::base64url(ua.public_bytes())) + ",\n";
  out += "  \"auth\": " + quoted(push::base64url(auth)) + ",\n";
  out += "  \"topic_key\": \"conversation-42\",\n";
  out += "  \"topic\": " + quoted(push::topic("conversation-42")) + ",\n";
  out += "  \"messages\": [\n";
  for (std::size_t index = 0; index < samples.size(); ++index) {
    push::encrypt_options options;
    options.pad_to = samples[index].pad_to;
    const auto body = push::encrypt(samples[index].plaintext, ua.public_bytes(), auth, options);
    if (!body) {
      std::fprintf(stderr, "encrypt failed: %s\n", body.error().c_str());
      return 1;
    }
    out += "    {\"plaintext\": " + quoted(push::base64url(samples[index].plaintext)) +
           ", \"pad_to\": " + std::to_string(samples[index].pad_to) +
           ", \"body\": " + quoted(push::base64url(*body)) + "}";
    out += index + 1 < samples.size() ? ",\n" : "\n";
  }
  out += "  ]\n}\n";
  std::fputs(out.c_str(), stdout);
  return 0;
}

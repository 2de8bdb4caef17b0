// The Web Push cryptography against RFC 8291's Appendix A, against a user agent's decryption
// written here with OpenSSL's other HKDF interface (EVP_PKEY_HKDF), and against an ES256
// verification of the VAPID tokens. push_verify.py checks the same output with Python's
// `cryptography`, an implementation that shares no code with this one.
#include "push/crypto.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace parley::push {
namespace {

bytes b64(std::string_view text) {
  auto decoded = from_base64url(text);
  EXPECT_TRUE(decoded) << text;
  return decoded.value_or(bytes{});
}

bytes hex(std::string_view text) {
  bytes out;
  for (std::size_t index = 0; index + 1 < text.size(); index += 2) {
    out.push_back(
        static_cast<unsigned char>(std::stoi(std::string(text.substr(index, 2)), nullptr, 16)));
  }
  return out;
}

bytes text_bytes(std::string_view text) {
  return bytes(text.begin(), text.end());
}

std::string text_of(const bytes& data) {
  return std::string(data.begin(), data.end());
}

bytes random_bytes(std::size_t size) {
  bytes out(size);
  EXPECT_EQ(RAND_bytes(out.data(), static_cast<int>(size)), 1);
  return out;
}

// RFC 8291 Appendix A.
namespace rfc {
constexpr std::string_view plaintext = "When I grow up, I want to be a watermelon";
constexpr std::string_view as_private = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr std::string_view as_public =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
constexpr std::string_view ua_private = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
constexpr std::string_view ua_public =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr std::string_view auth_secret = "BTBZMqHH6r4Tts7J_aSIgg";
constexpr std::string_view salt = "DGv6ra1nlYgDCS1FRnbzlw";
constexpr std::string_view body =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS"
    "6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qul"
    "cy4a-fN";
} // namespace rfc

// P-256's order n and generator G (SEC 2).
const bytes order = hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
const bytes generator =
    hex("046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A"
        "7C0F9E162BCE33576B315ECECBB6406837BF51F5");

template <auto free_function> struct deleter {
  template <typename T> void operator()(T* pointer) const { free_function(pointer); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, deleter<EVP_PKEY_CTX_free>>;

// A P-256 public key from its 65 bytes, by OSSL_PARAMs (encrypt() copies a template instead).
pkey_ptr public_pkey(const bytes& point) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("P-256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<unsigned char*>(point.data()), point.size()),
      OSSL_PARAM_construct_end()};
  pkey_ctx_ptr context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!context || EVP_PKEY_fromdata_init(context.get()) <= 0 ||
      EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    return nullptr;
  }
  return pkey_ptr(key);
}

// HKDF-SHA-256 through the EVP_PKEY interface (encrypt() uses EVP_KDF).
bytes hkdf(const bytes& salt, std::span<const unsigned char> key, const bytes& info,
           std::size_t length) {
  pkey_ctx_ptr context(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  bytes out(length);
  std::size_t out_length = length;
  if (!context || EVP_PKEY_derive_init(context.get()) <= 0 ||
      EVP_PKEY_CTX_set_hkdf_md(context.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_salt(context.get(), salt.data(), static_cast<int>(salt.size())) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(context.get(), key.data(), static_cast<int>(key.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(context.get(), info.data(), static_cast<int>(info.size())) <= 0 ||
      EVP_PKEY_derive(context.get(), out.data(), &out_length) <= 0 || out_length != length) {
    ADD_FAILURE() << "HKDF failed";
  }
  return out;
}

bytes with_label(std::string_view label, std::initializer_list<const bytes*> parts = {}) {
  bytes out(label.begin(), label.end());
  out.push_back(0);
  for (const bytes* part : parts) {
    out.insert(out.end(), part->begin(), part->end());
  }
  return out;
}

// What the user agent does with a push message (RFC 8291 §3, RFC 8188 §2): the plaintext, or an
// explanation of why the body is refused.
std::expected<bytes, std::string> ua_decrypt(const bytes& body, const ec_key& ua,
                                             const bytes& auth) {
  if (body.size() < 86 + 16 + 1) {
    return std::unexpected("too short");
  }
  const bytes salt(body.begin(), body.begin() + 16);
  const std::uint32_t rs = (std::uint32_t{body[16]} << 24) | (std::uint32_t{body[17]} << 16) |
                           (std::uint32_t{body[18]} << 8) | body[19];
  if (rs != 4096 || body[20] != 65 || body.size() - 86 > rs) {
    return std::unexpected("bad header");
  }
  const bytes as_public(body.begin() + 21, body.begin() + 86);

  const pkey_ptr peer = public_pkey(as_public);
  if (!peer) {
    return std::unexpected("bad keyid");
  }
  pkey_ctx_ptr derive(EVP_PKEY_CTX_new_from_pkey(nullptr, ua.get(), nullptr));
  bytes shared(32);
  std::size_t shared_length = shared.size();
  if (EVP_PKEY_derive_init(derive.get()) <= 0 ||
      EVP_PKEY_derive_set_peer(derive.get(), peer.get()) <= 0 ||
      EVP_PKEY_derive(derive.get(), shared.data(), &shared_length) <= 0 || shared_length != 32) {
    return std::unexpected("ECDH failed");
  }
  const bytes& ua_public = ua.public_bytes();
  const bytes ikm = hkdf(auth, shared, with_label("WebPush: info", {&ua_public, &as_public}), 32);
  const bytes cek = hkdf(salt, ikm, with_label("Content-Encoding: aes128gcm"), 16);
  const bytes nonce = hkdf(salt, ikm, with_label("Content-Encoding: nonce"), 12);

  const std::size_t length = body.size() - 86 - 16;
  bytes record(length);
  bytes tag(body.end() - 16, body.end());
  std::unique_ptr<EVP_CIPHER_CTX, deleter<EVP_CIPHER_CTX_free>> cipher(EVP_CIPHER_CTX_new());
  int written = 0;
  int final_written = 0;
  if (EVP_DecryptInit_ex(cipher.get(), EVP_aes_128_gcm(), nullptr, cek.data(), nonce.data()) != 1 ||
      EVP_DecryptUpdate(cipher.get(), record.data(), &written, body.data() + 86,
                        static_cast<int>(length)) != 1 ||
      EVP_CIPHER_CTX_ctrl(cipher.get(), EVP_CTRL_AEAD_SET_TAG, 16, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(cipher.get(), record.data() + written, &final_written) != 1) {
    return std::unexpected("authentication failed");
  }
  // The last record: the plaintext, 0x02, then only zeros.
  const auto delimiter =
      std::find_if(record.rbegin(), record.rend(), [](unsigned char byte) { return byte != 0; });
  if (delimiter == record.rend() || *delimiter != 0x02) {
    return std::unexpected("bad delimiter");
  }
  record.resize(static_cast<std::size_t>(record.rend() - delimiter) - 1);
  return record;
}

ec_key key_of(std::string_view private_text) {
  auto key = ec_key::from_private(b64(private_text));
  if (!key) {
    ADD_FAILURE() << "from_private refused " << private_text;
    return ec_key::generate();
  }
  return std::move(*key);
}

// encrypt(), then ua_decrypt(): the body, once it has proved to decrypt to `message`.
bytes sealed(const bytes& message, const ec_key& ua, const bytes& auth,
             const encrypt_options& options = {}) {
  const auto body = encrypt(message, ua.public_bytes(), auth, options);
  if (!body) {
    ADD_FAILURE() << body.error();
    return {};
  }
  const auto plaintext = ua_decrypt(*body, ua, auth);
  EXPECT_EQ(plaintext, message) << (plaintext ? "" : plaintext.error());
  return *body;
}

std::array<unsigned char, 16> salt_of(std::string_view text) {
  std::array<unsigned char, 16> salt{};
  const bytes decoded = b64(text);
  EXPECT_EQ(decoded.size(), salt.size());
  std::copy_n(decoded.begin(), std::min(decoded.size(), salt.size()), salt.begin());
  return salt;
}

// ------------------------------------------------------------------------------ encryption

TEST(push_crypto, reproduces_rfc8291_appendix_a) {
  const ec_key as = key_of(rfc::as_private);
  const ec_key ua = key_of(rfc::ua_private);
  EXPECT_EQ(base64url(as.public_bytes()), rfc::as_public);
  EXPECT_EQ(base64url(ua.public_bytes()), rfc::ua_public);
  EXPECT_EQ(base64url(as.private_bytes()), rfc::as_private);

  encrypt_options options;
  options.ephemeral = &as;
  options.salt = salt_of(rfc::salt);
  const auto body =
      encrypt(text_bytes(rfc::plaintext), ua.public_bytes(), b64(rfc::auth_secret), options);
  ASSERT_TRUE(body) << body.error();
  EXPECT_EQ(base64url(*body), rfc::body);
  EXPECT_EQ(*body, b64(rfc::body));

  // And the appendix's body decrypts here: the decryption below is the user agent's.
  const auto plaintext = ua_decrypt(b64(rfc::body), ua, b64(rfc::auth_secret));
  ASSERT_TRUE(plaintext) << plaintext.error();
  EXPECT_EQ(text_of(*plaintext), rfc::plaintext);
}

TEST(push_crypto, round_trips_with_a_fresh_key_and_salt_each_time) {
  const ec_key ua = ec_key::generate();
  const bytes auth = random_bytes(16);
  const bytes message = text_bytes(R"({"v":1,"conversation_id":"c1","body":"héllo"})");

  const bytes first = sealed(message, ua, auth);
  const bytes second = sealed(message, ua, auth);
  ASSERT_EQ(first.size(), 86 + message.size() + 1 + 16);
  EXPECT_EQ(bytes(first.begin() + 16, first.begin() + 21), (bytes{0x00, 0x00, 0x10, 0x00, 65}));
  EXPECT_TRUE(is_valid_public_key(std::span(first).subspan(21, 65)));
  EXPECT_FALSE(std::equal(first.begin(), first.begin() + 16, second.begin())) << "same salt";
  EXPECT_FALSE(std::equal(first.begin() + 21, first.begin() + 86, second.begin() + 21))
      << "same ephemeral key";

  // Another auth secret or another key pair cannot read it, nor a changed body.
  EXPECT_FALSE(ua_decrypt(first, ua, random_bytes(16)));
  EXPECT_FALSE(ua_decrypt(first, ec_key::generate(), auth));
  bytes tampered = first;
  tampered[90] ^= 1;
  EXPECT_FALSE(ua_decrypt(tampered, ua, auth));

  EXPECT_EQ(sealed({}, ua, auth).size(), 86u + 1 + 16);
}

TEST(push_crypto, pads_to_the_requested_size) {
  const ec_key ua = ec_key::generate();
  const bytes auth = random_bytes(16);
  const bytes message = text_bytes("short");
  for (const std::size_t pad_to :
       {std::size_t{6}, std::size_t{7}, std::size_t{1024}, max_padded_size}) {
    encrypt_options options;
    options.pad_to = pad_to;
    EXPECT_EQ(sealed(message, ua, auth, options).size(), 86 + pad_to + 16) << pad_to;
  }
  EXPECT_EQ(86 + max_padded_size + 16, 4096u);

  // Already longer than pad_to (with the delimiter): no padding, no truncation.
  encrypt_options small;
  small.pad_to = 3;
  EXPECT_EQ(sealed(message, ua, auth, small).size(), 86 + message.size() + 1 + 16);

  encrypt_options too_much;
  too_much.pad_to = max_padded_size + 1;
  EXPECT_FALSE(encrypt(message, ua.public_bytes(), auth, too_much));
}

TEST(push_crypto, takes_3993_bytes_and_refuses_3994) {
  const ec_key ua = ec_key::generate();
  const bytes auth = random_bytes(16);
  EXPECT_EQ(sealed(random_bytes(3993), ua, auth).size(), 4096u);

  const auto refused = encrypt(random_bytes(3994), ua.public_bytes(), auth);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("3993"), std::string::npos) << refused.error();
}

TEST(push_crypto, refuses_invalid_keys_and_auth_secrets) {
  const ec_key ua = ec_key::generate();
  const bytes& good = ua.public_bytes();
  const bytes auth = random_bytes(16);
  EXPECT_TRUE(is_valid_public_key(good));
  EXPECT_TRUE(is_valid_public_key(generator));

  std::vector<bytes> invalid;
  invalid.emplace_back();                             // empty
  invalid.emplace_back(good.begin(), good.end() - 1); // 64 bytes
  invalid.push_back(good);                            // 66 bytes
  invalid.back().push_back(0);
  bytes compressed(good.begin(), good.begin() + 33); // 0x02/0x03 || X
  compressed[0] = static_cast<unsigned char>(0x02 + (good[64] & 1));
  invalid.push_back(compressed);
  for (const unsigned char prefix : {0x02, 0x03, 0x06, 0x07, 0x00}) {
    bytes wrong_prefix = good; // 65 bytes, not 0x04
    wrong_prefix[0] = prefix;
    invalid.push_back(wrong_prefix);
  }
  bytes off_curve = good; // Y + 1: not on P-256
  off_curve[64] ^= 1;
  invalid.push_back(off_curve);
  invalid.emplace_back(65, 0); // all zeros
  bytes origin(65, 0);         // 0x04 || (0, 0)
  origin[0] = 0x04;
  invalid.push_back(origin);
  bytes large = generator; // X = p, out of range
  std::fill(large.begin() + 1, large.end(), 0xFF);
  invalid.push_back(large);

  for (const bytes& point : invalid) {
    EXPECT_FALSE(is_valid_public_key(point)) << base64url(point);
    const auto refused = encrypt(text_bytes("hello"), point, auth);
    ASSERT_FALSE(refused) << base64url(point);
    EXPECT_NE(refused.error().find("public key"), std::string::npos) << refused.error();
  }

  for (const std::size_t size : {0, 15, 17, 32}) {
    const auto refused = encrypt(text_bytes("hello"), good, random_bytes(size));
    ASSERT_FALSE(refused) << size;
    EXPECT_NE(refused.error().find("auth"), std::string::npos) << refused.error();
  }
}

TEST(push_crypto, encrypts_on_many_threads_at_once) {
  const ec_key ua = ec_key::generate();
  const bytes auth = random_bytes(16);
  std::vector<std::jthread> threads;
  for (int index = 0; index < 4; ++index) {
    threads.emplace_back([&, index] {
      for (int round = 0; round < 10; ++round) { // gtest's assertions are thread-safe
        sealed(text_bytes(std::to_string(index) + "/" + std::to_string(round)), ua, auth);
      }
    });
  }
}

// ------------------------------------------------------------------------------------- keys

TEST(push_crypto, from_private_takes_exactly_the_scalars_from_1_to_n_minus_1) {
  EXPECT_FALSE(ec_key::from_private(bytes(32, 0)));
  EXPECT_FALSE(ec_key::from_private(order));
  bytes above = order;
  above[31] += 1;
  EXPECT_FALSE(ec_key::from_private(above));
  EXPECT_FALSE(ec_key::from_private(bytes(32, 0xFF)));
  EXPECT_FALSE(ec_key::from_private(bytes(31, 1)));
  EXPECT_FALSE(ec_key::from_private(bytes(33, 1)));

  bytes one(32, 0);
  one[31] = 1;
  const auto unit = ec_key::from_private(one);
  ASSERT_TRUE(unit);
  EXPECT_EQ(unit->public_bytes(), generator);
  EXPECT_EQ(unit->private_bytes(), one);

  bytes last = order;
  last[31] -= 1; // n - 1: the public key is -G, G with Y negated
  const auto minus_one = ec_key::from_private(last);
  ASSERT_TRUE(minus_one);
  EXPECT_TRUE(
      std::equal(generator.begin(), generator.begin() + 33, minus_one->public_bytes().begin()));
  EXPECT_NE(minus_one->public_bytes(), generator);
  EXPECT_TRUE(is_valid_public_key(minus_one->public_bytes()));
}

TEST(push_crypto, generated_keys_survive_their_private_bytes_and_moves) {
  ec_key key = ec_key::generate();
  ASSERT_EQ(key.public_bytes().size(), 65u);
  EXPECT_TRUE(is_valid_public_key(key.public_bytes()));
  const bytes scalar = key.private_bytes();
  ASSERT_EQ(scalar.size(), 32u);
  const auto again = ec_key::from_private(scalar);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->public_bytes(), key.public_bytes());
  EXPECT_NE(ec_key::generate().public_bytes(), key.public_bytes());

  const bytes public_key = key.public_bytes();
  ec_key moved = std::move(key);
  EXPECT_EQ(moved.public_bytes(), public_key);
  EXPECT_NE(moved.get(), nullptr);
  EXPECT_EQ(key.get(), nullptr); // NOLINT(bugprone-use-after-move): the documented empty state
  EXPECT_TRUE(key.public_bytes().empty());
  key = std::move(moved);
  EXPECT_EQ(key.public_bytes(), public_key);
  EXPECT_EQ(key.private_bytes(), scalar);
}

// -------------------------------------------------------------------------------- base64url

TEST(push_base64url, encodes_rfc4648_vectors_without_padding) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64url(text_bytes(plain)), encoded);
    EXPECT_EQ(from_base64url(encoded), text_bytes(plain)) << encoded;
  }
  const bytes url_alphabet = {0xFB, 0xFF, 0xBF};
  EXPECT_EQ(base64url(url_alphabet), "-_-_");
  EXPECT_EQ(from_base64url("-_-_"), url_alphabet);
}

TEST(push_base64url, accepts_complete_padding) {
  EXPECT_EQ(from_base64url("Zg=="), text_bytes("f"));
  EXPECT_EQ(from_base64url("Zm8="), text_bytes("fo"));
  EXPECT_EQ(from_base64url("Zm9vYg=="), text_bytes("foob"));
}

TEST(push_base64url, refuses_anything_else) {
  for (const std::string_view text :
       {"Z", "Zm9vY", "Zg=", "Zg===", "Z===", "====", "=", "Zm8==", "Zm9v=", "=Zg",
        "Zg==Zg==", "Z=g=", "Zm+v", "Zm/v", "Zm9 v", "Zm9\n", "Zh", "Zm9", "Zm9vYh=="}) {
    EXPECT_FALSE(from_base64url(text)) << text;
  }
  EXPECT_FALSE(from_base64url(std::string_view("Zm9v\0", 5)));
  EXPECT_FALSE(from_base64url("Zm9\xC3\xA9"));
}

TEST(push_base64url, round_trips_every_length) {
  for (std::size_t size = 0; size <= 70; ++size) {
    const bytes data = random_bytes(size);
    const std::string text = base64url(data);
    EXPECT_EQ(text.size(), (size * 4 + 2) / 3);
    EXPECT_EQ(
        text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    EXPECT_EQ(from_base64url(text), data) << text;
  }
}

// ------------------------------------------------------------------------------------ topic

TEST(push_topic, is_22_base64url_characters_of_sha256) {
  EXPECT_EQ(topic("abc"), "ungWv48Bz-pBQUDeXa4iIw"); // SHA-256("abc") = ba7816bf 8f01cfea …
  EXPECT_EQ(topic(""), "47DEQpj8HBSa-_TImW-5JA");
  std::set<std::string> seen;
  for (int index = 0; index < 50; ++index) {
    const std::string value = topic("conversation-" + std::to_string(index));
    EXPECT_EQ(value.size(), 22u);
    EXPECT_LE(value.size(), 32u);
    EXPECT_EQ(
        value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    EXPECT_EQ(value, topic("conversation-" + std::to_string(index)));
    seen.insert(value);
  }
  EXPECT_EQ(seen.size(), 50u);
}

// -------------------------------------------------------------------------------------- VAPID

struct parsed_authorization {
  std::string token;
  std::string key;
};

parsed_authorization parse(const std::string& header) {
  const std::string prefix = "vapid t=";
  const auto comma = header.find(", k=");
  EXPECT_TRUE(header.starts_with(prefix)) << header;
  EXPECT_NE(comma, std::string::npos) << header;
  if (!header.starts_with(prefix) || comma == std::string::npos) {
    return {};
  }
  return {header.substr(prefix.size(), comma - prefix.size()), header.substr(comma + 4)};
}

std::vector<std::string> split(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (auto dot = token.find('.'); dot != std::string::npos; dot = token.find('.', start)) {
    parts.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(token.substr(start));
  return parts;
}

// ES256 verification: raw r || s back to DER, then EVP_DigestVerify with the public key.
bool verify_es256(const std::string& token, const bytes& public_key) {
  const auto dot = token.rfind('.');
  if (dot == std::string::npos) {
    return false;
  }
  const auto signature = from_base64url(std::string_view(token).substr(dot + 1));
  if (!signature || signature->size() != 64) {
    return false;
  }
  std::unique_ptr<ECDSA_SIG, deleter<ECDSA_SIG_free>> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(signature->data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(signature->data() + 32, 32, nullptr);
  ECDSA_SIG_set0(sig.get(), r, s);
  unsigned char* der = nullptr;
  const int der_length = i2d_ECDSA_SIG(sig.get(), &der);
  const auto free_der = [](unsigned char* pointer) { OPENSSL_free(pointer); };
  std::unique_ptr<unsigned char, decltype(free_der)> der_owner(der, free_der);
  const pkey_ptr key = public_pkey(public_key);
  if (der_length <= 0 || !key) {
    return false;
  }
  std::unique_ptr<EVP_MD_CTX, deleter<EVP_MD_CTX_free>> context(EVP_MD_CTX_new());
  return EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
         EVP_DigestVerify(context.get(), der, static_cast<std::size_t>(der_length),
                          reinterpret_cast<const unsigned char*>(token.data()), dot) == 1;
}

constexpr std::int64_t t0 = 1'700'000'000;

TEST(push_vapid, token_is_an_es256_jwt_with_the_claims) {
  vapid_signer signer(ec_key::generate(), "mailto:ops@example.org");
  const std::string token = signer.token("https://push.example.net", t0 + 43200);
  const auto parts = split(token);
  ASSERT_EQ(parts.size(), 3u) << token;
  EXPECT_EQ(text_of(b64(parts[0])), R"({"typ":"JWT","alg":"ES256"})");
  EXPECT_EQ(
      text_of(b64(parts[1])),
      R"({"aud":"https://push.example.net","exp":1700043200,"sub":"mailto:ops@example.org"})");
  EXPECT_EQ(b64(parts[2]).size(), 64u);
  EXPECT_TRUE(verify_es256(token, signer.public_key()));

  // A changed claim or signature no longer verifies; another key does not verify it.
  std::string forged = token;
  forged[parts[0].size() + 3] = forged[parts[0].size() + 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_es256(forged, signer.public_key()));
  EXPECT_FALSE(verify_es256(token, ec_key::generate().public_bytes()));

  // Text in the claims is JSON-escaped.
  const std::string odd = signer.token("https://a\"b\\c\x01", 1);
  EXPECT_EQ(text_of(b64(split(odd)[1])),
            R"({"aud":"https://a\"b\\c\u0001","exp":1,"sub":"mailto:ops@example.org"})");
}

TEST(push_vapid, authorization_names_the_token_and_the_key) {
  const ec_key key = key_of(rfc::as_private);
  vapid_signer signer(*ec_key::from_private(key.private_bytes()), "https://parley.example/");
  EXPECT_EQ(signer.public_key(), b64(rfc::as_public));
  const auto [token, public_text] = parse(signer.authorization("https://push.example.net", t0));
  EXPECT_EQ(public_text, rfc::as_public);
  EXPECT_TRUE(verify_es256(token, signer.public_key()));
  EXPECT_EQ(
      text_of(b64(split(token)[1])),
      R"({"aud":"https://push.example.net","exp":1700043200,"sub":"https://parley.example/"})");
}

TEST(push_vapid, caches_one_token_per_audience_until_an_hour_is_left) {
  vapid_signer signer(ec_key::generate(), "mailto:ops@example.org");
  const std::string audience = "https://fcm.googleapis.com";
  const std::string first = signer.authorization(audience, t0);
  EXPECT_EQ(signer.authorization(audience, t0), first);
  EXPECT_EQ(signer.authorization(audience, t0 + 600), first);
  EXPECT_EQ(signer.authorization(audience, t0 + 43200 - 3600), first); // an hour left: kept

  const std::string other = signer.authorization("https://updates.push.services.mozilla.com", t0);
  EXPECT_NE(other, first);
  EXPECT_NE(text_of(b64(split(parse(other).token)[1])).find("mozilla"), std::string::npos);
  EXPECT_EQ(signer.authorization(audience, t0 + 1), first); // the other audience changed nothing

  const std::string renewed = signer.authorization(audience, t0 + 43200 - 3599);
  EXPECT_NE(renewed, first);
  EXPECT_NE(text_of(b64(split(parse(renewed).token)[1])).find("\"exp\":1700082801,"),
            std::string::npos);
  EXPECT_EQ(signer.authorization(audience, t0 + 43200), renewed);
  EXPECT_TRUE(verify_es256(parse(renewed).token, signer.public_key()));

  // The clock went back by more than the token's life: its exp would be too far ahead.
  EXPECT_NE(signer.authorization(audience, t0 - 1), renewed);
}

TEST(push_vapid, concurrent_callers_share_one_token) {
  vapid_signer signer(ec_key::generate(), "mailto:ops@example.org");
  std::vector<std::string> results(8);
  {
    std::vector<std::jthread> threads;
    for (std::size_t index = 0; index < results.size(); ++index) {
      threads.emplace_back([&, index] {
        for (int round = 0; round < 20; ++round) {
          results[index] = signer.authorization("https://web.push.apple.com", t0 + round);
        }
      });
    }
  }
  for (const std::string& result : results) {
    EXPECT_EQ(result, results.front());
  }
  EXPECT_TRUE(verify_es256(parse(results.front()).token, signer.public_key()));
}

TEST(push_vapid, refuses_a_subject_that_is_not_a_contact) {
  for (const std::string subject : {"", "ops@example.org", "mailto:", "http://example.org",
                                    "https://", "MAILTO:ops@example.org"}) {
    EXPECT_THROW(vapid_signer(ec_key::generate(), subject), std::invalid_argument) << subject;
  }
  ec_key key = ec_key::generate();
  const ec_key taken = std::move(key);
  EXPECT_THROW(vapid_signer(std::move(key), "mailto:ops@example.org"), std::invalid_argument);
}

} // namespace
} // namespace parley::push

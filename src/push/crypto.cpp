#include "push/crypto.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

namespace parley::push {

namespace {

template <auto free_function> struct openssl_deleter {
  template <typename T> void operator()(T* pointer) const { free_function(pointer); }
};
template <typename T, auto free_function>
using openssl_ptr = std::unique_ptr<T, openssl_deleter<free_function>>;

using pkey_ptr = openssl_ptr<EVP_PKEY, EVP_PKEY_free>;
using pkey_ctx_ptr = openssl_ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using bn_ptr = openssl_ptr<BIGNUM, BN_clear_free>;
using bn_ctx_ptr = openssl_ptr<BN_CTX, BN_CTX_free>;
using point_ptr = openssl_ptr<EC_POINT, EC_POINT_free>;
using group_ptr = openssl_ptr<EC_GROUP, EC_GROUP_free>;
using kdf_ptr = openssl_ptr<EVP_KDF, EVP_KDF_free>;
using kdf_ctx_ptr = openssl_ptr<EVP_KDF_CTX, EVP_KDF_CTX_free>;
using cipher_ptr = openssl_ptr<EVP_CIPHER, EVP_CIPHER_free>;
using cipher_ctx_ptr = openssl_ptr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using md_ptr = openssl_ptr<EVP_MD, EVP_MD_free>;
using md_ctx_ptr = openssl_ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using ecdsa_sig_ptr = openssl_ptr<ECDSA_SIG, ECDSA_SIG_free>;
using param_bld_ptr = openssl_ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using params_ptr = openssl_ptr<OSSL_PARAM, OSSL_PARAM_free>; // clears the secure (BN) part

// OpenSSL failed where valid input cannot make it fail: its reason, then an exception.
[[noreturn]] void fail(const char* what) {
  std::string message = std::string("push crypto: ") + what + " failed";
  if (const unsigned long code = ERR_get_error(); code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    message += ": ";
    message += reason;
  }
  ERR_clear_error();
  throw std::runtime_error(message);
}

// Zeroes secrets on the stack when the scope ends, also on a throw.
class cleanse_on_exit {
public:
  explicit cleanse_on_exit(std::span<unsigned char> secret) : secret_(secret) {}
  ~cleanse_on_exit() { OPENSSL_cleanse(secret_.data(), secret_.size()); }
  cleanse_on_exit(const cleanse_on_exit&) = delete;
  cleanse_on_exit& operator=(const cleanse_on_exit&) = delete;

private:
  std::span<unsigned char> secret_;
};

// Both are only read by OpenSSL; the parameters want `char*`.
char group_name[] = "prime256v1";
char digest_name[] = "SHA256";

constexpr std::size_t point_size = 65;
constexpr std::size_t scalar_size = 32;
constexpr std::size_t auth_size = 16;
constexpr std::size_t salt_size = 16;
constexpr std::size_t key_size = 16;   // AES-128
constexpr std::size_t nonce_size = 12; // the GCM default
constexpr std::uint32_t record_size = 4096;

// A parameters-only P-256 key: the template of every key made here. Creating P-256 from its
// name costs about as much as half a scalar multiplication; copying it from here does not.
EVP_PKEY* p256_parameters() {
  pkey_ctx_ptr context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* parameters = nullptr;
  if (!context || EVP_PKEY_paramgen_init(context.get()) <= 0 ||
      EVP_PKEY_CTX_set_group_name(context.get(), group_name) <= 0 ||
      EVP_PKEY_paramgen(context.get(), &parameters) <= 0) {
    fail("creating the P-256 parameters");
  }
  return parameters;
}

// What every thread shares, made once and then only read: explicit fetches, so that no
// operation fetches its algorithm again (EVP_aes_128_gcm() and friends would, on each
// initialisation).
struct algorithms {
  group_ptr group{EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)};
  pkey_ptr parameters{p256_parameters()};
  kdf_ptr hkdf{EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr)};
  cipher_ptr aes_gcm{EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr)};
  md_ptr sha256{EVP_MD_fetch(nullptr, digest_name, nullptr)};

  algorithms() {
    if (!group || !parameters || !hkdf || !aes_gcm || !sha256) {
      fail("loading P-256, HKDF, AES-128-GCM and SHA-256");
    }
  }
};

const algorithms& shared() {
  static const algorithms instance; // a throw leaves it to the next call
  return instance;
}

// What each thread keeps for itself (OpenSSL contexts are not to be shared); neither holds a
// secret between calls.
struct thread_contexts {
  bn_ctx_ptr bn;
  pkey_ctx_ptr keygen; // P-256 key generation
};
thread_local thread_contexts contexts;

BN_CTX* bn_context() {
  if (!contexts.bn) {
    contexts.bn.reset(BN_CTX_new());
    if (!contexts.bn) {
      fail("BN_CTX_new");
    }
  }
  return contexts.bn.get();
}

EVP_PKEY_CTX* keygen_context() {
  if (!contexts.keygen) {
    pkey_ctx_ptr context(EVP_PKEY_CTX_new_from_pkey(nullptr, shared().parameters.get(), nullptr));
    if (!context || EVP_PKEY_keygen_init(context.get()) <= 0) {
      fail("setting up P-256 key generation");
    }
    contexts.keygen = std::move(context);
  }
  return contexts.keygen.get();
}

// The uncompressed public key of an EC key.
bytes public_of(EVP_PKEY* key) {
  bytes point(point_size);
  std::size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(),
                                      &length) <= 0 ||
      length != point_size || point[0] != 0x04) {
    fail("reading an EC public key");
  }
  return point;
}

// An EVP_PKEY for a public key that is_valid_public_key() accepted.
pkey_ptr public_key_of(std::span<const unsigned char> point) {
  pkey_ptr key(EVP_PKEY_new());
  if (!key || EVP_PKEY_copy_parameters(key.get(), shared().parameters.get()) != 1 ||
      EVP_PKEY_set1_encoded_public_key(key.get(), point.data(), point.size()) != 1) {
    fail("importing an EC public key");
  }
  return key;
}

// ECDH on P-256: the X coordinate of own * peer.
void ecdh(EVP_PKEY* own, EVP_PKEY* peer, std::span<unsigned char, scalar_size> secret) {
  pkey_ctx_ptr context(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  std::size_t length = secret.size();
  // The peer was checked (on the curve; P-256's cofactor is 1, so that is all there is to
  // check): no second, full check, which would cost another scalar multiplication.
  if (!context || EVP_PKEY_derive_init(context.get()) <= 0 ||
      EVP_PKEY_derive_set_peer_ex(context.get(), peer, 0) <= 0 ||
      EVP_PKEY_derive(context.get(), secret.data(), &length) <= 0 || length != secret.size()) {
    fail("ECDH");
  }
}

// HKDF-SHA-256 (RFC 5869), extract and expand, into `out`.
void hkdf(EVP_KDF_CTX* context, std::span<const unsigned char> salt,
          std::span<const unsigned char> key, std::span<const unsigned char> info,
          std::span<unsigned char> out) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                        const_cast<unsigned char*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(key.data()),
                                        key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                        const_cast<unsigned char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  if (EVP_KDF_derive(context, out.data(), out.size(), params) <= 0) {
    fail("HKDF");
  }
}

template <std::size_t N> std::span<const unsigned char> label(const char (&text)[N]) {
  // The terminating NUL belongs to the info strings of RFC 8291.
  return {reinterpret_cast<const unsigned char*>(text), N};
}

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<signed char, 256> decoding_table() {
  std::array<signed char, 256> table{};
  table.fill(-1);
  for (int index = 0; index < 64; ++index) {
    table[static_cast<unsigned char>(alphabet[index])] = static_cast<signed char>(index);
  }
  return table;
}
constexpr auto decoding = decoding_table();

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

std::span<const unsigned char> text_bytes(std::string_view text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

} // namespace

// ---------------------------------------------------------------------------------- base64url

std::string base64url(std::span<const unsigned char> data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::size_t index = 0;
  for (; index + 3 <= data.size(); index += 3) {
    const std::uint32_t group = (std::uint32_t{data[index]} << 16) |
                                (std::uint32_t{data[index + 1]} << 8) | data[index + 2];
    out += alphabet[group >> 18];
    out += alphabet[(group >> 12) & 63];
    out += alphabet[(group >> 6) & 63];
    out += alphabet[group & 63];
  }
  if (const std::size_t rest = data.size() - index; rest > 0) {
    std::uint32_t group = std::uint32_t{data[index]} << 16;
    if (rest == 2) {
      group |= std::uint32_t{data[index + 1]} << 8;
    }
    out += alphabet[group >> 18];
    out += alphabet[(group >> 12) & 63];
    if (rest == 2) {
      out += alphabet[(group >> 6) & 63];
    }
  }
  return out;
}

std::optional<bytes> from_base64url(std::string_view text) {
  if (text.size() % 4 == 0 && !text.empty()) {
    // Complete padding only: "xx==" or "xxx=".
    std::size_t padding = 0;
    while (padding < 2 && text[text.size() - 1 - padding] == '=') {
      ++padding;
    }
    text.remove_suffix(padding);
  }
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t group = 0;
  int bits = 0;
  for (const char c : text) {
    const signed char value = decoding[static_cast<unsigned char>(c)];
    if (value < 0) {
      return std::nullopt; // includes a '=' anywhere else
    }
    group = (group << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>(group >> bits));
      group &= (1u << bits) - 1;
    }
  }
  if (group != 0) {
    return std::nullopt; // non-zero unused bits: not what an encoder writes
  }
  return out;
}

// ------------------------------------------------------------------------------------- ec_key

ec_key ec_key::generate() {
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_generate(keygen_context(), &key) <= 0) {
    fail("P-256 key generation");
  }
  pkey_ptr owned(key);
  bytes point = public_of(key);
  return ec_key(owned.release(), std::move(point));
}

std::optional<ec_key> ec_key::from_private(std::span<const unsigned char> scalar32) {
  if (scalar32.size() != scalar_size) {
    return std::nullopt;
  }
  const EC_GROUP* group = shared().group.get();
  bn_ptr scalar(BN_secure_new());
  if (!scalar ||
      BN_bin2bn(scalar32.data(), static_cast<int>(scalar32.size()), scalar.get()) == nullptr) {
    fail("BN_bin2bn");
  }
  if (BN_is_zero(scalar.get()) || BN_cmp(scalar.get(), EC_GROUP_get0_order(group)) >= 0) {
    return std::nullopt;
  }
  BN_set_flags(scalar.get(), BN_FLG_CONSTTIME);

  point_ptr point(EC_POINT_new(group));
  unsigned char encoded[point_size];
  if (!point ||
      EC_POINT_mul(group, point.get(), scalar.get(), nullptr, nullptr, bn_context()) != 1 ||
      EC_POINT_point2oct(group, point.get(), POINT_CONVERSION_UNCOMPRESSED, encoded, sizeof encoded,
                         bn_context()) != sizeof encoded) {
    fail("deriving a P-256 public key");
  }

  param_bld_ptr builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, group_name, 0) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, encoded,
                                       sizeof encoded) != 1) {
    fail("building EC key parameters");
  }
  params_ptr params(OSSL_PARAM_BLD_to_param(builder.get()));
  pkey_ctx_ptr context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) <= 0 ||
      EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_KEYPAIR, params.get()) <= 0) {
    fail("importing a P-256 key pair");
  }
  return ec_key(key, bytes(encoded, encoded + sizeof encoded));
}

ec_key::ec_key(ec_key&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)), public_(std::move(other.public_)) {
  other.public_.clear();
}

ec_key& ec_key::operator=(ec_key&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
    public_ = std::move(other.public_);
    other.public_.clear();
  }
  return *this;
}

ec_key::~ec_key() {
  EVP_PKEY_free(key_);
}

bytes ec_key::private_bytes() const {
  if (key_ == nullptr) {
    throw std::logic_error("push crypto: private_bytes() of an empty key");
  }
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key_, OSSL_PKEY_PARAM_PRIV_KEY, &raw) <= 0) {
    fail("reading a private key");
  }
  bn_ptr scalar(raw);
  bytes out(scalar_size);
  if (BN_bn2binpad(scalar.get(), out.data(), static_cast<int>(out.size())) !=
      static_cast<int>(scalar_size)) {
    fail("BN_bn2binpad");
  }
  return out;
}

bool is_valid_public_key(std::span<const unsigned char> point) {
  if (point.size() != point_size || point[0] != 0x04) {
    return false;
  }
  const EC_GROUP* group = shared().group.get();
  point_ptr decoded(EC_POINT_new(group));
  if (!decoded) {
    fail("EC_POINT_new");
  }
  // oct2point checks that the point is on the curve; the explicit check keeps this function's
  // contract independent of that.
  const bool valid =
      EC_POINT_oct2point(group, decoded.get(), point.data(), point.size(), bn_context()) == 1 &&
      EC_POINT_is_on_curve(group, decoded.get(), bn_context()) == 1 &&
      EC_POINT_is_at_infinity(group, decoded.get()) == 0;
  ERR_clear_error(); // a refused point leaves OpenSSL's reason behind
  return valid;
}

// ------------------------------------------------------------------------------------ encrypt

std::expected<bytes, std::string> encrypt(std::span<const unsigned char> plaintext,
                                          std::span<const unsigned char> ua_public,
                                          std::span<const unsigned char> auth_secret,
                                          const encrypt_options& options) {
  if (!is_valid_public_key(ua_public)) {
    return std::unexpected("The subscription's public key is not a P-256 point.");
  }
  if (auth_secret.size() != auth_size) {
    return std::unexpected("The subscription's auth secret is not 16 bytes.");
  }
  if (plaintext.size() > max_plaintext_size) {
    return std::unexpected("The message is over 3993 bytes, too long for one 4096-byte record.");
  }
  if (options.pad_to > max_padded_size) {
    return std::unexpected("The padding is over 3994 bytes, more than one 4096-byte record.");
  }
  const algorithms& algorithms = shared();

  std::optional<ec_key> fresh;
  if (options.ephemeral == nullptr) {
    fresh.emplace(ec_key::generate());
  } else if (options.ephemeral->get() == nullptr) {
    throw std::invalid_argument("push crypto: encrypt() with an empty ephemeral key");
  }
  const ec_key& ephemeral = options.ephemeral != nullptr ? *options.ephemeral : *fresh;
  const bytes& as_public = ephemeral.public_bytes();

  const std::size_t padded = std::max(plaintext.size() + 1, options.pad_to);
  bytes body(body_header_size + padded + tag_size); // zeros: the padding is already there
  unsigned char* out = body.data();
  if (options.salt) {
    std::memcpy(out, options.salt->data(), salt_size);
  } else if (RAND_bytes(out, salt_size) != 1) {
    fail("RAND_bytes");
  }
  const std::span<const unsigned char> salt(out, salt_size);
  out[16] = static_cast<unsigned char>(record_size >> 24);
  out[17] = static_cast<unsigned char>(record_size >> 16);
  out[18] = static_cast<unsigned char>(record_size >> 8);
  out[19] = static_cast<unsigned char>(record_size);
  out[20] = static_cast<unsigned char>(point_size);
  std::memcpy(out + 21, as_public.data(), point_size);
  unsigned char* record = out + body_header_size;
  if (!plaintext.empty()) {
    std::memcpy(record, plaintext.data(), plaintext.size());
  }
  record[plaintext.size()] = 0x02; // the last (and only) record's delimiter

  // The keys (RFC 8291 §3.3, §3.4; RFC 8188 §2.2, §2.3).
  std::array<unsigned char, scalar_size> shared_secret;
  std::array<unsigned char, 32> ikm;
  std::array<unsigned char, key_size> cek;
  std::array<unsigned char, nonce_size> nonce;
  const cleanse_on_exit wipe_shared(shared_secret), wipe_ikm(ikm), wipe_cek(cek), wipe_nonce(nonce);

  const pkey_ptr peer = public_key_of(ua_public);
  ecdh(ephemeral.get(), peer.get(), shared_secret);

  kdf_ctx_ptr kdf(EVP_KDF_CTX_new(algorithms.hkdf.get()));
  const OSSL_PARAM digest[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  if (!kdf || EVP_KDF_CTX_set_params(kdf.get(), digest) <= 0) {
    fail("setting up HKDF-SHA-256");
  }
  static constexpr char key_info_label[] = "WebPush: info";
  std::array<unsigned char, sizeof key_info_label + 2 * point_size> key_info;
  std::memcpy(key_info.data(), key_info_label, sizeof key_info_label);
  std::memcpy(key_info.data() + sizeof key_info_label, ua_public.data(), point_size);
  std::memcpy(key_info.data() + sizeof key_info_label + point_size, as_public.data(), point_size);
  hkdf(kdf.get(), auth_secret, shared_secret, key_info, ikm);
  hkdf(kdf.get(), salt, ikm, label("Content-Encoding: aes128gcm"), cek);
  hkdf(kdf.get(), salt, ikm, label("Content-Encoding: nonce"), nonce);

  // One record, encrypted in place; its sequence number is 0, so the nonce is NONCE itself.
  cipher_ctx_ptr cipher(EVP_CIPHER_CTX_new());
  int written = 0;
  int final_written = 0;
  if (!cipher ||
      EVP_EncryptInit_ex2(cipher.get(), algorithms.aes_gcm.get(), cek.data(), nonce.data(),
                          nullptr) != 1 ||
      EVP_EncryptUpdate(cipher.get(), record, &written, record, static_cast<int>(padded)) != 1 ||
      EVP_EncryptFinal_ex(cipher.get(), record + written, &final_written) != 1 ||
      static_cast<std::size_t>(written + final_written) != padded ||
      EVP_CIPHER_CTX_ctrl(cipher.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag_size),
                          record + padded) != 1) {
    fail("AES-128-GCM");
  }
  return body;
}

// -------------------------------------------------------------------------------------- topic

std::string topic(std::string_view key) {
  unsigned char digest[32];
  unsigned int length = 0;
  if (EVP_Digest(key.data(), key.size(), digest, &length, shared().sha256.get(), nullptr) != 1 ||
      length != sizeof digest) {
    fail("SHA-256");
  }
  return base64url(std::span<const unsigned char>(digest, 16));
}

// ------------------------------------------------------------------------------- vapid_signer

vapid_signer::vapid_signer(ec_key key, std::string subject)
    : key_(std::move(key)), subject_(std::move(subject)) {
  if (key_.get() == nullptr) {
    throw std::invalid_argument("VAPID: the key is empty");
  }
  const bool mailto = subject_.starts_with("mailto:") && subject_.size() > 7;
  const bool https = subject_.starts_with("https://") && subject_.size() > 8;
  if (!mailto && !https) {
    throw std::invalid_argument("VAPID: the subject must be a mailto: or https: URL");
  }
  key_text_ = base64url(key_.public_bytes());
}

std::string vapid_signer::authorization(std::string_view audience, std::int64_t now_seconds) {
  std::string header = "vapid t=";
  {
    std::lock_guard lock(mutex_);
    const auto found = tokens_.find(audience);
    const std::int64_t left = found != tokens_.end() ? found->second.expires - now_seconds : 0;
    if (found != tokens_.end() && left >= renew_before && left <= token_lifetime) {
      header += found->second.token;
    } else {
      std::erase_if(tokens_,
                    [&](const auto& entry) { return entry.second.expires <= now_seconds; });
      const std::int64_t expires = now_seconds + token_lifetime;
      cached fresh{token(audience, expires), expires};
      header += fresh.token;
      tokens_.insert_or_assign(std::string(audience), std::move(fresh));
    }
  }
  header += ", k=";
  header += key_text_;
  return header;
}

std::string vapid_signer::token(std::string_view audience, std::int64_t expires_seconds) const {
  // base64url({"typ":"JWT","alg":"ES256"})
  std::string jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.";
  std::string claims = "{\"aud\":";
  append_json_string(claims, audience);
  claims += ",\"exp\":";
  claims += std::to_string(expires_seconds);
  claims += ",\"sub\":";
  append_json_string(claims, subject_);
  claims += '}';
  jwt += base64url(text_bytes(claims));

  // ES256: ECDSA P-256 with SHA-256; OpenSSL writes the signature in DER, JWS wants r || s.
  md_ctx_ptr context(EVP_MD_CTX_new());
  unsigned char der[80];
  std::size_t der_length = sizeof der;
  const auto input = text_bytes(jwt);
  if (!context ||
      EVP_DigestSignInit(context.get(), nullptr, shared().sha256.get(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(context.get(), der, &der_length, input.data(), input.size()) != 1) {
    fail("ES256 signing");
  }
  const unsigned char* cursor = der;
  ecdsa_sig_ptr signature(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der_length)));
  if (!signature) {
    fail("decoding an ECDSA signature");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(signature.get(), &r, &s);
  unsigned char raw[2 * scalar_size];
  constexpr int half = scalar_size;
  if (BN_bn2binpad(r, raw, half) != half || BN_bn2binpad(s, raw + half, half) != half) {
    fail("encoding an ECDSA signature");
  }
  jwt += '.';
  jwt += base64url(raw);
  return jwt;
}

} // namespace parley::push

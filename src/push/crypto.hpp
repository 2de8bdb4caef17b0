#pragma once
// The cryptography of Web Push: message encryption (RFC 8291, the `aes128gcm` content coding of
// RFC 8188) and the VAPID tokens that identify this server to push services (RFC 8292), over
// OpenSSL 3's provider API. Keys are P-256 throughout; public keys travel as 65 uncompressed
// bytes (0x04 || X || Y), byte strings as base64url without padding.
//
// Every function here is thread-safe (one object may not be moved while it is in use elsewhere).
// OpenSSL's algorithm fetches and the P-256 parameters are made once per process, its contexts
// once per thread. Bad input from outside (a subscription's keys, a message) is an error value or
// nullopt; failures of OpenSSL itself (out of memory, a broken installation) throw
// std::runtime_error, and misuse (an empty, moved-from key) std::invalid_argument or
// std::logic_error.

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// OpenSSL's own spelling (openssl/types.h declares the same typedef), so that this header needs
// none of OpenSSL's.
typedef struct evp_pkey_st EVP_PKEY;

namespace parley::push {

using bytes = std::vector<unsigned char>;

/// RFC 4648 §5 (`-` and `_`), without `=` padding.
[[nodiscard]] std::string base64url(std::span<const unsigned char> data);

/// The bytes of base64url text, with or without (complete) `=` padding. nullopt on any other
/// character (including `+`, `/` and white space), on an impossible length, on partial padding
/// and on non-zero bits in the last character's unused low bits (so each byte string has exactly
/// one accepted spelling, besides the padding).
[[nodiscard]] std::optional<bytes> from_base64url(std::string_view text);

/// A P-256 key pair (owns an EVP_PKEY; movable, not copyable). A moved-from key is empty: get()
/// is null and public_bytes() is empty.
class ec_key {
public:
  /// A fresh random key pair.
  [[nodiscard]] static ec_key generate();
  /// The key pair of a private scalar (32 bytes, big-endian), its public key derived; nullopt
  /// when `scalar32` is not 32 bytes or not in [1, n-1] (n: the order of P-256).
  [[nodiscard]] static std::optional<ec_key> from_private(std::span<const unsigned char> scalar32);

  ec_key(ec_key&&) noexcept;
  ec_key& operator=(ec_key&&) noexcept;
  ec_key(const ec_key&) = delete;
  ec_key& operator=(const ec_key&) = delete;
  ~ec_key();

  /// The private scalar: 32 bytes, big-endian. Throws std::logic_error on an empty key.
  [[nodiscard]] bytes private_bytes() const;
  /// The public key: 65 bytes, 0x04 || X || Y.
  [[nodiscard]] const bytes& public_bytes() const { return public_; }
  /// The OpenSSL key, still owned by this object.
  [[nodiscard]] EVP_PKEY* get() const { return key_; }

private:
  ec_key(EVP_PKEY* key, bytes public_key) : key_(key), public_(std::move(public_key)) {}
  EVP_PKEY* key_ = nullptr;
  bytes public_;
};

/// True when `point` is 65 bytes, starts with 0x04 and is a point on P-256 (an uncompressed
/// encoding can never be the point at infinity). The check a subscription's `p256dh` key needs.
[[nodiscard]] bool is_valid_public_key(std::span<const unsigned char> point);

/// Fixed sizes of the aes128gcm body made by encrypt().
inline constexpr std::size_t body_header_size = 16 + 4 + 1 + 65; ///< salt, rs, idlen, keyid
inline constexpr std::size_t tag_size = 16;                      ///< AES-GCM tag
inline constexpr std::size_t max_body_size = 4096;               ///< RFC 8291 §4
/// The largest record plaintext (the message, its 0x02 delimiter and padding): 3994 bytes.
inline constexpr std::size_t max_padded_size = max_body_size - body_header_size - tag_size;
/// The largest message: 3993 bytes.
inline constexpr std::size_t max_plaintext_size = max_padded_size - 1;

struct encrypt_options {
  /// Pad the plaintext with its 0x02 delimiter up to this many bytes (zeros after the
  /// delimiter), so that the body is body_header_size + pad_to + tag_size bytes; no padding when
  /// the plaintext and its delimiter are already that long. 0: no padding. At most
  /// max_padded_size.
  std::size_t pad_to = 0;
  /// Tests only: the application server's key pair (else a fresh one per message); not empty.
  const ec_key* ephemeral = nullptr;
  /// Tests only: the salt (else 16 random bytes from RAND_bytes).
  std::optional<std::array<unsigned char, 16>> salt;
};

/// Encrypts one push message for a subscription (`ua_public`: its `p256dh` key, `auth_secret`:
/// its `auth`) into an RFC 8291 aes128gcm body: salt(16) | rs(4, big-endian 4096) | idlen(1)=65 |
/// keyid = the ephemeral public key (65) | one record (the plaintext, 0x02, padding; encrypted
/// with its 16-byte tag). Errors (a sentence): `ua_public` not a valid P-256 point,
/// `auth_secret` not 16 bytes, a plaintext over max_plaintext_size bytes, pad_to over
/// max_padded_size.
[[nodiscard]] std::expected<bytes, std::string> encrypt(std::span<const unsigned char> plaintext,
                                                        std::span<const unsigned char> ua_public,
                                                        std::span<const unsigned char> auth_secret,
                                                        const encrypt_options& options = {});

/// The `Topic` header (RFC 8030 §5.4) for a key, e.g. a conversation id: base64url of the first
/// 16 bytes of SHA-256(key), 22 characters (the limit is 32), the same for the same key.
[[nodiscard]] std::string topic(std::string_view key);

/// Signs VAPID tokens (RFC 8292) with one key. Caches one token per audience and reuses it while
/// at least an hour of it is left (each token lives 12 hours); a cached token is also replaced
/// when `now` has gone back so far that its `exp` would be more than 12 hours ahead. Expired
/// tokens are dropped from the cache as new ones are made. Thread-safe.
class vapid_signer {
public:
  static constexpr std::int64_t token_lifetime = 12 * 3600; ///< seconds
  static constexpr std::int64_t renew_before = 3600;        ///< seconds of validity left

  /// `subject`: the contact for the push service, "mailto:..." or "https://..."; throws
  /// std::invalid_argument otherwise, or when `key` is empty.
  vapid_signer(ec_key key, std::string subject);

  /// The `Authorization` header value: "vapid t=<JWT>, k=<base64url public key>". `audience`:
  /// the push service's origin ("https://host[:port]", from the subscription's endpoint);
  /// `now_seconds`: the current Unix time.
  [[nodiscard]] std::string authorization(std::string_view audience, std::int64_t now_seconds);

  /// A fresh JWT (no cache): header {"typ":"JWT","alg":"ES256"}, claims
  /// {"aud":audience,"exp":expires_seconds,"sub":subject}, an ES256 signature as raw r || s
  /// (64 bytes); the three parts base64url, joined by dots.
  [[nodiscard]] std::string token(std::string_view audience, std::int64_t expires_seconds) const;

  /// The public key (65 bytes): what the browser's `applicationServerKey` must be.
  [[nodiscard]] const bytes& public_key() const { return key_.public_bytes(); }

private:
  struct cached {
    std::string token;
    std::int64_t expires = 0;
  };

  ec_key key_;
  std::string subject_;
  std::string key_text_; // base64url(public key), the `k` parameter
  std::mutex mutex_;
  std::map<std::string, cached, std::less<>> tokens_; // by audience
};

} // namespace parley::push

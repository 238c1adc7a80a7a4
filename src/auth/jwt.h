#pragma once
// Signed JWTs (RFC 7519) as credentials: HS256 with a shared secret, RS256
// or ES256 with a public key. Signatures are checked with OpenSSL against a
// key parsed once; libjwt signs the tokens `tagstream token jwt` makes. The algorithm a token
// names must be the one its key is for, so a token "signed" with the public
// key as an HMAC secret, or with alg "none", is refused.
//
// Claims read: `sub` (who; required), `exp` (required: a JWT that never
// expires cannot be revoked), `nbf`, and what it grants: either `scope`
// ("read write", OAuth style) with `tags` (patterns for every listed scope,
// default all), or a `tagstream` object {"read": [...], "write": [...],
// "admin": [...]}.
#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "auth/principal.h"
#include "base/parsed.h"

namespace tagstream {

enum class JwtAlgorithm { hs256, rs256, es256 };
std::string_view jwt_algorithm_name(JwtAlgorithm a);

class JwtVerifier {
 public:
  /// `hs256_secret` and `public_key_pem` may each be empty; with both empty
  /// no JWT is accepted. Fails on a key that is not an RSA or P-256 key.
  static Parsed<JwtVerifier> create(std::string hs256_secret, std::string public_key_pem);
  JwtVerifier() = default;

  bool enabled() const { return !secret_.empty() || public_key_; }

  /// The principal the token names, or why it is not accepted ("expired"
  /// starts the message when it only expired).
  Parsed<Principal> verify(const std::string& token, TimeNs now) const;

 private:
  std::string secret_;
  // Parsed once: reading a PEM costs more than the check it serves
  // (libjwt's decoder re-reads it per token, ~1 ms per ES256 check).
  std::shared_ptr<EVP_PKEY> public_key_;
  JwtAlgorithm public_algorithm_ = JwtAlgorithm::rs256;
};

/// A signed token for `who` valid until `who.expires` (required), for
/// `tagstream token jwt`. `key` is the HS256 secret, or a PEM private key
/// (RSA: RS256, P-256: ES256).
Parsed<std::string> sign_jwt(const Principal& who, TimeNs issued, std::string_view key, bool key_is_pem);

/// The slack allowed on `nbf` for clocks that disagree.
inline constexpr TimeNs kJwtNotBeforeLeeway = 30 * kNanosPerSecond;
/// The longest token accepted at all: a bound on what one header costs.
inline constexpr std::size_t kMaxJwtLength = 8 * 1024;

}  // namespace tagstream

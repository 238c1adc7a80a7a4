#include "auth/jwt.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <memory>

#include "auth/crypto.h"

namespace tagstream {

namespace json = boost::json;

namespace {

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;
struct CharFree {
  void operator()(char* p) const { std::free(p); }
};

jwt_alg_t to_libjwt(JwtAlgorithm a) {
  switch (a) {
    case JwtAlgorithm::hs256: return JWT_ALG_HS256;
    case JwtAlgorithm::rs256: return JWT_ALG_RS256;
    case JwtAlgorithm::es256: return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

/// The algorithm a PEM key (public or private) is for.
Parsed<JwtAlgorithm> algorithm_of_pem(std::string_view pem, bool is_private) {
  Parsed<JwtAlgorithm> out;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                &BIO_free);
  EVP_PKEY* raw = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, &EVP_PKEY_free);
  if (!key) {
    out.error = is_private ? "not a PEM private key" : "not a PEM public key (-----BEGIN PUBLIC KEY-----)";
    return out;
  }
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(key.get()) < 2048) {
      out.error = "an RSA key must have at least 2048 bits";
      return out;
    }
    out.value = JwtAlgorithm::rs256;
    return out;
  }
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC) {
    char curve[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key.get(), "group", curve, sizeof curve, &len) == 1 &&
        std::string_view(curve) == "prime256v1") {
      out.value = JwtAlgorithm::es256;
      return out;
    }
    out.error = "an EC key must be on P-256 (ES256)";
    return out;
  }
  out.error = "the key must be RSA (RS256) or EC P-256 (ES256)";
  return out;
}

/// base64url without padding, as JWT segments are; nullopt on bad input.
std::optional<std::string> base64url_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string patterns_error(const json::value* v, std::vector<std::string>& out, std::string_view claim) {
  if (!v) return {};
  const json::array* array = v->if_array();
  if (!array) return "'" + std::string(claim) + "' must be an array of tag patterns";
  for (const json::value& item : *array) {
    const json::string* s = item.if_string();
    if (!s) return "'" + std::string(claim) + "' must hold strings";
    if (std::string e = grant_pattern_error(*s); !e.empty()) return e;
    out.emplace_back(*s);
  }
  return {};
}

std::optional<TimeNs> seconds_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (!v) return std::nullopt;
  double seconds = 0;
  if (v->is_int64())
    seconds = static_cast<double>(v->as_int64());
  else if (v->is_uint64())
    seconds = static_cast<double>(v->as_uint64());
  else if (v->is_double())
    seconds = v->as_double();
  else
    return std::nullopt;
  // Beyond the sample range is "never" for a token: clamp rather than overflow.
  if (!(seconds < 4.0e9)) seconds = 4.0e9;
  if (!(seconds > -4.0e9)) seconds = -4.0e9;
  return static_cast<TimeNs>(seconds * 1e9);
}

bool hs256_verify(std::string_view secret, std::string_view input, std::string_view signature) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length))
    return false;
  return constant_time_equal(std::string_view(reinterpret_cast<const char*>(mac), length), signature);
}

/// RS256 (PKCS #1 v1.5) or ES256, whose JOSE signature is r and s as two
/// 32-byte big-endian numbers where OpenSSL wants DER.
bool public_key_verify(EVP_PKEY* key, JwtAlgorithm alg, std::string_view input, std::string_view signature) {
  std::string der;
  if (alg == JwtAlgorithm::es256) {
    if (signature.size() != 64) return false;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    if (!sig) return false;
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
    if (!r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(sig);
      return false;
    }
    unsigned char* out = nullptr;
    const int n = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
    if (n <= 0) return false;
    der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

}  // namespace

std::string_view jwt_algorithm_name(JwtAlgorithm a) {
  switch (a) {
    case JwtAlgorithm::hs256: return "HS256";
    case JwtAlgorithm::rs256: return "RS256";
    case JwtAlgorithm::es256: return "ES256";
  }
  return "?";
}

Parsed<JwtVerifier> JwtVerifier::create(std::string hs256_secret, std::string public_key_pem) {
  Parsed<JwtVerifier> out;
  JwtVerifier v;
  if (!hs256_secret.empty() && hs256_secret.size() < 32) {
    out.error = "the JWT secret must be at least 32 bytes (256 bits) for HS256";
    return out;
  }
  v.secret_ = std::move(hs256_secret);
  if (!public_key_pem.empty()) {
    Parsed<JwtAlgorithm> alg = algorithm_of_pem(public_key_pem, false);
    if (!alg) {
      out.error = "JWT public key: " + alg.error;
      return out;
    }
    v.public_algorithm_ = *alg;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())), &BIO_free);
    v.public_key_.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  }
  out.value = std::move(v);
  return out;
}

Parsed<Principal> JwtVerifier::verify(const std::string& token, TimeNs now) const {
  Parsed<Principal> out;
  if (token.size() > kMaxJwtLength) {
    out.error = "the token is longer than " + std::to_string(kMaxJwtLength) + " bytes";
    return out;
  }
  const std::size_t dot = token.find('.');
  const std::size_t dot2 = dot == std::string::npos ? dot : token.find('.', dot + 1);
  if (dot2 == std::string::npos || token.find('.', dot2 + 1) != std::string::npos) {
    out.error = "not a JWT";
    return out;
  }
  // The header says which key to verify with; a token can only be checked
  // with the key its algorithm is for.
  std::optional<std::string> header = base64url_decode(std::string_view(token).substr(0, dot));
  boost::system::error_code ec;
  json::value header_json = header ? json::parse(*header, ec) : json::value();
  const json::value* alg_value =
      !ec && header_json.is_object() ? header_json.as_object().if_contains("alg") : nullptr;
  const json::string* alg = alg_value ? alg_value->if_string() : nullptr;
  if (!alg) {
    out.error = "the JWT header is not readable";
    return out;
  }
  const std::string_view signing_input = std::string_view(token).substr(0, dot2);
  const std::optional<std::string> signature = base64url_decode(std::string_view(token).substr(dot2 + 1));
  bool verified = false;
  if (*alg == "HS256" && !secret_.empty()) {
    verified = signature && hs256_verify(secret_, signing_input, *signature);
  } else if (public_key_ && *alg == jwt_algorithm_name(public_algorithm_)) {
    verified =
        signature && public_key_verify(public_key_.get(), public_algorithm_, signing_input, *signature);
  } else {
    out.error = "JWT algorithm '" + std::string(alg->subview().substr(0, 16)) + "' is not accepted here";
    return out;
  }
  if (!verified) {
    out.error = "the JWT signature does not verify";
    return out;
  }
  std::optional<std::string> claims_text =
      base64url_decode(std::string_view(token).substr(dot + 1, dot2 - dot - 1));
  json::value claims_json = claims_text ? json::parse(*claims_text, ec) : json::value();
  if (!claims_text || ec || !claims_json.is_object()) {
    out.error = "the JWT claims are not a JSON object";
    return out;
  }
  const json::object& claims = claims_json.as_object();

  Principal who;
  who.kind = "jwt";
  const json::value* sub = claims.if_contains("sub");
  if (!sub || !sub->is_string() || sub->as_string().empty() || sub->as_string().size() > 128) {
    out.error = "the JWT has no 'sub' (1 to 128 characters)";
    return out;
  }
  who.id = std::string(sub->as_string());
  who.expires = seconds_claim(claims, "exp");
  if (!who.expires) {
    out.error = "the JWT has no 'exp': tokens must expire";
    return out;
  }
  if (who.expired(now)) {
    out.error = "expired: the JWT expired at " + format_iso8601(*who.expires);
    return out;
  }
  if (auto nbf = seconds_claim(claims, "nbf"); nbf && now + kJwtNotBeforeLeeway < *nbf) {
    out.error = "the JWT is not valid before " + format_iso8601(*nbf);
    return out;
  }
  if (const json::value* grants = claims.if_contains("tagstream")) {
    if (!grants->is_object()) {
      out.error = "the JWT's 'tagstream' claim must be an object";
      return out;
    }
    for (Scope s : kAllScopes) {
      std::string e = patterns_error(grants->as_object().if_contains(scope_name(s)),
                                     who.tags[Principal::index(s)], scope_name(s));
      if (!e.empty()) {
        out.error = "JWT: " + e;
        return out;
      }
    }
  } else {
    std::vector<std::string> tags;
    if (const json::value* t = claims.if_contains("tags")) {
      if (std::string e = patterns_error(t, tags, "tags"); !e.empty()) {
        out.error = "JWT: " + e;
        return out;
      }
    } else {
      tags = {"*"};
    }
    const json::value* scope = claims.if_contains("scope");
    if (scope && !scope->is_string()) {
      out.error = "the JWT's 'scope' must be a space-separated string";
      return out;
    }
    std::string_view rest = scope ? std::string_view(scope->as_string()) : std::string_view();
    while (!rest.empty()) {
      const std::size_t space = rest.find(' ');
      const std::string_view word = rest.substr(0, space);
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
      // Scopes of other services may share the token: skip what is not ours.
      if (auto s = parse_scope(word)) who.tags[Principal::index(*s)] = tags;
    }
  }
  who.normalize();
  out.value = std::move(who);
  return out;
}

Parsed<std::string> sign_jwt(const Principal& who, TimeNs issued, std::string_view key, bool key_is_pem) {
  Parsed<std::string> out;
  JwtAlgorithm alg = JwtAlgorithm::hs256;
  if (key_is_pem) {
    Parsed<JwtAlgorithm> found = algorithm_of_pem(key, true);
    if (!found) {
      out.error = found.error;
      return out;
    }
    alg = *found;
  } else if (key.size() < 32) {
    out.error = "the JWT secret must be at least 32 bytes (256 bits) for HS256";
    return out;
  }
  if (!who.expires) {
    out.error = "a JWT needs an expiry";
    return out;
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) {
    out.error = "out of memory";
    return out;
  }
  JwtPtr j(raw);
  json::object grants;
  for (Scope s : kAllScopes) {
    const auto& patterns = who.tags[Principal::index(s)];
    if (patterns.empty()) continue;
    json::array list;
    for (const std::string& p : patterns) list.emplace_back(p);
    grants[scope_name(s)] = std::move(list);
  }
  json::object claims{{"sub", who.id},
                      {"iat", issued / kNanosPerSecond},
                      {"exp", *who.expires / kNanosPerSecond},
                      {"tagstream", std::move(grants)}};
  const std::string claims_text = json::serialize(claims);
  if (jwt_add_grants_json(j.get(), claims_text.c_str()) != 0 ||
      jwt_set_alg(j.get(), to_libjwt(alg), reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0) {
    out.error = "cannot sign the token with that key";
    return out;
  }
  std::unique_ptr<char, CharFree> encoded(jwt_encode_str(j.get()));
  if (!encoded) {
    out.error = "cannot sign the token with that key";
    return out;
  }
  out.value = encoded.get();
  return out;
}

}  // namespace tagstream

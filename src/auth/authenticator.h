#pragma once
// Turns a presented credential (an API key or a JWT) into a Principal.
// Thread safe: every network thread authenticates through the one instance.
//
// Cost per request is what authentication is judged by (the goal:
// within 5 % with auth on). An API key costs one SHA-256 of ~50 bytes and a
// hash lookup. A JWT costs a signature check (RS256/ES256: tens of µs), so
// verified tokens are remembered (bounded; expiry is still checked on
// every use): a dashboard reopening its stream does not pay it again.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "auth/principal.h"
#include "base/parsed.h"

namespace tagstream {

struct AuthOptions {
  std::string token_file;           // TOML API keys (hashed); re-read when it changes
  std::string jwt_secret_file;      // HS256 shared secret (its bytes, trailing newline dropped)
  std::string jwt_public_key_file;  // PEM public key: RS256 (RSA) or ES256 (P-256)
  std::string audit_log;            // JSON lines of writes, metadata changes and auth events; "-" = stderr
  // Serve without authentication on an address other than loopback. Off:
  // the server refuses to start that way.
  bool allow_unauthenticated = false;
  // What "now" is for expiry; null: the system clock. Not an option: tests
  // and embedders step their own instead of waiting for a token to expire.
  std::function<TimeNs()> clock;

  bool auth_configured() const {
    return !token_file.empty() || !jwt_secret_file.empty() || !jwt_public_key_file.empty();
  }
};

/// Why a credential was not accepted: `code` is the API error code
/// ("unauthorized", or "token_expired" when it was valid once).
struct AuthFailure {
  std::string code;
  std::string message;
};

class Authenticator {
 public:
  using Clock = std::function<TimeNs()>;

  /// Reads the key file and the JWT keys. Fails with what is wrong in them.
  static Parsed<std::unique_ptr<Authenticator>> create(const AuthOptions& options);

  /// Whether any credential source is configured; when not, every request
  /// is allowed (a server on loopback, or one the operator opened on purpose).
  bool enabled() const { return enabled_; }
  TimeNs now() const { return now_(); }

  Parsed<std::shared_ptr<const Principal>, AuthFailure> authenticate(std::string_view credential) const;

  /// Re-reads the key file when its modification time or size changed.
  /// On an error the old keys stay in force and the error is returned.
  std::string reload_if_changed();
  /// Counts changes of the key set: open streams recheck their credential
  /// when it moves (a revoked key ends its streams).
  std::uint64_t generation() const;
  /// API keys in force.
  std::size_t key_count() const;

 private:
  Authenticator(const AuthOptions& options, Clock now);
  using KeyMap = std::unordered_map<std::string, std::shared_ptr<const Principal>>;
  static std::shared_ptr<const KeyMap> to_map(ApiKeySet keys);

  AuthOptions options_;
  Clock now_;
  bool enabled_ = false;
  JwtVerifier jwt_;

  mutable std::mutex mutex_;  // guards keys_, file_stamp_, generation_ and jwt_cache_
  std::shared_ptr<const KeyMap> keys_;
  std::pair<std::filesystem::file_time_type, std::uintmax_t> file_stamp_{};
  std::uint64_t generation_ = 0;
  mutable std::unordered_map<std::string, std::shared_ptr<const Principal>> jwt_cache_;
  static constexpr std::size_t kJwtCacheEntries = 4096;
};

}  // namespace tagstream

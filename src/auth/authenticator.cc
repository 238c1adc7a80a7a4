#include "auth/authenticator.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace tagstream {

namespace {

Parsed<std::string> read_file(const std::string& path, std::string_view what) {
  Parsed<std::string> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.error = "cannot read " + std::string(what) + " " + path;
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  out.value = text.str();
  return out;
}

std::pair<std::filesystem::file_time_type, std::uintmax_t> stamp_of(const std::string& path) {
  std::error_code ec;
  const auto time = std::filesystem::last_write_time(path, ec);
  const auto size = std::filesystem::file_size(path, ec);
  return {time, ec ? 0 : size};
}

}  // namespace

Authenticator::Authenticator(const AuthOptions& options, Clock now)
    : options_(options), now_(std::move(now)), keys_(std::make_shared<KeyMap>()) {}

std::shared_ptr<const Authenticator::KeyMap> Authenticator::to_map(ApiKeySet keys) {
  auto map = std::make_shared<KeyMap>();
  for (auto& [hash, who] : keys.by_hash)
    map->emplace(hash, std::make_shared<const Principal>(std::move(who)));
  return map;
}

Parsed<std::unique_ptr<Authenticator>> Authenticator::create(const AuthOptions& options) {
  Parsed<std::unique_ptr<Authenticator>> out;
  std::unique_ptr<Authenticator> auth(
      new Authenticator(options, options.clock ? options.clock : Clock(now_ns)));
  auth->enabled_ = options.auth_configured();
  if (!options.token_file.empty()) {
    auth->file_stamp_ = stamp_of(options.token_file);
    Parsed<ApiKeySet> keys = load_api_keys(options.token_file);
    if (!keys) {
      out.error = keys.error;
      return out;
    }
    auth->keys_ = to_map(std::move(*keys));
  }
  std::string secret, public_key;
  if (!options.jwt_secret_file.empty()) {
    Parsed<std::string> text = read_file(options.jwt_secret_file, "JWT secret file");
    if (!text) {
      out.error = text.error;
      return out;
    }
    secret = std::move(*text);
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  }
  if (!options.jwt_public_key_file.empty()) {
    Parsed<std::string> text = read_file(options.jwt_public_key_file, "JWT public key file");
    if (!text) {
      out.error = text.error;
      return out;
    }
    public_key = std::move(*text);
  }
  Parsed<JwtVerifier> jwt = JwtVerifier::create(std::move(secret), std::move(public_key));
  if (!jwt) {
    out.error = jwt.error;
    return out;
  }
  auth->jwt_ = std::move(*jwt);
  out.value = std::move(auth);
  return out;
}

Parsed<std::shared_ptr<const Principal>, AuthFailure> Authenticator::authenticate(
    std::string_view credential) const {
  Parsed<std::shared_ptr<const Principal>, AuthFailure> out;
  const TimeNs now = now_();
  if (credential.empty()) {
    out.error = {"unauthorized", "this endpoint needs a token (Authorization: Bearer <token>)"};
    return out;
  }
  const bool looks_like_jwt = std::count(credential.begin(), credential.end(), '.') == 2;
  std::shared_ptr<const Principal> who;
  if (looks_like_jwt && jwt_.enabled()) {
    const std::string token(credential);
    {
      std::lock_guard lock(mutex_);
      if (auto it = jwt_cache_.find(token); it != jwt_cache_.end()) who = it->second;
    }
    if (!who) {
      Parsed<Principal> verified = jwt_.verify(token, now);
      if (!verified) {
        if (verified.error.starts_with("expired"))
          out.error = {"token_expired", "the token has expired; sign in again"};
        else
          out.error = {"unauthorized", "invalid token: " + verified.error};
        return out;
      }
      who = std::make_shared<const Principal>(std::move(*verified));
      std::lock_guard lock(mutex_);
      // Dropping everything when full keeps the bound without an LRU list:
      // a refill costs one verification per live token.
      if (jwt_cache_.size() >= kJwtCacheEntries) jwt_cache_.clear();
      jwt_cache_.emplace(token, who);
    }
  } else {
    const std::string hash = hash_api_key(credential);
    std::lock_guard lock(mutex_);
    if (auto it = keys_->find(hash); it != keys_->end()) who = it->second;
  }
  if (!who) {
    out.error = {"unauthorized", "invalid token"};
    return out;
  }
  if (who->expired(now)) {
    out.error = {"token_expired", "the token '" + who->id + "' has expired"};
    return out;
  }
  out.value = std::move(who);
  return out;
}

std::string Authenticator::reload_if_changed() {
  if (options_.token_file.empty()) return {};
  const auto stamp = stamp_of(options_.token_file);
  {
    std::lock_guard lock(mutex_);
    if (stamp == file_stamp_) return {};
  }
  Parsed<ApiKeySet> keys = load_api_keys(options_.token_file);
  std::lock_guard lock(mutex_);
  file_stamp_ = stamp;
  if (!keys) return keys.error;
  keys_ = to_map(std::move(*keys));
  ++generation_;
  return {};
}

std::size_t Authenticator::key_count() const {
  std::lock_guard lock(mutex_);
  return keys_->size();
}

std::uint64_t Authenticator::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

}  // namespace tagstream

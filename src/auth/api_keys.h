#pragma once
// API keys the operator manages in a TOML file. Only a SHA-256 of each key
// is stored: the file can be read by whoever deploys the server without
// handing them the keys. A key is 256 random bits, so an unsalted hash is
// as safe as a password hash would be, and cheap enough to check on every
// request.
//
//   [[token]]
//   id = "telegraf-area1"
//   hash = "sha256:9f86d08..."
//   read = ["area1.*"]
//   write = ["area1.*"]
//   admin = []                          # optional
//   expires = 2027-06-30T00:00:00Z      # optional
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/principal.h"
#include "base/parsed.h"

namespace tagstream {

struct ApiKeySet {
  std::unordered_map<std::string, Principal> by_hash;  // "sha256:<hex>" -> who
};

/// Parses the key file's text; `source` names it in errors.
[[nodiscard]] Parsed<ApiKeySet> parse_api_keys(std::string_view toml_text, std::string_view source);
[[nodiscard]] Parsed<ApiKeySet> load_api_keys(const std::string& path);

/// "sha256:<64 hex digits>": how a key is stored and looked up.
std::string hash_api_key(std::string_view key);
/// A new key: "tsk_" and 43 base64url characters (32 random bytes).
std::string generate_api_key();
/// The file entry for a key with this hash, as `tagstream token new` appends it.
std::string api_key_entry(const Principal& who, const std::string& hash);

}  // namespace tagstream

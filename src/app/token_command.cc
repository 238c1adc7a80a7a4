#include "app/token_command.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "core/time_parse.h"

namespace tagstream {

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  tagstream token new --id ID [GRANTS] [--expires TIME] [--file FILE]\n"
    "      Creates an API key, prints it once on standard output, and appends its hash\n"
    "      to FILE (the server's --token-file; created with mode 0600). Without --file\n"
    "      the entry is printed on standard error for you to add.\n"
    "  tagstream token jwt --sub ID [GRANTS] --expires TIME (--secret-file FILE | --private-key FILE)\n"
    "      Signs a JWT: HS256 with the shared secret, RS256 or ES256 with an RSA or\n"
    "      P-256 private key (PEM). The server verifies it with --jwt-secret-file or\n"
    "      --jwt-public-key.\n"
    "\n"
    "GRANTS: --read PATTERN, --write PATTERN, --admin PATTERN, each repeatable;\n"
    "  PATTERN is a tag name or glob (area1.*, *). admin implies read and write.\n"
    "TIME: 2027-06-30T00:00:00Z, or relative: now+90d, now+8h (s, m, h, d, w).\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "tagstream token: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

bool valid_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 &&
         id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@-") ==
             std::string::npos;
}

struct Args {
  std::string id, expires, file, secret_file, private_key;
  Principal who;
  std::string error;
};

Args parse_args(const std::vector<std::string>& args, std::size_t from) {
  Args out;
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) {
      out.error = "'" + flag + "' needs a value";
      return out;
    }
    const std::string& value = args[++i];
    if (flag == "--id" || flag == "--sub") {
      out.id = value;
    } else if (flag == "--expires") {
      out.expires = value;
    } else if (flag == "--file") {
      out.file = value;
    } else if (flag == "--secret-file") {
      out.secret_file = value;
    } else if (flag == "--private-key") {
      out.private_key = value;
    } else if (auto scope = flag.starts_with("--") ? parse_scope(flag.substr(2)) : std::nullopt) {
      if (std::string e = grant_pattern_error(value); !e.empty()) {
        out.error = e;
        return out;
      }
      out.who.tags[Principal::index(*scope)].push_back(value);
    } else {
      out.error = "unknown argument '" + flag + "'";
      return out;
    }
  }
  if (out.error.empty() && !valid_id(out.id))
    out.error = "--id/--sub must be 1 to 128 characters of A-Z a-z 0-9 _ . : @ -";
  if (out.error.empty() && !out.expires.empty()) {
    auto t = parse_time(out.expires, now_ns());
    if (!t)
      out.error = "--expires: '" + out.expires + "' is not a time (2027-06-30T00:00:00Z or now+90d)";
    else
      out.who.expires = *t;
  }
  bool any = false;
  for (const auto& patterns : out.who.tags) any = any || !patterns.empty();
  if (out.error.empty() && !any) out.error = "grant at least one scope (--read, --write or --admin PATTERN)";
  out.who.id = out.id;
  return out;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int new_key(const Args& a) {
  Principal who = a.who;
  who.kind = "key";
  const std::string key = generate_api_key();
  const std::string entry = api_key_entry(who, hash_api_key(key));
  if (a.file.empty()) {
    std::fprintf(stderr, "Add this entry to the server's token file:\n%s\n", entry.c_str());
  } else {
    // The file names who may do what: only its owner should read or change it.
    const mode_t old_mask = umask(077);
    std::FILE* f = std::fopen(a.file.c_str(), "a");
    umask(old_mask);
    if (!f) {
      std::fprintf(stderr, "tagstream token: cannot open %s for appending\n", a.file.c_str());
      return 1;
    }
    const bool ok = std::fputs(entry.c_str(), f) >= 0;
    if (std::fclose(f) != 0 || !ok) {
      std::fprintf(stderr, "tagstream token: cannot write %s\n", a.file.c_str());
      return 1;
    }
    std::fprintf(stderr, "Added key '%s' to %s. The key (shown only now):\n", who.id.c_str(), a.file.c_str());
  }
  std::printf("%s\n", key.c_str());
  return 0;
}

int new_jwt(const Args& a) {
  if (a.secret_file.empty() == a.private_key.empty())
    return usage_error("give one of --secret-file or --private-key");
  if (!a.who.expires) return usage_error("a JWT needs --expires");
  const std::string& path = a.secret_file.empty() ? a.private_key : a.secret_file;
  std::optional<std::string> key = read_file(path);
  if (!key) {
    std::fprintf(stderr, "tagstream token: cannot read %s\n", path.c_str());
    return 1;
  }
  if (!a.secret_file.empty())
    while (!key->empty() && (key->back() == '\n' || key->back() == '\r')) key->pop_back();
  Principal who = a.who;
  who.kind = "jwt";
  Parsed<std::string> token = sign_jwt(who, now_ns(), *key, a.secret_file.empty());
  if (!token) {
    std::fprintf(stderr, "tagstream token: %s\n", token.error.c_str());
    return 1;
  }
  std::printf("%s\n", token->c_str());
  return 0;
}

}  // namespace

int run_token_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "new" && args[0] != "jwt") return usage_error("unknown token command '" + args[0] + "'");
  Args a = parse_args(args, 1);
  if (!a.error.empty()) return usage_error(a.error);
  return args[0] == "new" ? new_key(a) : new_jwt(a);
}

}  // namespace tagstream

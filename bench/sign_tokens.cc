// tagstream-bench jwts: signs --count distinct JWTs (subjects PREFIX-0,
// PREFIX-1, ...) into a file, one a line, for `opens --tokens-file`. The
// server caches verified JWTs (4096 of them, cleared when full), so cycling
// through more distinct tokens than that makes every open pay the signature
// check: the uncached worst case of bench/auth.sh. Signed with the server's
// own code (auth/jwt.h), as `tagstream token jwt` does, without a process per
// token.

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "auth/jwt.h"
#include "auth/principal.h"
#include "bench_args.h"
#include "core/time.h"
#include "load_commands.h"

namespace tagstream_bench {

void jwts_usage() {
  std::fputs(
      "  tagstream-bench jwts --out FILE (--secret-file FILE | --private-key PEM) [--count 10000]\n"
      "        [--sub-prefix bench] [--read '*'] [--write PATTERN] [--hours 8]\n"
      "      Signs --count JWTs with distinct subjects (HS256 with the secret; RS256 or ES256 with the\n"
      "      private key), valid for --hours, one a line into --out: for opens --tokens-file.\n",
      stderr);
}

int run_jwts(Args& args) {
  const std::string out = args.str("out", "");
  const std::string secret_file = args.str("secret-file", "");
  const std::string private_key = args.str("private-key", "");
  const std::int64_t count = args.bounded("count", 10000, 1, 1'000'000);
  const std::string prefix = args.str("sub-prefix", "bench");
  const std::string read = args.str("read", "*");
  const std::string write = args.str("write", "");
  const double hours = args.num("hours", 8);
  args.check_all_used();
  if (out.empty()) die("jwts needs --out FILE");
  if (secret_file.empty() == private_key.empty()) die("jwts needs one of --secret-file or --private-key");
  if (hours <= 0 || hours > 24 * 365) die("--hours must be in (0, 8760]");
  std::ifstream in(secret_file.empty() ? private_key : secret_file, std::ios::binary);
  if (!in) die("cannot read " + (secret_file.empty() ? private_key : secret_file));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string key = ss.str();
  if (!secret_file.empty())  // as the server reads it: the trailing newline dropped
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();

  const tagstream::TimeNs now = tagstream::now_ns();
  std::FILE* f = std::fopen(out.c_str(), "w");
  if (!f) die("cannot write " + out);
  for (std::int64_t i = 0; i < count; ++i) {
    tagstream::Principal who;
    who.id = prefix + "-" + std::to_string(i);
    who.kind = "jwt";
    if (!read.empty()) who.tags[tagstream::Principal::index(tagstream::Scope::read)].push_back(read);
    if (!write.empty()) who.tags[tagstream::Principal::index(tagstream::Scope::write)].push_back(write);
    who.expires = now + static_cast<tagstream::TimeNs>(hours * 3600.0) * tagstream::kNanosPerSecond;
    who.normalize();
    auto token = tagstream::sign_jwt(who, now, key, secret_file.empty());
    if (!token) {
      std::fclose(f);
      die("signing: " + token.error);
    }
    std::fprintf(f, "%s\n", token->c_str());
  }
  if (std::fclose(f) != 0) die("cannot write " + out);
  std::printf("signed %lld JWTs into %s\n", static_cast<long long>(count), out.c_str());
  return 0;
}

}  // namespace tagstream_bench

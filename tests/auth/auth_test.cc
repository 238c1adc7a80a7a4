#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "auth/api_keys.h"
#include "auth/authenticator.h"
#include "auth/crypto.h"
#include "auth/jwt.h"
#include "auth/principal.h"
#include "auth_test_keys.h"

namespace tagstream {
namespace {

constexpr TimeNs kNow = 1'800'000'000LL * kNanosPerSecond;  // 2027-01-15
const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";

Principal grant(std::string id, std::vector<std::string> read, std::vector<std::string> write = {},
                std::vector<std::string> admin = {}) {
  Principal p;
  p.id = std::move(id);
  p.tags[Principal::index(Scope::read)] = std::move(read);
  p.tags[Principal::index(Scope::write)] = std::move(write);
  p.tags[Principal::index(Scope::admin)] = std::move(admin);
  return p;
}

std::string segment(const std::string& json) {
  return base64url(json);
}

TEST(Principal, ScopesAreLimitedToTheirTagPatterns) {
  Principal p = grant("op", {"area1.*"}, {"area1.pump?.speed"});
  p.normalize();
  EXPECT_TRUE(p.may(Scope::read, "area1.tank.level"));
  EXPECT_FALSE(p.may(Scope::read, "area2.tank.level"));
  EXPECT_TRUE(p.may(Scope::write, "area1.pump3.speed"));
  EXPECT_FALSE(p.may(Scope::write, "area1.tank.level"));
  EXPECT_FALSE(p.may(Scope::admin));
  EXPECT_FALSE(p.may_all(Scope::read));
}

TEST(Principal, AdminImpliesReadAndWriteOnItsTags) {
  Principal p = grant("admin", {}, {}, {"boiler1.*"});
  p.normalize();
  EXPECT_TRUE(p.may(Scope::read, "boiler1.temperature"));
  EXPECT_TRUE(p.may(Scope::write, "boiler1.temperature"));
  EXPECT_FALSE(p.may(Scope::write, "boiler2.temperature"));
}

TEST(Principal, AStarCoversEveryTag) {
  Principal p = grant("all", {"area1.*", "*"});
  p.normalize();
  EXPECT_TRUE(p.may_all(Scope::read));
  EXPECT_EQ(p.tags[Principal::index(Scope::read)], std::vector<std::string>{"*"});
}

TEST(ApiKeys, AnEntryWrittenForAKeyReadsBackAsTheSamePrincipal) {
  Principal who = grant("telegraf", {"area1.*"}, {"area1.*"});
  who.expires = kNow;
  const std::string key = generate_api_key();
  EXPECT_TRUE(key.starts_with("tsk_"));
  EXPECT_EQ(key.size(), 4u + 43u);
  const std::string text = api_key_entry(who, hash_api_key(key));
  EXPECT_EQ(text.find(key), std::string::npos) << "the file must hold the hash, never the key";
  auto keys = parse_api_keys(text, "tokens.toml");
  ASSERT_TRUE(keys) << keys.error;
  auto it = keys->by_hash.find(hash_api_key(key));
  ASSERT_NE(it, keys->by_hash.end());
  EXPECT_EQ(it->second.id, "telegraf");
  EXPECT_EQ(it->second.kind, "key");
  EXPECT_EQ(it->second.expires, kNow);
  EXPECT_TRUE(it->second.may(Scope::write, "area1.x"));
  EXPECT_FALSE(it->second.may(Scope::read, "area2.x"));
}

TEST(ApiKeys, TwoKeysNeverShareAHash) {
  EXPECT_NE(generate_api_key(), generate_api_key());
  EXPECT_EQ(hash_api_key("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeys, AMistakeInTheFileIsReportedWithWhereItIs) {
  const std::string good_hash = "sha256:" + std::string(64, 'a');
  EXPECT_NE(parse_api_keys("[[token]]\nid = \"x\"\nhash = \"plain\"\n", "f").error.find("'hash'"),
            std::string::npos);
  EXPECT_NE(parse_api_keys("[[token]]\nhash = \"" + good_hash + "\"\n", "f").error.find("'id'"),
            std::string::npos);
  EXPECT_NE(
      parse_api_keys("[[token]]\nid = \"x\"\nhash = \"" + good_hash + "\"\nread = [\"bad name!\"]\n", "f")
          .error.find("neither a tag name nor a tag pattern"),
      std::string::npos);
  EXPECT_NE(parse_api_keys("[[token]]\nid = \"x\"\nhash = \"" + good_hash + "\"\nraed = [\"*\"]\n", "f")
                .error.find("unknown key 'raed'"),
            std::string::npos);
  EXPECT_NE(parse_api_keys("[[token]]\nid = \"x\"\nhash = \"" + good_hash + "\"\nexpires = \"soon\"\n", "f")
                .error.find("'expires'"),
            std::string::npos);
  EXPECT_NE(parse_api_keys("not toml [", "tokens.toml").error.find("tokens.toml"), std::string::npos);
}

TEST(Jwt, AnHs256TokenSignedWithTheSecretVerifies) {
  Principal who = grant("dash", {"boiler1.*"});
  who.expires = kNow + 3600 * kNanosPerSecond;
  auto token = sign_jwt(who, kNow, kSecret, false);
  ASSERT_TRUE(token) << token.error;
  auto verifier = JwtVerifier::create(kSecret, "");
  ASSERT_TRUE(verifier);
  auto verified = verifier->verify(*token, kNow);
  ASSERT_TRUE(verified) << verified.error;
  EXPECT_EQ(verified->id, "dash");
  EXPECT_EQ(verified->kind, "jwt");
  EXPECT_TRUE(verified->may(Scope::read, "boiler1.temperature"));
  EXPECT_FALSE(verified->may(Scope::read, "boiler2.temperature"));
  EXPECT_FALSE(verified->may(Scope::write));
}

TEST(Jwt, ATokenSignedWithAnotherSecretIsRefused) {
  Principal who = grant("dash", {"*"});
  who.expires = kNow + kNanosPerSecond;
  auto token = sign_jwt(who, kNow, kSecret + "-other", false);
  ASSERT_TRUE(token);
  auto verifier = JwtVerifier::create(kSecret, "");
  EXPECT_FALSE(verifier->verify(*token, kNow));
}

TEST(Jwt, ExpiredTokensAreRefusedAsExpired) {
  Principal who = grant("dash", {"*"});
  who.expires = kNow;
  auto token = sign_jwt(who, kNow - 10 * kNanosPerSecond, kSecret, false);
  auto verifier = JwtVerifier::create(kSecret, "");
  EXPECT_TRUE(verifier->verify(*token, kNow - kNanosPerSecond));
  auto late = verifier->verify(*token, kNow);
  ASSERT_FALSE(late);
  EXPECT_TRUE(late.error.starts_with("expired")) << late.error;
}

TEST(Jwt, AlgNoneAndTokensWithoutExpiryAreRefused) {
  auto verifier = JwtVerifier::create(kSecret, "");
  const std::string claims = segment(R"({"sub":"x","exp":4000000000,"scope":"read write admin"})");
  const std::string none = segment(R"({"alg":"none","typ":"JWT"})") + "." + claims + ".";
  auto r = verifier->verify(none, kNow);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error.find("not accepted"), std::string::npos) << r.error;
  EXPECT_FALSE(verifier->verify("a.b", kNow));
  EXPECT_FALSE(verifier->verify("!!!.???.###", kNow));
  EXPECT_FALSE(verifier->verify(std::string(kMaxJwtLength + 1, 'a') + "..", kNow));
}

/// An HS256 token over any claims, as an identity provider would issue it.
std::string hs256_token(const std::string& claims_json, const std::string& secret) {
  const std::string signing_input = segment(R"({"alg":"HS256","typ":"JWT"})") + "." + segment(claims_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &length);
  return signing_input + "." + base64url(std::string(reinterpret_cast<char*>(mac), length));
}

TEST(Jwt, TheOauthScopeClaimWithTagsGrantsEachListedScope) {
  // Other services' scopes may share the token: they are skipped.
  auto verifier = JwtVerifier::create(kSecret, "");
  auto r = verifier->verify(
      hs256_token(R"({"sub":"sso","exp":4000000000,"scope":"openid read write","tags":["area1.*"]})",
                  kSecret),
      kNow);
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->id, "sso");
  EXPECT_TRUE(r->may(Scope::read, "area1.x"));
  EXPECT_TRUE(r->may(Scope::write, "area1.x"));
  EXPECT_FALSE(r->may(Scope::read, "area2.x"));
  EXPECT_FALSE(r->may(Scope::admin));

  auto no_exp = verifier->verify(hs256_token(R"({"sub":"sso","scope":"read"})", kSecret), kNow);
  ASSERT_FALSE(no_exp);
  EXPECT_NE(no_exp.error.find("exp"), std::string::npos);
  EXPECT_FALSE(verifier->verify(hs256_token(R"({"exp":4000000000,"scope":"read"})", kSecret), kNow));
  auto not_yet = verifier->verify(
      hs256_token(R"({"sub":"a","exp":4000000000,"nbf":3900000000,"scope":"read"})", kSecret), kNow);
  EXPECT_FALSE(not_yet);
  auto bad_tags = verifier->verify(
      hs256_token(R"({"sub":"a","exp":4000000000,"scope":"read","tags":["no spaces allowed"]})", kSecret),
      kNow);
  EXPECT_FALSE(bad_tags);
}

class AsymmetricJwt : public ::testing::TestWithParam<std::string> {};

TEST_P(AsymmetricJwt, SignedWithThePrivateKeyVerifiesWithThePublicOne) {
  const auto pair = test::make_key_pair(GetParam());
  Principal who = grant("plant-sso", {"*"}, {"area1.*"});
  who.expires = kNow + 600 * kNanosPerSecond;
  auto token = sign_jwt(who, kNow, pair.private_pem, true);
  ASSERT_TRUE(token) << token.error;
  auto verifier = JwtVerifier::create("", pair.public_pem);
  ASSERT_TRUE(verifier) << verifier.error;
  auto verified = verifier->verify(*token, kNow);
  ASSERT_TRUE(verified) << verified.error;
  EXPECT_TRUE(verified->may(Scope::write, "area1.valve"));
  EXPECT_FALSE(verified->may(Scope::write, "area2.valve"));

  // The claims changed after signing (more tags): refused.
  const std::size_t dot = token->find('.'), dot2 = token->find('.', dot + 1);
  Principal more = who;
  more.tags[Principal::index(Scope::admin)] = {"*"};
  auto other_claims = sign_jwt(more, kNow, pair.private_pem, true);
  const std::size_t odot = other_claims->find('.'), odot2 = other_claims->find('.', odot + 1);
  const std::string tampered =
      token->substr(0, dot + 1) + other_claims->substr(odot + 1, odot2 - odot - 1) + token->substr(dot2);
  EXPECT_FALSE(verifier->verify(tampered, kNow));
  EXPECT_FALSE(verifier->verify(token->substr(0, token->size() - 4), kNow)) << "a cut signature";

  // Another key pair of the same kind: the signature must not verify.
  const auto other = test::make_key_pair(GetParam());
  auto forged = sign_jwt(who, kNow, other.private_pem, true);
  EXPECT_FALSE(verifier->verify(*forged, kNow));
}

TEST_P(AsymmetricJwt, AnHmacTokenKeyedWithThePublicKeyIsRefused) {
  // The classic confusion: an attacker who knows the public key HMACs a
  // token with it; a verifier that lets the token pick the algorithm
  // accepts it.
  const auto pair = test::make_key_pair(GetParam());
  Principal who = grant("attacker", {"*"}, {"*"}, {"*"});
  who.expires = kNow + 600 * kNanosPerSecond;
  auto token = sign_jwt(who, kNow, pair.public_pem, false);
  ASSERT_TRUE(token) << token.error;
  auto verifier = JwtVerifier::create("", pair.public_pem);
  auto r = verifier->verify(*token, kNow);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error.find("HS256"), std::string::npos) << r.error;
}

INSTANTIATE_TEST_SUITE_P(RsaAndEc, AsymmetricJwt, ::testing::Values("RSA", "EC"));

TEST(Jwt, WeakKeysAreRefusedAtStart) {
  EXPECT_FALSE(JwtVerifier::create("short", ""));
  EXPECT_FALSE(JwtVerifier::create("", "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n"));
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tagstream-auth-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    token_file_ = (dir_ / "tokens.toml").string();
    secret_file_ = (dir_ / "secret").string();
    std::ofstream(secret_file_) << kSecret << "\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_keys(const std::string& text) {
    std::ofstream out(token_file_, std::ios::trunc);
    out << text;
  }

  std::unique_ptr<Authenticator> make() {
    AuthOptions options;
    options.token_file = token_file_;
    options.jwt_secret_file = secret_file_;
    options.clock = [this] { return now_; };
    auto auth = Authenticator::create(options);
    if (!auth) ADD_FAILURE() << auth.error;
    return auth ? std::move(*auth) : nullptr;
  }

  std::filesystem::path dir_;
  std::string token_file_, secret_file_;
  TimeNs now_ = kNow;
};

TEST_F(AuthenticatorTest, AKeyFromTheFileAuthenticatesUntilItIsRemoved) {
  const std::string key = generate_api_key();
  write_keys(api_key_entry(grant("op", {"*"}), hash_api_key(key)));
  auto auth = make();
  ASSERT_TRUE(auth);
  EXPECT_TRUE(auth->enabled());
  auto who = auth->authenticate(key);
  ASSERT_TRUE(who) << who.error.message;
  EXPECT_EQ((*who)->id, "op");
  EXPECT_EQ(auth->authenticate(key + "x").error.code, "unauthorized");
  EXPECT_EQ(auth->authenticate("").error.code, "unauthorized");

  const auto before = auth->generation();
  write_keys("# every key revoked\n");
  // The reload notices a change of size or time; make sure time moves too.
  std::filesystem::last_write_time(token_file_,
                                   std::filesystem::last_write_time(token_file_) + std::chrono::seconds(2));
  EXPECT_EQ(auth->reload_if_changed(), "");
  EXPECT_GT(auth->generation(), before);
  EXPECT_FALSE(auth->authenticate(key));
}

TEST_F(AuthenticatorTest, ABrokenFileKeepsThePreviousKeys) {
  const std::string key = generate_api_key();
  write_keys(api_key_entry(grant("op", {"*"}), hash_api_key(key)));
  auto auth = make();
  write_keys("[[token]]\nid = \"half-written");
  EXPECT_NE(auth->reload_if_changed(), "");
  EXPECT_TRUE(auth->authenticate(key));
}

TEST_F(AuthenticatorTest, ARememberedJwtStillExpires) {
  write_keys("");
  auto auth = make();
  Principal who = grant("dash", {"*"});
  who.expires = kNow + 60 * kNanosPerSecond;
  auto token = sign_jwt(who, kNow, kSecret, false);
  EXPECT_TRUE(auth->authenticate(*token));  // verified and remembered
  now_ = kNow + 61 * kNanosPerSecond;
  auto late = auth->authenticate(*token);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error.code, "token_expired");
}

TEST_F(AuthenticatorTest, AKeyWithAnExpiryStopsWorkingThen) {
  const std::string key = generate_api_key();
  Principal who = grant("contractor", {"*"});
  who.expires = kNow + 10 * kNanosPerSecond;
  write_keys(api_key_entry(who, hash_api_key(key)));
  auto auth = make();
  EXPECT_TRUE(auth->authenticate(key));
  now_ = kNow + 10 * kNanosPerSecond;
  EXPECT_EQ(auth->authenticate(key).error.code, "token_expired");
}

TEST(AuthenticatorOff, WithNothingConfiguredAuthenticationIsOff) {
  auto auth = Authenticator::create(AuthOptions{});
  ASSERT_TRUE(auth);
  EXPECT_FALSE((*auth)->enabled());
}

}  // namespace
}  // namespace tagstream

#include "app/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "app/config_options.h"

namespace tagstream {
namespace {

// load_server_config takes a plain function pointer, so the fake environment
// has to live at namespace scope.
std::map<std::string, std::string> g_env;

std::optional<std::string> fake_env(const char* name) {
  auto it = g_env.find(name);
  if (it == g_env.end()) return std::nullopt;
  return it->second;
}

using Args = std::vector<std::string>;

class Config : public ::testing::Test {
 protected:
  void SetUp() override {
    g_env.clear();
    std::string tmpl = (std::filesystem::temp_directory_path() / "tagstream-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    g_env.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& content) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << content;
    return path;
  }

  ServerConfig ok(const Args& args) {
    auto r = load_server_config(args, fake_env);
    EXPECT_EQ(r.error, "");
    EXPECT_FALSE(r.show_help);
    return r.config;
  }

  std::string err(const Args& args) {
    auto r = load_server_config(args, fake_env);
    EXPECT_NE(r.error, "");
    return r.error;
  }

  std::filesystem::path dir_;
};

::testing::AssertionResult StartsWith(const std::string& s, const std::string& prefix) {
  if (s.rfind(prefix, 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << '"' << s << "\" does not start with \"" << prefix << '"';
}

::testing::AssertionResult Contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << '"' << s << "\" does not contain \"" << part << '"';
}

TEST_F(Config, Defaults) {
  const ServerConfig c = ok({});
  const ServerConfig d;
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.threads, 0);
  EXPECT_EQ(c.heartbeat_interval, 30.0);
  EXPECT_EQ(c.data_check_interval, 0.1);
  EXPECT_EQ(c.max_reconnect_attempts, 10);
  EXPECT_EQ(c.retry_ms, 3000);
  EXPECT_EQ(c.max_streams, 10000);
  EXPECT_EQ(c.max_streams_per_client, 200);
  EXPECT_EQ(c.client_buffer_bytes, 256u * 1024);
  EXPECT_EQ(c.slow_client_timeout, 30.0);
  EXPECT_EQ(c.replay_buffer, 100000u);
  EXPECT_EQ(c.max_header_bytes, 16u * 1024);
  EXPECT_EQ(c.max_body_bytes, 16u * 1024 * 1024);
  EXPECT_EQ(c.header_timeout, 10.0);
  EXPECT_EQ(c.idle_timeout, 60.0);
  EXPECT_EQ(c.shutdown_grace, 2.0);
  EXPECT_TRUE(c.simulator);
  EXPECT_EQ(c.simulator_rate, 1.0);
  EXPECT_EQ(c.simulator_seed, std::nullopt);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.listen, d.listen);
}

TEST_F(Config, EnvOverridesDefault) {
  g_env = {{"SSE_HEARTBEAT_INTERVAL", "5"},
           {"SSE_DATA_CHECK_INTERVAL", "0"},
           {"SSE_MAX_RECONNECT_ATTEMPTS", "3"},
           {"SSE_RETRY_MS", "1500"},
           {"TAGSTREAM_LISTEN", "0.0.0.0:9000"},
           {"TAGSTREAM_THREADS", "4"},
           {"TAGSTREAM_MAX_STREAMS", "500"},
           {"TAGSTREAM_MAX_STREAMS_PER_CLIENT", "7"},
           {"TAGSTREAM_CLIENT_BUFFER_BYTES", "1M"},
           {"TAGSTREAM_SLOW_CLIENT_TIMEOUT", "2.5"},
           {"TAGSTREAM_REPLAY_BUFFER", "0"},
           {"TAGSTREAM_MAX_HEADER_BYTES", "8k"},
           {"TAGSTREAM_MAX_BODY_BYTES", "1G"},
           {"TAGSTREAM_HEADER_TIMEOUT", "3"},
           {"TAGSTREAM_IDLE_TIMEOUT", "120"},
           {"TAGSTREAM_SHUTDOWN_GRACE", "0"},
           {"TAGSTREAM_SIMULATOR", "0"},
           {"TAGSTREAM_SIMULATOR_RATE", "20"},
           {"TAGSTREAM_SIMULATOR_SEED", "42"},
           {"TAGSTREAM_LOG_LEVEL", "debug"}};
  const ServerConfig c = ok({});
  EXPECT_EQ(c.heartbeat_interval, 5.0);
  EXPECT_EQ(c.data_check_interval, 0.0);
  EXPECT_EQ(c.max_reconnect_attempts, 3);
  EXPECT_EQ(c.retry_ms, 1500);
  EXPECT_EQ(c.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.max_streams, 500);
  EXPECT_EQ(c.max_streams_per_client, 7);
  EXPECT_EQ(c.client_buffer_bytes, 1024u * 1024);
  EXPECT_EQ(c.slow_client_timeout, 2.5);
  EXPECT_EQ(c.replay_buffer, 0u);
  EXPECT_EQ(c.max_header_bytes, 8u * 1024);
  EXPECT_EQ(c.max_body_bytes, std::size_t{1} << 30);
  EXPECT_EQ(c.header_timeout, 3.0);
  EXPECT_EQ(c.idle_timeout, 120.0);
  EXPECT_EQ(c.shutdown_grace, 0.0);
  EXPECT_FALSE(c.simulator);
  EXPECT_EQ(c.simulator_rate, 20.0);
  EXPECT_EQ(c.simulator_seed, 42u);
  EXPECT_EQ(c.log_level, "debug");
}

TEST_F(Config, EnvEmptyCountsAsUnset) {
  g_env = {{"SSE_HEARTBEAT_INTERVAL", ""}, {"TAGSTREAM_CONFIG", ""}};
  EXPECT_EQ(ok({}).heartbeat_interval, 30.0);
}

TEST_F(Config, EnvValueWhitespaceTrimmed) {
  g_env = {{"SSE_HEARTBEAT_INTERVAL", " 12\n"}};
  EXPECT_EQ(ok({}).heartbeat_interval, 12.0);
}

TEST_F(Config, EnvBooleanForms) {
  for (auto [text, want] : std::vector<std::pair<std::string, bool>>{{"true", true},
                                                                     {"false", false},
                                                                     {"1", true},
                                                                     {"0", false},
                                                                     {"TRUE", true},
                                                                     {"no", false},
                                                                     {"on", true}}) {
    g_env = {{"TAGSTREAM_SIMULATOR", text}};
    EXPECT_EQ(ok({}).simulator, want) << text;
  }
}

TEST_F(Config, FileOverridesEnv) {
  g_env = {{"SSE_HEARTBEAT_INTERVAL", "5"}, {"TAGSTREAM_THREADS", "3"}};
  const auto path = write("a.toml",
                          "heartbeat_interval = 6\n"
                          "listen = \"0.0.0.0:8081\"\n"
                          "simulator = false\n"
                          "data_check_interval = 0.25\n"
                          "log_level = \"warn\"\n");
  const ServerConfig c = ok({"--config", path});
  EXPECT_EQ(c.heartbeat_interval, 6.0);
  EXPECT_EQ(c.threads, 3);  // not in the file: env stays
  EXPECT_EQ(c.listen, "0.0.0.0:8081");
  EXPECT_FALSE(c.simulator);
  EXPECT_EQ(c.data_check_interval, 0.25);
  EXPECT_EQ(c.log_level, "warn");
}

TEST_F(Config, FileFromEnvVariable) {
  g_env = {{"TAGSTREAM_CONFIG", write("b.toml", "retry_ms = 1234\n")}};
  EXPECT_EQ(ok({}).retry_ms, 1234);
}

TEST_F(Config, ConfigFlagBeatsConfigEnv) {
  g_env = {{"TAGSTREAM_CONFIG", write("env.toml", "retry_ms = 1\n")}};
  EXPECT_EQ(ok({"--config=" + write("flag.toml", "retry_ms = 2\n")}).retry_ms, 2);
}

TEST_F(Config, FlagOverridesFile) {
  const auto path = write("c.toml", "heartbeat_interval = 6\nsimulator = false\n");
  const ServerConfig c = ok({"--heartbeat-interval", "7", "--config", path, "--simulator"});
  EXPECT_EQ(c.heartbeat_interval, 7.0);
  EXPECT_TRUE(c.simulator);
}

TEST_F(Config, FullPrecedenceChain) {
  EXPECT_EQ(ok({}).max_streams, 10000);
  g_env = {{"TAGSTREAM_MAX_STREAMS", "1"}};
  EXPECT_EQ(ok({}).max_streams, 1);
  const auto path = write("d.toml", "max_streams = 2\n");
  EXPECT_EQ(ok({"--config", path}).max_streams, 2);
  EXPECT_EQ(ok({"--config", path, "--max-streams", "3"}).max_streams, 3);
}

TEST_F(Config, FlagForms) {
  const ServerConfig c =
      ok({"--threads=8", "--retry-ms", "250", "--listen=[::1]:9000", "--log-level", "error"});
  EXPECT_EQ(c.threads, 8);
  EXPECT_EQ(c.retry_ms, 250);
  EXPECT_EQ(c.listen, "[::1]:9000");
  EXPECT_EQ(c.log_level, "error");
}

TEST_F(Config, RepeatedFlagLastWins) {
  EXPECT_EQ(ok({"--threads", "2", "--threads", "5"}).threads, 5);
}

TEST_F(Config, Booleans) {
  EXPECT_FALSE(ok({"--no-simulator"}).simulator);
  EXPECT_TRUE(ok({"--no-simulator", "--simulator"}).simulator);
  EXPECT_FALSE(ok({"--simulator=false"}).simulator);
  EXPECT_TRUE(ok({"--simulator=1"}).simulator);
  g_env = {{"TAGSTREAM_SIMULATOR", "false"}};
  EXPECT_TRUE(ok({"--simulator"}).simulator);
  // A boolean flag does not swallow the next argument.
  EXPECT_TRUE(StartsWith(err({"--simulator", "false"}), "unexpected argument \"false\""));
  EXPECT_TRUE(StartsWith(err({"--no-simulator=true"}), "--no-simulator:"));
}

TEST_F(Config, Port) {
  EXPECT_EQ(ok({"--port", "9090"}).listen, "127.0.0.1:9090");
  EXPECT_EQ(ok({"--listen", "[::1]:8080", "--port=0"}).listen, "[::1]:0");
  // --port applies after --listen whatever the order on the command line.
  EXPECT_EQ(ok({"--port", "9", "--listen", "0.0.0.0:1"}).listen, "0.0.0.0:9");
  g_env = {{"TAGSTREAM_LISTEN", "10.0.0.1:80"}, {"TAGSTREAM_PORT", "81"}};
  EXPECT_EQ(ok({}).listen, "10.0.0.1:81");
  EXPECT_EQ(ok({"--port", "82"}).listen, "10.0.0.1:82");
  EXPECT_EQ(ok({"--config", write("p.toml", "port = 83\n")}).listen, "10.0.0.1:83");
  // A file's listen replaces the whole address, port from env included.
  EXPECT_EQ(ok({"--config", write("q.toml", "listen = \"10.0.0.2:1\"\n")}).listen, "10.0.0.2:1");
}

TEST_F(Config, SizeSuffixes) {
  EXPECT_EQ(ok({"--client-buffer-bytes", "256k"}).client_buffer_bytes, 262144u);
  EXPECT_EQ(ok({"--client-buffer-bytes", "256K"}).client_buffer_bytes, 262144u);
  EXPECT_EQ(ok({"--client-buffer-bytes", "256KiB"}).client_buffer_bytes, 262144u);
  EXPECT_EQ(ok({"--client-buffer-bytes", "2M"}).client_buffer_bytes, 2u << 20);
  EXPECT_EQ(ok({"--client-buffer-bytes", "2MB"}).client_buffer_bytes, 2u << 20);
  EXPECT_EQ(ok({"--max-body-bytes", "1G"}).max_body_bytes, std::size_t{1} << 30);
  EXPECT_EQ(ok({"--max-body-bytes", "1000"}).max_body_bytes, 1000u);
  EXPECT_EQ(ok({"--max-body-bytes", "0"}).max_body_bytes, 0u);
}

TEST_F(Config, SizesInTomlAsStringOrInteger) {
  const ServerConfig c =
      ok({"--config", write("s.toml", "client_buffer_bytes = \"128k\"\nmax_body_bytes = 262144\n")});
  EXPECT_EQ(c.client_buffer_bytes, 131072u);
  EXPECT_EQ(c.max_body_bytes, 262144u);
}

TEST_F(Config, TomlIntegerForSecondsAndSeed) {
  const ServerConfig c =
      ok({"--config", write("i.toml", "idle_timeout = 5\nheader_timeout = 1.5\nsimulator_seed = 9\n")});
  EXPECT_EQ(c.idle_timeout, 5.0);
  EXPECT_EQ(c.header_timeout, 1.5);
  EXPECT_EQ(c.simulator_seed, 9u);
}

TEST_F(Config, SeedRandomResetsIt) {
  g_env = {{"TAGSTREAM_SIMULATOR_SEED", "3"}};
  EXPECT_EQ(ok({}).simulator_seed, 3u);
  EXPECT_EQ(ok({"--simulator-seed", "random"}).simulator_seed, std::nullopt);
}

TEST_F(Config, FractionalAndZeroDataCheckInterval) {
  EXPECT_EQ(ok({"--data-check-interval", "0.005"}).data_check_interval, 0.005);
  EXPECT_EQ(ok({"--data-check-interval", "0"}).data_check_interval, 0.0);
}

TEST_F(Config, StoreIsALibpqConnectionStringOrEmpty) {
  EXPECT_EQ(ok({}).store_url, "");
  EXPECT_EQ(ok({"--store", "postgres://ts@db:5432/h"}).store_url, "postgres://ts@db:5432/h");
  EXPECT_EQ(ok({"--store", "postgresql://db/h"}).store_url, "postgresql://db/h");
  EXPECT_EQ(ok({"--store", "host=db dbname=h"}).store_url, "host=db dbname=h");
  g_env["TAGSTREAM_STORE"] = "postgres://env/h";
  EXPECT_EQ(ok({}).store_url, "postgres://env/h");
  EXPECT_TRUE(StartsWith(err({"--store", "mysql://db/h"}), "--store: expected a postgres:// URL"));
  EXPECT_TRUE(StartsWith(err({"--store", "/var/lib/h.db"}), "--store: expected a postgres:// URL"));
}

TEST_F(Config, StoreUrlPasswordsAreMaskedForLogs) {
  EXPECT_EQ(redact_store_url("postgres://ts:s3cret@db:5432/h"), "postgres://ts:***@db:5432/h");
  EXPECT_EQ(redact_store_url("postgres://ts@db:5432/h?password=s3cret&sslmode=require"),
            "postgres://ts@db:5432/h?password=***&sslmode=require");
  EXPECT_EQ(redact_store_url("host=db password=s3cret dbname=h"), "host=db password=*** dbname=h");
  EXPECT_EQ(redact_store_url("postgres://db:5432/h"), "postgres://db:5432/h");
}

TEST_F(Config, LogLevelCaseAndAlias) {
  EXPECT_EQ(ok({"--log-level", "WARNING"}).log_level, "warn");
  EXPECT_EQ(ok({"--log-level", "Debug"}).log_level, "debug");
}

TEST_F(Config, ValidationErrorsNameTheFlag) {
  EXPECT_TRUE(StartsWith(err({"--heartbeat-interval", "0"}), "--heartbeat-interval: must be greater than 0"));
  EXPECT_TRUE(StartsWith(err({"--heartbeat-interval", "-1"}), "--heartbeat-interval:"));
  EXPECT_TRUE(StartsWith(err({"--heartbeat-interval", "nan"}), "--heartbeat-interval: expected a number"));
  EXPECT_TRUE(
      StartsWith(err({"--heartbeat-interval", "1e9"}), "--heartbeat-interval: must be at most 86400"));
  EXPECT_TRUE(
      StartsWith(err({"--data-check-interval", "-0.1"}), "--data-check-interval: must be at least 0"));
  EXPECT_TRUE(StartsWith(err({"--threads", "10abc"}), "--threads: expected an integer, got \"10abc\""));
  EXPECT_TRUE(StartsWith(err({"--threads", "257"}), "--threads: must be between 0 and 256"));
  EXPECT_TRUE(StartsWith(err({"--threads", "-1"}), "--threads:"));
  EXPECT_TRUE(StartsWith(err({"--threads", "1.5"}), "--threads: expected an integer"));
  EXPECT_TRUE(StartsWith(err({"--max-reconnect-attempts", "x"}), "--max-reconnect-attempts:"));
  EXPECT_TRUE(StartsWith(err({"--retry-ms", "-5"}), "--retry-ms:"));
  EXPECT_TRUE(StartsWith(err({"--max-streams", "0"}), "--max-streams:"));
  EXPECT_TRUE(StartsWith(err({"--max-streams-per-client", "99999999999"}), "--max-streams-per-client:"));
  EXPECT_TRUE(StartsWith(err({"--slow-client-timeout", "0"}), "--slow-client-timeout:"));
  EXPECT_TRUE(StartsWith(err({"--replay-buffer", "1k"}), "--replay-buffer: expected an integer"));
  EXPECT_TRUE(StartsWith(err({"--shutdown-grace", "-1"}), "--shutdown-grace:"));
  EXPECT_TRUE(StartsWith(err({"--simulator-rate", "0"}), "--simulator-rate:"));
  EXPECT_TRUE(StartsWith(err({"--simulator-seed", "-1"}), "--simulator-seed:"));
  EXPECT_TRUE(StartsWith(err({"--simulator=maybe"}), "--simulator: expected true or false"));
  EXPECT_TRUE(
      StartsWith(err({"--log-level", "verbose"}), "--log-level: expected debug, info, warn or error"));
}

TEST_F(Config, PlantNetworkLimits) {
  const ServerConfig defaults = ok({});
  EXPECT_EQ(defaults.max_connections, 0);  // derived from the open-file limit at start
  EXPECT_EQ(defaults.max_connections_per_client, 1000);
  EXPECT_TRUE(defaults.trusted_proxies.empty());
  EXPECT_TRUE(defaults.cors_origins.empty());
  EXPECT_GT(defaults.write_rate_limit, 0);
  EXPECT_GT(defaults.history_rate_limit, 0);

  g_env["TAGSTREAM_TRUSTED_PROXIES"] = "127.0.0.1, 10.0.0.0/8";
  const auto file = write("t.toml", "cors_origins = \"https://HMI.example\"\nwrite_rate_limit = 0\n");
  const ServerConfig c = ok({"--config", file, "--history-rate-limit", "2.5", "--max-connections", "500"});
  EXPECT_TRUE(c.trusted_proxies.contains(boost::asio::ip::make_address("10.1.2.3")));
  EXPECT_FALSE(c.trusted_proxies.contains(boost::asio::ip::make_address("192.168.1.1")));
  EXPECT_EQ(c.cors_origins, std::vector<std::string>{"https://hmi.example"});
  EXPECT_EQ(c.write_rate_limit, 0);
  EXPECT_EQ(c.history_rate_limit, 2.5);
  EXPECT_EQ(c.max_connections, 500);

  g_env.clear();
  EXPECT_TRUE(
      StartsWith(err({"--trusted-proxies", "nginx"}), "--trusted-proxies: \"nginx\" is not an IP address"));
  EXPECT_TRUE(StartsWith(err({"--trusted-proxies", "10.0.0.0/40"}), "--trusted-proxies: bad prefix length"));
  EXPECT_TRUE(StartsWith(err({"--cors-origins", "hmi.example"}), "--cors-origins:"));
  EXPECT_TRUE(StartsWith(err({"--write-rate-limit", "-1"}), "--write-rate-limit:"));
  EXPECT_TRUE(StartsWith(err({"--max-connections-per-client", "0"}), "--max-connections-per-client:"));
}

TEST_F(Config, SizeErrors) {
  EXPECT_TRUE(StartsWith(err({"--client-buffer-bytes", "10X"}), "--client-buffer-bytes: expected a size"));
  EXPECT_TRUE(StartsWith(err({"--client-buffer-bytes", "k"}), "--client-buffer-bytes:"));
  EXPECT_TRUE(StartsWith(err({"--client-buffer-bytes", "1.5M"}), "--client-buffer-bytes:"));
  EXPECT_TRUE(StartsWith(err({"--client-buffer-bytes", "-1"}), "--client-buffer-bytes:"));
  EXPECT_TRUE(StartsWith(err({"--client-buffer-bytes", "0"}), "--client-buffer-bytes: must be at least 1"));
  EXPECT_TRUE(StartsWith(err({"--max-body-bytes", "99999999999G"}), "--max-body-bytes:"));
  EXPECT_TRUE(StartsWith(err({"--max-body-bytes", "1Kb"}), "--max-body-bytes:"));
}

TEST_F(Config, ListenErrors) {
  EXPECT_TRUE(StartsWith(err({"--listen", "localhost"}), "--listen: expected HOST:PORT"));
  EXPECT_TRUE(StartsWith(err({"--listen", "::1:8080"}), "--listen: an IPv6 address needs brackets"));
  EXPECT_TRUE(StartsWith(err({"--listen", ":8080"}), "--listen: missing host"));
  EXPECT_TRUE(StartsWith(err({"--listen", "127.0.0.1:65536"}), "--listen: port must be between 0 and 65535"));
  EXPECT_TRUE(StartsWith(err({"--listen", "127.0.0.1:"}), "--listen: expected a port"));
  EXPECT_TRUE(StartsWith(err({"--listen", "127.0.0.1:8x"}), "--listen: expected a port"));
  EXPECT_TRUE(StartsWith(err({"--listen", "[::1:80"}), "--listen: unclosed '['"));
  EXPECT_TRUE(StartsWith(err({"--listen", "[::1]80"}), "--listen: expected [IPv6]:PORT"));
  EXPECT_TRUE(StartsWith(err({"--listen", "plant-gw.local:80"}), "--listen: host must be an IPv4 address"));
  EXPECT_TRUE(StartsWith(err({"--listen", "[1.2.3.4]:80"}), "--listen: host must be an IPv6 address"));
  EXPECT_TRUE(StartsWith(err({"--port", "65536"}), "--port: must be between 0 and 65535"));
  EXPECT_TRUE(StartsWith(err({"--port", "http"}), "--port: expected a port number"));
}

TEST_F(Config, EnvErrorNamesTheVariable) {
  g_env = {{"SSE_HEARTBEAT_INTERVAL", "abc"}};
  EXPECT_EQ(err({}), "SSE_HEARTBEAT_INTERVAL: expected a number of seconds, got \"abc\"");
  g_env = {{"TAGSTREAM_SIMULATOR", "perhaps"}};
  EXPECT_TRUE(StartsWith(err({}), "TAGSTREAM_SIMULATOR:"));
}

TEST_F(Config, FileValueErrorNamesKeyFileAndLine) {
  const auto path = write("v.toml", "threads = 2\nheartbeat_interval = 0\n");
  const auto e = err({"--config", path});
  EXPECT_TRUE(StartsWith(e, "heartbeat_interval: must be greater than 0"));
  EXPECT_TRUE(Contains(e, path + ":2"));
}

TEST_F(Config, FileTypeMismatch) {
  EXPECT_TRUE(StartsWith(err({"--config", write("t1.toml", "heartbeat_interval = \"5\"\n")}),
                         "heartbeat_interval: expected a number, got a string"));
  EXPECT_TRUE(StartsWith(err({"--config", write("t2.toml", "threads = 2.5\n")}),
                         "threads: expected an integer, got a float"));
  EXPECT_TRUE(StartsWith(err({"--config", write("t3.toml", "simulator = \"no\"\n")}),
                         "simulator: expected true or false, got a string"));
  EXPECT_TRUE(StartsWith(err({"--config", write("t4.toml", "listen = 8080\n")}),
                         "listen: expected a string, got an integer"));
  EXPECT_TRUE(StartsWith(err({"--config", write("t5.toml", "client_buffer_bytes = \"lots\"\n")}),
                         "client_buffer_bytes: expected a size"));
}

TEST_F(Config, UnknownTomlKey) {
  const auto path = write("u.toml", "threads = 2\nheartbeat_intervall = 5\n");
  const auto e = err({"--config", path});
  EXPECT_TRUE(StartsWith(e, "config file " + path + ":2: unknown key \"heartbeat_intervall\"")) << e;
  EXPECT_TRUE(Contains(e, "did you mean \"heartbeat_interval\"?"));
  // Dashed spellings (the flag's) are not keys; the hint points to the key.
  EXPECT_TRUE(Contains(err({"--config", write("u2.toml", "log-level = \"info\"\n")}), "\"log_level\""));
  // Tables are not part of the format.
  EXPECT_TRUE(
      Contains(err({"--config", write("u3.toml", "[server]\nthreads = 1\n")}), "unknown key \"server\""));
  // `config` is a flag only.
  EXPECT_TRUE(Contains(err({"--config", write("u4.toml", "config = \"x\"\n")}), "unknown key \"config\""));
}

TEST_F(Config, MissingConfigFile) {
  const auto path = (dir_ / "nope.toml").string();
  const auto e = err({"--config", path});
  EXPECT_TRUE(StartsWith(e, "config file " + path + ": cannot open")) << e;
  EXPECT_TRUE(Contains(e, "No such file"));
  EXPECT_TRUE(
      StartsWith(err({"--config", dir_.string()}), "config file " + dir_.string() + ": is a directory"));
}

TEST_F(Config, UnparsableConfigFile) {
  const auto path = write("bad.toml", "threads = 2\nlisten = \"unterminated\n");
  const auto e = err({"--config", path});
  EXPECT_TRUE(StartsWith(e, "config file " + path + ":2:")) << e;
  // toml++'s own description follows.
  EXPECT_GT(e.size(), ("config file " + path + ":2:1: ").size());
}

TEST_F(Config, FlagErrors) {
  auto e = err({"--heartbeat-intervall", "3"});
  EXPECT_TRUE(StartsWith(e, "unknown option \"--heartbeat-intervall\""));
  EXPECT_TRUE(Contains(e, "did you mean --heartbeat-interval?"));
  EXPECT_TRUE(StartsWith(err({"--frobnicate"}), "unknown option \"--frobnicate\""));
  EXPECT_TRUE(StartsWith(err({"--no-threads"}), "unknown option \"--no-threads\""));
  EXPECT_TRUE(StartsWith(err({"-v"}), "unexpected argument \"-v\""));
  EXPECT_TRUE(StartsWith(err({"serve"}), "unexpected argument \"serve\""));
  EXPECT_TRUE(StartsWith(err({"--threads"}), "--threads: missing value"));
  EXPECT_TRUE(StartsWith(err({"--config"}), "--config: missing value"));
  EXPECT_TRUE(StartsWith(err({"--config="}), "--config: missing file name"));
}

TEST_F(Config, Help) {
  for (const Args& args :
       {Args{"--help"}, Args{"-h"}, Args{"--threads", "2", "--help"}, Args{"--bogus", "-h"}}) {
    auto r = load_server_config(args, fake_env);
    EXPECT_TRUE(r.show_help);
    EXPECT_EQ(r.error, "");
  }
}

TEST_F(Config, HelpTextMentionsEverything) {
  const std::string h = server_help_text();
  EXPECT_TRUE(StartsWith(h, "Usage: tagstream serve [options]\n"));
  for (const char* env : {"SSE_HEARTBEAT_INTERVAL",
                          "SSE_DATA_CHECK_INTERVAL",
                          "SSE_MAX_RECONNECT_ATTEMPTS",
                          "SSE_RETRY_MS",
                          "TAGSTREAM_CONFIG",
                          "TAGSTREAM_LISTEN",
                          "TAGSTREAM_PORT",
                          "TAGSTREAM_THREADS",
                          "TAGSTREAM_MAX_STREAMS",
                          "TAGSTREAM_MAX_STREAMS_PER_CLIENT",
                          "TAGSTREAM_CLIENT_BUFFER_BYTES",
                          "TAGSTREAM_SLOW_CLIENT_TIMEOUT",
                          "TAGSTREAM_REPLAY_BUFFER",
                          "TAGSTREAM_MAX_HEADER_BYTES",
                          "TAGSTREAM_MAX_BODY_BYTES",
                          "TAGSTREAM_HEADER_TIMEOUT",
                          "TAGSTREAM_IDLE_TIMEOUT",
                          "TAGSTREAM_SHUTDOWN_GRACE",
                          "TAGSTREAM_SIMULATOR",
                          "TAGSTREAM_SIMULATOR_RATE",
                          "TAGSTREAM_SIMULATOR_SEED",
                          "TAGSTREAM_LOG_LEVEL",
                          "TAGSTREAM_STORE"})
    EXPECT_TRUE(Contains(h, std::string("env: ") + env));
  for (const char* s :
       {"--heartbeat-interval SECONDS  (default: 30)", "toml: heartbeat_interval",
        "--data-check-interval SECONDS  (default: 0.1)", "--listen HOST:PORT  (default: 127.0.0.1:8080)",
        "--client-buffer-bytes SIZE  (default: 256k)", "--max-body-bytes SIZE  (default: 16M)",
        "--simulator, --no-simulator  (default: true)", "--log-level LEVEL  (default: info)",
        "--simulator-seed N  (default: random)", "--port PORT", "--config FILE", "-h, --help"})
    EXPECT_TRUE(Contains(h, s));
  // Wrapped for an 80-column terminal.
  std::size_t start = 0;
  while (start < h.size()) {
    const auto nl = h.find('\n', start);
    EXPECT_LE(nl - start, 80u) << h.substr(start, nl - start);
    start = nl + 1;
  }
}

TEST_F(Config, NodeId) {
  EXPECT_EQ(ok({}).node_id, "");  // filled with hostname:port by the app once the port is bound
  EXPECT_EQ(ok({"--node-id", "plant-a.hmi_1:8080"}).node_id, "plant-a.hmi_1:8080");
  g_env["TAGSTREAM_NODE_ID"] = "node-b";
  EXPECT_EQ(ok({}).node_id, "node-b");
  EXPECT_EQ(ok({"--config", write("n.toml", "node_id = \"node-c\"\n")}).node_id, "node-c");
  g_env.clear();
  EXPECT_TRUE(Contains(err({"--node-id", "a b"}), "--node-id: may hold only letters"));
  EXPECT_TRUE(Contains(err({"--node-id", "a\"b"}), "--node-id: may hold only letters"));
  EXPECT_TRUE(Contains(err({"--node-id", ""}), "--node-id: must not be empty"));
  EXPECT_TRUE(Contains(err({"--node-id", std::string(65, 'n')}), "at most 64 characters"));
  EXPECT_EQ(ok({"--node-id", std::string(64, 'n')}).node_id.size(), 64u);
}

TEST_F(Config, ProcessEnvReadsRealEnvironment) {
  ::setenv("TAGSTREAM_CONFIG_TEST_PROBE", "x", 1);
  EXPECT_EQ(process_env("TAGSTREAM_CONFIG_TEST_PROBE"), "x");
  ::unsetenv("TAGSTREAM_CONFIG_TEST_PROBE");
  EXPECT_EQ(process_env("TAGSTREAM_CONFIG_TEST_PROBE"), std::nullopt);
}

}  // namespace
}  // namespace tagstream

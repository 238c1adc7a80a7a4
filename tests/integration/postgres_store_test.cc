// The server on the PostgreSQL store (--store postgres://...): the real
// binary writes to a private PostgreSQL started by this test binary, is
// killed with SIGKILL, and a restarted one serves the same history and
// latest values from the database.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>

#include "store/pg_server.h"
#include "support.h"

namespace tagstream::test {
namespace {

[[maybe_unused]] ::testing::Environment* const kPgEnvironment =
    ::testing::AddGlobalTestEnvironment(new tagstream::testing::PgEnvironment);

constexpr TimeNs kT0 = 1'764'000'000LL * kNanosPerSecond;  // 2025-11-24T16:00:00Z
constexpr int kPoints = 150;

unsigned short start_server(Child& child) {
  auto listening =
      child.wait_for(std::regex("listening on 127\\.0\\.0\\.1:(\\d+)"), std::chrono::seconds(30));
  if (!listening) return 0;
  return static_cast<unsigned short>(std::stoi((*listening)[1]));
}

TEST(PostgresStore, HistoryAndLatestSurviveAKilledServer) {
  std::string why;
  tagstream::testing::PgServer* pg = tagstream::testing::PgEnvironment::server(&why);
  if (!pg) GTEST_SKIP() << "PostgreSQL runs skipped: " << why;
  const std::string url = pg->create_database();
  const std::string dir = make_temp_dir();
  const std::vector<std::string> args = {
      TAGSTREAM_BINARY, "serve", "--listen", "127.0.0.1:0", "--no-simulator", "--data-dir", dir,
      "--store",        url};
  {
    Child child(args);
    const unsigned short port = start_server(child);
    ASSERT_NE(port, 0) << "server did not start: " << child.err;
    // Two tags, one sample a second; 204 means committed.
    for (int batch = 0; batch < 3; ++batch) {
      std::string body;
      for (int i = batch * kPoints / 3; i < (batch + 1) * kPoints / 3; ++i) {
        const std::string ts = std::to_string(kT0 + static_cast<TimeNs>(i) * kNanosPerSecond);
        body += "boiler1 temperature=" + std::to_string(i) + " " + ts + "\n";
        body += "boiler1 pressure=" + std::to_string(1000 - i) + " " + ts + "\n";
      }
      ASSERT_EQ(http_post(port, "/write", body).status, 204);
    }
    ::kill(child.pid, SIGKILL);
    EXPECT_EQ(child.wait_exit(std::chrono::seconds(10)), 128 + SIGKILL);
  }
  // Everything went to PostgreSQL, nothing to the SQLite file.
  EXPECT_EQ(tagstream::testing::rows_in_database(url), 2 * kPoints);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir) / "tagstream.db"));

  Child child(args);
  const unsigned short port = start_server(child);
  ASSERT_NE(port, 0) << "server did not restart: " << child.err;
  const std::string range = "&from=2025-11-24T15:00:00Z&to=2025-11-24T17:00:00Z";
  const auto raw = http_get(port, "/api/data/history?tags[]=boiler1.temperature&interval=raw" + range);
  ASSERT_EQ(raw.status, 200) << raw.body;
  const auto points = boost::json::parse(raw.body).at("series").at(0).at("points").as_array();
  ASSERT_EQ(points.size(), static_cast<std::size_t>(kPoints));
  for (int i = 0; i < kPoints; ++i) EXPECT_EQ(points[i].at("v").to_number<double>(), i) << i;

  // The minute rollups: 150 s from 16:00:00 fill 16:00 and 16:01, and 30 s of 16:02.
  const auto minutes = http_get(port, "/api/data/history?tags[]=boiler1.pressure&interval=minute" + range);
  ASSERT_EQ(minutes.status, 200) << minutes.body;
  const auto buckets = boost::json::parse(minutes.body).at("series").at(0).at("points").as_array();
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets[0].at("count").to_number<int>(), 60);
  EXPECT_EQ(buckets[0].at("max").to_number<double>(), 1000);
  EXPECT_EQ(buckets[2].at("count").to_number<int>(), 30);
  EXPECT_EQ(buckets[2].at("last").to_number<double>(), 1000 - (kPoints - 1));

  const auto latest = http_get(port, "/api/data/latest?tags[]=boiler1.*");
  ASSERT_EQ(latest.status, 200) << latest.body;
  const auto latest_points = boost::json::parse(latest.body).at("points").as_array();
  ASSERT_EQ(latest_points.size(), 2u);
  for (const auto& p : latest_points) {
    const std::string tag(p.at("tag").as_string());
    EXPECT_EQ(p.at("v").to_number<double>(),
              tag == "boiler1.temperature" ? kPoints - 1 : 1000 - (kPoints - 1))
        << tag;
  }

  // The restarted server keeps writing to the same rows: a retried point
  // (same tag and timestamp) replaces, it does not add.
  const std::string again = "boiler1 temperature=-1 " + std::to_string(kT0) + "\n";
  ASSERT_EQ(http_post(port, "/write", again).status, 204);
  EXPECT_EQ(tagstream::testing::rows_in_database(url), 2 * kPoints);
  ::kill(child.pid, SIGTERM);
  child.wait_exit(std::chrono::seconds(10));
}

TEST(PostgresStore, UnreachableDatabaseFailsStartWithAClearMessage) {
  const std::string dir = make_temp_dir();
  // A port nothing listens on: bound, then closed.
  Child child({TAGSTREAM_BINARY, "serve", "--listen", "127.0.0.1:0", "--no-simulator", "--data-dir", dir,
               "--store", "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=5"});
  EXPECT_NE(child.wait_exit(std::chrono::seconds(30)), 0);
  EXPECT_NE(child.err.find("postgres"), std::string::npos) << child.err;
  EXPECT_EQ(child.err.find("secret"), std::string::npos) << "the password must not be logged: " << child.err;
}

}  // namespace
}  // namespace tagstream::test

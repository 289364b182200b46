// find's options into find_request filters: sizes, times, types, digests.

#include <catch2/catch.hpp>

#include "shell/command.hpp"
#include "shell/find_options.hpp"

using namespace dirscope;
using namespace dirscope::shell;

namespace {

constexpr int64_t s = 1'000'000'000;
constexpr int64_t now = 2'000'000'000 * s;

outcome<protocol::find_request> parse(const std::string& line) {
  auto cmd = parse_command(line);
  REQUIRE(cmd.ok());
  return parse_find_options(*cmd, now);
}

protocol::find_request ok(const std::string& line) {
  auto r = parse(line);
  INFO(line << ": " << (r ? std::string{} : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

} // namespace

TEST_CASE("find --size: + larger, - smaller, exact; k M G are 1024^n",
          "[find_options]") {
  auto r = ok("find / --size +1k");
  CHECK(r.min_size == 1025u);
  CHECK_FALSE(r.max_size);
  r = ok("find / --size -1M");
  CHECK(r.max_size == (1u << 20) - 1);
  r = ok("find / --size=2G");
  CHECK(r.min_size == (2ull << 30));
  CHECK(r.max_size == (2ull << 30));
  CHECK_FALSE(parse("find / --size=-0").ok());
  CHECK_FALSE(parse("find / --size 1T").ok());
  CHECK_FALSE(parse("find / --size +").ok());
  CHECK_FALSE(parse("find / --size 99999999999999999999").ok());
  CHECK_FALSE(parse("find / --size 18446744073709551615G").ok());
}

TEST_CASE("find --mtime and --newer", "[find_options]") {
  auto r = ok("find / --mtime -7d");
  CHECK(r.min_mtime_ns == now - 7 * 86400 * s);
  CHECK_FALSE(r.max_mtime_ns);
  r = ok("find / --mtime +2h");
  CHECK(r.max_mtime_ns == now - 2 * 3600 * s);
  r = ok("find / --mtime 1");
  CHECK(r.min_mtime_ns == now - 2 * 86400 * s);
  CHECK(r.max_mtime_ns == now - 86400 * s);
  r = ok("find / --newer @1000");
  CHECK(r.min_mtime_ns == 1000 * s + 1);
  r = ok("find / --newer 2026-11-24T08:00:00Z");
  CHECK(r.min_mtime_ns == int64_t{1'795'507'200} * s + 1);
  r = ok("find / --newer 1970-01-02Z");
  CHECK(r.min_mtime_ns == 86400 * s + 1);
  CHECK_FALSE(parse("find / --newer @1 --mtime -1d").ok());
  CHECK_FALSE(parse("find / --newer 2026-13-01").ok());
  CHECK_FALSE(parse("find / --newer yesterday").ok());
  CHECK_FALSE(parse("find / --mtime -3y").ok());
  CHECK_FALSE(parse("find / --mtime -99999999999d").ok());
}

TEST_CASE("find --type, --sha256, --max-depth, globs, --hash",
          "[find_options]") {
  auto r = ok("find / --type f,d");
  CHECK(r.types == (protocol::find_types::file | protocol::find_types::dir));
  CHECK(ok("find / --type l").types == protocol::find_types::symlink);
  CHECK_FALSE(parse("find / --type x").ok());
  CHECK_FALSE(parse("find / --type ,").ok());
  auto hex = std::string(64, 'a');
  r = ok("find / --sha256 " + hex);
  REQUIRE(r.sha256);
  CHECK((*r.sha256)[0] == 0xaa);
  CHECK_FALSE(parse("find / --sha256 " + std::string(63, 'a')).ok());
  CHECK_FALSE(parse("find / --sha256 " + std::string(64, 'g')).ok());
  CHECK(ok("find / --max-depth 0").max_depth == 0u);
  CHECK_FALSE(parse("find / --max-depth -1").ok());
  r = ok("find / --name 'caf\\xe9*' --path 'a/*'");
  CHECK(r.name_glob == std::string{"caf\xe9*"});
  CHECK(r.path_glob == std::string{"a/*"});
  CHECK_FALSE(parse("find / --name 'bad\\q'").ok());
  CHECK(ok("find / --hash").flags == protocol::find_flags::with_hashes);
  CHECK(ok("find").flags == 0);
}

#include "shell/render.hpp"
#include "shell/nodes_view.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <optional>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace dirscope;
using namespace dirscope::shell;

using nlohmann::json;

namespace {

constexpr int64_t ns = 1'000'000'000;

// 2026-11-24T08:00:29Z
constexpr int64_t winter_ns = 1'795'507'229 * ns;

// 2026-07-01T12:00:00Z
constexpr int64_t summer_ns = 1'782'907'200 * ns;

/// Sets TZ for one scope and restores the previous value afterwards.
class tz_guard {
public:
  explicit tz_guard(const char* zone) {
    if (auto old = std::getenv("TZ"))
      old_ = old;
    setenv("TZ", zone, 1);
    tzset();
  }

  ~tz_guard() {
    if (old_)
      setenv("TZ", old_->c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }

private:
  std::optional<std::string> old_;
};

protocol::sha256_digest sample_digest() {
  protocol::sha256_digest result;
  for (size_t i = 0; i < result.size(); ++i)
    result[i] = static_cast<uint8_t>(i * 8 + 1);
  return result;
}

const std::string sample_hex
  = "0109111921293139414951596169717981899199a1a9b1b9c1c9d1d9e1e9f1f9";

protocol::entry file_entry() {
  protocol::entry x;
  x.name = "a.txt";
  x.type = protocol::entry_type::file;
  x.mtime_ns = winter_ns;
  x.size = 12;
  x.sha256 = sample_digest();
  return x;
}

protocol::entry dir_entry() {
  protocol::entry x;
  x.name = "docs";
  x.type = protocol::entry_type::dir;
  x.mtime_ns = winter_ns;
  x.size = 4096;
  x.items = 3;
  return x;
}

protocol::entry link_entry() {
  protocol::entry x;
  x.name = "etc-link";
  x.type = protocol::entry_type::symlink;
  x.mtime_ns = winter_ns;
  x.size = 4;
  x.target = "/etc";
  return x;
}

protocol::entry error_entry() {
  protocol::entry x;
  x.name = "secret";
  x.type = protocol::entry_type::file;
  x.mtime_ns = winter_ns;
  x.size = 10;
  x.error = protocol::entry_error{wire_code::permission_denied,
                                  "permission denied"};
  return x;
}

json parse_line(const std::string& line) {
  REQUIRE_FALSE(line.empty());
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  return json::parse(line);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> result;
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    REQUIRE(end != std::string::npos);
    result.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return result;
}

std::vector<std::string> keys_of(const json& obj) {
  std::vector<std::string> result;
  for (auto& [key, value] : obj.items())
    result.push_back(key);
  std::sort(result.begin(), result.end());
  return result;
}

using strings = std::vector<std::string>;

} // namespace

// -- time ---------------------------------------------------------------------

TEST_CASE("time formatting in UTC") {
  tz_guard tz{"UTC"};
  CHECK(format_local_time(winter_ns) == "2026-11-24T08:00:29");
  CHECK(format_rfc3339(winter_ns) == "2026-11-24T08:00:29+00:00");
  CHECK(format_local_time(winter_ns + 999'999'999) == "2026-11-24T08:00:29");
  CHECK(format_local_time(0) == "1970-01-01T00:00:00");
  SECTION("times before the epoch round down") {
    CHECK(format_local_time(-1) == "1969-12-31T23:59:59");
    CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59+00:00");
    CHECK(format_local_time(-ns) == "1969-12-31T23:59:59");
    CHECK(format_local_time(-ns - 1) == "1969-12-31T23:59:58");
    CHECK(format_local_time(-315'619'200 * ns) == "1960-01-01T00:00:00");
  }
}

TEST_CASE("time formatting in Europe/Stockholm") {
  tz_guard tz{"Europe/Stockholm"};
  CHECK(format_local_time(winter_ns) == "2026-11-24T09:00:29");
  CHECK(format_rfc3339(winter_ns) == "2026-11-24T09:00:29+01:00");
  CHECK(format_local_time(summer_ns) == "2026-07-01T14:00:00");
  CHECK(format_rfc3339(summer_ns) == "2026-07-01T14:00:00+02:00");
}

TEST_CASE("time formatting with a negative half-hour offset") {
  tz_guard tz{"America/St_Johns"};
  CHECK(format_rfc3339(winter_ns) == "2026-11-24T04:30:29-03:30");
  CHECK(format_rfc3339(summer_ns) == "2026-07-01T09:30:00-02:30");
}

TEST_CASE("tz_guard restores TZ") {
  auto before = std::getenv("TZ");
  std::optional<std::string> saved;
  if (before)
    saved = before;
  { tz_guard tz{"Asia/Tokyo"}; }
  auto after = std::getenv("TZ");
  CHECK(static_cast<bool>(after) == static_cast<bool>(saved));
  if (after && saved)
    CHECK(*saved == after);
}

// -- ls lines -----------------------------------------------------------------

TEST_CASE("ls lines show type, mtime, size, details and name") {
  tz_guard tz{"UTC"};
  auto header = render_listing_header();
  auto file = render_entry_line(file_entry());
  auto dir = render_entry_line(dir_entry());
  auto link = render_entry_line(link_entry());
  auto err = render_entry_line(error_entry());
  for (auto& line : {header, file, dir, link, err}) {
    CHECK(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);
  }
  CHECK_THAT(header, Catch::StartsWith("TYPE"));
  CHECK_THAT(header, Catch::Contains("MTIME"));
  CHECK_THAT(header, Catch::Contains("SIZE"));
  CHECK_THAT(header, Catch::Contains("ITEMS/SHA256"));
  CHECK_THAT(header, Catch::EndsWith("NAME\n"));
  SECTION("file") {
    CHECK_THAT(file, Catch::StartsWith("file "));
    CHECK_THAT(file, Catch::Contains("2026-11-24T08:00:29"));
    CHECK_THAT(file, Catch::Contains(" 12 "));
    CHECK_THAT(file, Catch::Contains(sample_hex));
    CHECK_THAT(file, Catch::EndsWith(" a.txt\n"));
  }
  SECTION("dir") {
    CHECK_THAT(dir, Catch::StartsWith("dir "));
    CHECK_THAT(dir, Catch::Contains(" 4096 "));
    CHECK_THAT(dir, Catch::Contains("3 items"));
    CHECK_THAT(dir, Catch::EndsWith(" docs\n"));
    auto one = dir_entry();
    one.items = 1;
    CHECK_THAT(render_entry_line(one), Catch::Contains("1 item "));
  }
  SECTION("symlink") {
    CHECK_THAT(link, Catch::StartsWith("link "));
    CHECK_THAT(link, Catch::EndsWith(" etc-link -> /etc\n"));
  }
  SECTION("entry with an error") {
    CHECK_THAT(err, Catch::Contains("[error: permission denied]"));
    CHECK_THAT(err, Catch::EndsWith(" secret\n"));
  }
  SECTION("columns line up: names start where NAME does") {
    auto col = header.find("NAME");
    CHECK(file.substr(col) == "a.txt\n");
    CHECK(dir.substr(col) == "docs\n");
    CHECK(link.substr(col) == "etc-link -> /etc\n");
    CHECK(header.find("SIZE") + 4 == file.find(" 12 ") + 3);
    CHECK(file.find(sample_hex) == header.find("ITEMS/SHA256"));
    CHECK(dir.find("3 items") == header.find("ITEMS/SHA256"));
  }
  SECTION("odd names are escaped") {
    auto x = file_entry();
    x.name = "caf\xff\n";
    CHECK_THAT(render_entry_line(x), Catch::EndsWith(" caf\\xff\\x0a\n"));
  }
}

TEST_CASE("ls lines of other entries") {
  tz_guard tz{"UTC"};
  protocol::entry x;
  x.name = "fifo";
  x.type = protocol::entry_type::other;
  auto line = render_entry_line(x);
  CHECK_THAT(line, Catch::StartsWith("other "));
  CHECK_THAT(line, Catch::Contains("1970-01-01T00:00:00"));
  CHECK_THAT(line, Catch::EndsWith(" fifo\n"));
}

// -- JSON entries -------------------------------------------------------------

TEST_CASE("JSON entries") {
  tz_guard tz{"UTC"};
  SECTION("file") {
    auto obj = parse_line(render_entry_json("n1", "/docs", file_entry()));
    CHECK(keys_of(obj)
          == strings{"mtime", "name", "node", "path", "sha256", "size",
                     "type"});
    CHECK(obj["node"] == "n1");
    CHECK(obj["path"] == "/docs");
    CHECK(obj["name"] == "a.txt");
    CHECK(obj["type"] == "file");
    CHECK(obj["mtime"] == "2026-11-24T08:00:29+00:00");
    CHECK(obj["size"] == 12);
    CHECK(obj["sha256"] == sample_hex);
  }
  SECTION("dir in the root") {
    auto obj = parse_line(render_entry_json("n1", "/", dir_entry()));
    CHECK(keys_of(obj)
          == strings{"items", "mtime", "name", "node", "path", "size",
                     "type"});
    CHECK(obj["path"] == "/");
    CHECK(obj["type"] == "dir");
    CHECK(obj["items"] == 3);
    CHECK(obj["items"].is_number_unsigned());
    CHECK(obj["size"] == 4096);
  }
  SECTION("symlink") {
    auto obj = parse_line(render_entry_json("n1", "/", link_entry()));
    CHECK(keys_of(obj)
          == strings{"mtime", "name", "node", "path", "size", "target",
                     "type"});
    CHECK(obj["type"] == "symlink");
    CHECK(obj["target"] == "/etc");
  }
  SECTION("entry with an error") {
    auto obj = parse_line(render_entry_json("n1", "/", error_entry()));
    CHECK(keys_of(obj)
          == strings{"error", "error_code", "mtime", "name", "node", "path",
                     "size", "type"});
    CHECK(obj["error"] == "permission denied");
    CHECK(obj["error_code"] == "permission_denied");
  }
  SECTION("other") {
    protocol::entry x;
    x.name = "sock";
    auto obj = parse_line(render_entry_json("n1", "/run", x));
    CHECK(obj["type"] == "other");
    CHECK(obj["mtime"] == "1970-01-01T00:00:00+00:00");
  }
  SECTION("invalid UTF-8 in names and targets is escaped") {
    auto x = link_entry();
    x.name = "bad\xff";
    x.target = "t\xfe";
    auto obj = parse_line(render_entry_json("n1", "/d\xfd", x));
    CHECK(obj["name"] == "bad\\xff");
    CHECK(obj["path"] == "/d\\xfd");
    CHECK(obj["target"] == "t\\xfe");
  }
  SECTION("valid UTF-8 stays as it is") {
    auto x = file_entry();
    x.name = "caf\xc3\xa9";
    auto obj = parse_line(render_entry_json("n1", "/", x));
    CHECK(obj["name"] == "caf\xc3\xa9");
  }
  SECTION("an error message with invalid UTF-8 does not throw") {
    auto x = error_entry();
    x.error->message = "cannot open \xff";
    auto obj = parse_line(render_entry_json("n1", "/", x));
    CHECK_THAT(obj["error"].get<std::string>(),
               Catch::StartsWith("cannot open "));
  }
}

// -- stat ---------------------------------------------------------------------

TEST_CASE("stat output") {
  tz_guard tz{"UTC"};
  auto text = render_stat("n1", "/docs/a.txt", file_entry());
  CHECK(split_lines(text)
        == strings{"node: n1", "path: /docs/a.txt", "type: file",
                   "size: 12", "mtime: 2026-11-24T08:00:29+00:00",
                   "sha256: " + sample_hex});
  text = render_stat("n1", "/docs", dir_entry());
  CHECK_THAT(text, Catch::Contains("type: dir\n"));
  CHECK_THAT(text, Catch::Contains("items: 3\n"));
  text = render_stat("n1", "/etc-link", link_entry());
  CHECK_THAT(text, Catch::Contains("type: symlink\n"));
  CHECK_THAT(text, Catch::Contains("target: /etc\n"));
  text = render_stat("n1", "/secret", error_entry());
  CHECK_THAT(text,
             Catch::Contains("error: permission denied (permission_denied)\n"));
  text = render_stat("n1", "/a\xff", file_entry());
  CHECK_THAT(text, Catch::Contains("path: /a\\xff\n"));
}

// -- tree ---------------------------------------------------------------------

TEST_CASE("tree lines") {
  CHECK(render_tree_line({false}, dir_entry())
        == "\u251c\u2500\u2500 docs/ (3 items)\n");
  CHECK(render_tree_line({true}, file_entry())
        == "\u2514\u2500\u2500 a.txt (12 bytes)\n");
  CHECK(render_tree_line({false, true}, link_entry())
        == "\u2502   \u2514\u2500\u2500 etc-link -> /etc\n");
  CHECK(render_tree_line({true, false}, file_entry())
        == "    \u251c\u2500\u2500 a.txt (12 bytes)\n");
  CHECK(render_tree_line({false, true, false}, file_entry())
        == "\u2502       \u251c\u2500\u2500 a.txt (12 bytes)\n");
  auto one = file_entry();
  one.size = 1;
  CHECK(render_tree_line({true}, one) == "\u2514\u2500\u2500 a.txt (1 byte)\n");
  CHECK_THAT(render_tree_line({true}, error_entry()),
             Catch::EndsWith("[error: permission denied]\n"));
  auto odd = dir_entry();
  odd.name = "\xff";
  odd.items.reset();
  CHECK(render_tree_line({true}, odd) == "\u2514\u2500\u2500 \\xff/\n");
}

// -- nodes --------------------------------------------------------------------

namespace {

std::vector<node_info> sample_nodes() {
  node_info a;
  a.id = 1;
  a.name = "n1";
  a.hostname = "alpha";
  a.root = "/srv/data";
  a.address = "127.0.0.1";
  a.port = 40000;
  a.connected_ns = winter_ns;
  a.last_heartbeat_ns = winter_ns + 5 * ns;
  node_info b;
  b.id = 12;
  b.name = "node-two";
  b.hostname = "beta\xff";
  b.root = "/home/x\xff";
  b.address = "::1";
  b.port = 5;
  b.connected_ns = winter_ns;
  b.capabilities = protocol::capability::download
                   | protocol::capability::remove;
  return {a, b};
}

} // namespace

TEST_CASE("endpoint brackets IPv6 addresses") {
  auto nodes = sample_nodes();
  CHECK(nodes[0].endpoint() == "127.0.0.1:40000");
  CHECK(nodes[1].endpoint() == "[::1]:5");
}

TEST_CASE("nodes table") {
  tz_guard tz{"UTC"};
  CHECK(render_nodes({}) == "no nodes connected\n");
  auto lines = split_lines(render_nodes(sample_nodes()));
  REQUIRE(lines.size() == 3);
  auto& header = lines[0];
  CHECK_THAT(header, Catch::StartsWith("ID"));
  for (auto col : {"NAME", "ADDRESS", "ROOT", "CONNECTED", "LAST-HEARTBEAT",
                   "POLICY"}) {
    INFO(col);
    CHECK_THAT(header, Catch::Contains(col));
  }
  CHECK_THAT(lines[1], Catch::StartsWith("1 "));
  CHECK_THAT(lines[1], Catch::Contains("127.0.0.1:40000"));
  CHECK_THAT(lines[1], Catch::Contains("/srv/data"));
  CHECK_THAT(lines[1], Catch::Contains("2026-11-24T08:00:34"));
  CHECK_THAT(lines[1], Catch::EndsWith("read-only"));
  CHECK_THAT(lines[2], Catch::StartsWith("12 "));
  CHECK_THAT(lines[2], Catch::Contains("[::1]:5"));
  CHECK_THAT(lines[2], Catch::Contains("/home/x\\xff"));
  CHECK_THAT(lines[2], Catch::Contains(" - "));
  CHECK_THAT(lines[2], Catch::EndsWith("download,delete"));
  // Columns line up.
  for (auto col : {"NAME", "ADDRESS", "ROOT", "CONNECTED"}) {
    INFO(col);
    auto pos = header.find(col);
    CHECK(lines[1][pos - 1] == ' ');
    CHECK(lines[1][pos] != ' ');
    CHECK(lines[2][pos - 1] == ' ');
    CHECK(lines[2][pos] != ' ');
  }
  CHECK(lines[1].find("n1") == header.find("NAME"));
  CHECK(lines[2].find("node-two") == header.find("NAME"));
}

TEST_CASE("nodes as JSON") {
  tz_guard tz{"UTC"};
  CHECK(render_nodes_json({}).empty());
  auto lines = split_lines(render_nodes_json(sample_nodes()));
  REQUIRE(lines.size() == 2);
  auto a = json::parse(lines[0]);
  auto b = json::parse(lines[1]);
  CHECK(keys_of(a)
        == strings{"address", "connected_since", "hostname", "id",
                   "last_heartbeat", "name", "policy", "port", "root"});
  CHECK(a["policy"] == "read-only");
  CHECK(a["id"] == 1);
  CHECK(a["name"] == "n1");
  CHECK(a["hostname"] == "alpha");
  CHECK(a["root"] == "/srv/data");
  CHECK(a["address"] == "127.0.0.1");
  CHECK(a["port"] == 40000);
  CHECK(a["connected_since"] == "2026-11-24T08:00:29+00:00");
  CHECK(a["last_heartbeat"] == "2026-11-24T08:00:34+00:00");
  CHECK(keys_of(b) == keys_of(a));
  CHECK(b["id"] == 12);
  CHECK(b["hostname"] == "beta\\xff");
  CHECK(b["root"] == "/home/x\\xff");
  CHECK(b["address"] == "::1");
  CHECK(b["last_heartbeat"].is_null());
}

// -- failures and footers -----------------------------------------------------

TEST_CASE("render_failure names the code") {
  CHECK(render_failure(make_failure(wire_code::not_found, "no such file"))
        == "error: no such file (not_found)\n");
  CHECK(render_failure(make_failure(wire_code::bad_request, "usage: cd PATH"))
        == "error: usage: cd PATH (bad_request)\n");
}

TEST_CASE("listing footers") {
  CHECK(render_listing_footer(0, true) == "0 entries\n");
  CHECK(render_listing_footer(1, true) == "1 entry\n");
  CHECK(render_listing_footer(3, true) == "3 entries\n");
  CHECK(render_listing_footer(200000, false)
        == "200000 entries (directory order: too large to sort)\n");
}

TEST_CASE("du, rm and echo renderings", "[render][file_ops]") {
  using dirscope::protocol::du_reply;
  using dirscope::protocol::entry_type;
  CHECK(format_bytes(0) == "0 bytes");
  CHECK(format_bytes(1) == "1 byte");
  CHECK(format_bytes(1023) == "1023 bytes");
  CHECK(format_bytes(1536) == "1536 bytes (1.5 KiB)");
  CHECK(format_bytes(uint64_t{1} << 30) == "1073741824 bytes (1.0 GiB)");
  CHECK(render_du("n1:/d", du_reply{0, entry_type::dir, 13, 4, 1})
        == "n1:/d: 13 bytes in 4 files and 1 directory\n");
  CHECK(render_du("n1:/f", du_reply{0, entry_type::file, 3, 1, 0})
        == "n1:/f: file, 3 bytes\n");
  CHECK(render_remove_target("n1:/f", du_reply{0, entry_type::file, 3, 1, 0},
                             false)
        == "n1:/f is a file of 3 bytes\n");
  CHECK(render_remove_target("n1:/d", du_reply{0, entry_type::dir, 0, 1, 0},
                             false)
        == "n1:/d is a directory holding 1 item (1 file, 0 directories, "
           "0 bytes); deleting it needs -r\n");
  CHECK(render_removed("n1:/d", 7) == "deleted n1:/d (7 entries)\n");
  CHECK(render_echo("n1", "a\x1b[2Jb") == "[n1] a\\x1b[2Jb\n");
}

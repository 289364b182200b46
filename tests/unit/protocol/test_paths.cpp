#include <catch2/catch.hpp>

#include "protocol/paths.hpp"

using namespace std::literals;
using namespace dirscope;
using namespace dirscope::protocol;

namespace {

std::string component(size_t n, char c = 'x') {
  return std::string(n, c);
}

} // namespace

// -- resolve_path -------------------------------------------------------------

TEST_CASE("resolve_path normalizes what a user typed", "[paths]") {
  struct row {
    std::string cwd;
    std::string arg;
    std::string want;
  };
  std::vector<row> table{
    {"/", "", "/"},
    {"/", ".", "/"},
    {"/", "..", "/"},
    {"/", "../../..", "/"},
    {"/", "/", "/"},
    {"/", "//", "/"},
    {"/", "a", "/a"},
    {"/", "a/", "/a"},
    {"/", "a/./b//c/", "/a/b/c"},
    {"/", "./a/.", "/a"},
    {"/a/b", "", "/a/b"},
    {"/a/b", ".", "/a/b"},
    {"/a/b", "..", "/a"},
    {"/a/b", "../..", "/"},
    {"/a/b", "../../..", "/"},
    {"/a/b", "../../../c", "/c"},
    {"/a/b", "c", "/a/b/c"},
    {"/a/b", "c/../d", "/a/b/d"},
    {"/a/b", "../c/./d/", "/a/c/d"},
    {"/a/b", "/", "/"},
    {"/a/b", "/x/y", "/x/y"},
    {"/a/b", "/x/../y", "/y"},
    {"/a/b", "/..", "/"},
    {"/a/b", "///x///", "/x"},
    {"/a/b", "...", "/a/b/..."},
    {"/a/b", "..x", "/a/b/..x"},
    {"/a/b", ".hidden", "/a/b/.hidden"},
    {"/a/b", "sp ace", "/a/b/sp ace"},
    {"/a/b", "caf\xc3\xa9", "/a/b/caf\xc3\xa9"},
    {"/a/b", "\xff\xfe", "/a/b/\xff\xfe"},
    {"/a/b", "back\\slash", "/a/b/back\\slash"},
    // A cwd that is not normalized is tolerated.
    {"", "a", "/a"},
    {"/a/", "b", "/a/b"},
    {"a//b/./", "c", "/a/b/c"},
  };
  for (auto& x : table) {
    INFO("cwd \"" << x.cwd << "\", arg \"" << x.arg << "\"");
    auto res = resolve_path(x.cwd, x.arg);
    REQUIRE(res.ok());
    CHECK(*res == x.want);
  }
}

TEST_CASE("resolve_path refuses NUL bytes", "[paths]") {
  for (auto arg : {"a\0b"sv, "\0"sv, "/x/\0"sv}) {
    auto res = resolve_path("/", arg);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code == wire_code::bad_request);
    CHECK(res.error().message.find("NUL") != std::string::npos);
  }
  CHECK_FALSE(resolve_path("/a\0"sv, "b").ok());
}

TEST_CASE("resolve_path enforces max_path on the result", "[paths]") {
  // "/" + 4094 bytes is exactly the default limit.
  auto at_limit = component(default_max_path - 1);
  auto res = resolve_path("/", at_limit);
  REQUIRE(res.ok());
  CHECK(res->size() == default_max_path);
  auto over = resolve_path("/", at_limit + "y");
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().code == wire_code::bad_request);
  CHECK(over.error().message == "path too long (4096 bytes, limit 4095)");
  // The limit applies after normalization.
  CHECK(resolve_path("/", at_limit + "y/..").ok());
  CHECK(resolve_path("/", "./" + at_limit + "//.").ok());
  // Relative to a cwd, with a custom limit.
  CHECK(resolve_path("/ab", "cd", 6).ok());
  auto custom = resolve_path("/ab", "cde", 6);
  REQUIRE_FALSE(custom.ok());
  CHECK(custom.error().message == "path too long (7 bytes, limit 6)");
}

// -- split_node_path ----------------------------------------------------------

TEST_CASE("split_node_path accepts normalized paths", "[paths]") {
  using parts = std::vector<std::string>;
  struct row {
    std::string path;
    parts want;
  };
  std::vector<row> table{
    {"/", {}},
    {"/a", {"a"}},
    {"/a/b/c", {"a", "b", "c"}},
    {"/...", {"..."}},
    {"/.x/..y", {".x", "..y"}},
    {"/sp ace/\xff\xfe", {"sp ace", "\xff\xfe"}},
    {"/back\\slash", {"back\\slash"}},
  };
  for (auto& x : table) {
    INFO("path \"" << x.path << "\"");
    auto res = split_node_path(x.path);
    REQUIRE(res.ok());
    CHECK(*res == x.want);
  }
}

TEST_CASE("split_node_path refuses anything not normalized", "[paths]") {
  struct row {
    std::string_view path;
    wire_code want;
  };
  std::vector<row> table{
    {"", wire_code::bad_request},
    {"a", wire_code::bad_request},
    {"a/b", wire_code::bad_request},
    {".", wire_code::bad_request},
    {"/a/", wire_code::bad_request},
    {"//", wire_code::bad_request},
    {"//a", wire_code::bad_request},
    {"/a//b", wire_code::bad_request},
    {"/./x", wire_code::bad_request},
    {"/x/.", wire_code::bad_request},
    {"/.", wire_code::bad_request},
    {"/a\0b"sv, wire_code::bad_request},
    {"/\0"sv, wire_code::bad_request},
    {"/..", wire_code::outside_root},
    {"/../x", wire_code::outside_root},
    {"/a/../b", wire_code::outside_root},
    {"/a/..", wire_code::outside_root},
    // ".." wins over other defects.
    {"/a//../", wire_code::outside_root},
    {"/./..", wire_code::outside_root},
  };
  for (auto& x : table) {
    INFO("path \"" << std::string{x.path} << "\"");
    auto res = split_node_path(x.path);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().code == x.want);
    CHECK_FALSE(res.error().message.empty());
  }
}

TEST_CASE("split_node_path enforces max_path", "[paths]") {
  auto at_limit = "/" + component(default_max_path - 1);
  REQUIRE(at_limit.size() == 4095);
  auto res = split_node_path(at_limit);
  REQUIRE(res.ok());
  CHECK(res->size() == 1);
  auto too_long = at_limit + "y"; // 4096 bytes
  auto bad = split_node_path(too_long);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == wire_code::bad_request);
  CHECK(bad.error().message == "path too long (4096 bytes, limit 4095)");
  CHECK(split_node_path("/abc", 4).ok());
  CHECK_FALSE(split_node_path("/abcd", 4).ok());
}

TEST_CASE("resolve_path output is accepted by split_node_path", "[paths]") {
  for (auto arg : {"", "..", "a/./b//c/", "/x/../y/z", "../../q"}) {
    auto res = resolve_path("/a/b", arg);
    REQUIRE(res.ok());
    CHECK(split_node_path(*res).ok());
  }
}

// -- small helpers ------------------------------------------------------------

TEST_CASE("join_path", "[paths]") {
  CHECK(join_path("/", "a") == "/a");
  CHECK(join_path("/a", "b") == "/a/b");
  CHECK(join_path("/a/b", "\xff") == "/a/b/\xff");
}

TEST_CASE("parent_path", "[paths]") {
  CHECK(parent_path("/") == "/");
  CHECK(parent_path("/a") == "/");
  CHECK(parent_path("/a/b") == "/a");
  CHECK(parent_path("/a/b/c") == "/a/b");
}

TEST_CASE("is_valid_entry_name", "[paths]") {
  CHECK(is_valid_entry_name("a"));
  CHECK(is_valid_entry_name("..."));
  CHECK(is_valid_entry_name(".hidden"));
  CHECK(is_valid_entry_name("\xff\xfe"));
  CHECK(is_valid_entry_name("a\\b"));
  CHECK_FALSE(is_valid_entry_name(""));
  CHECK_FALSE(is_valid_entry_name("."));
  CHECK_FALSE(is_valid_entry_name(".."));
  CHECK_FALSE(is_valid_entry_name("a/b"));
  CHECK_FALSE(is_valid_entry_name("/"));
  CHECK_FALSE(is_valid_entry_name("a\0b"sv));
}

// The node-side walk of find and tree: order, last flags, filters, depth,
// hashing through the cache, unreadable directories, root confinement.

#include <catch2/catch.hpp>

#include <map>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"
#include "node/find_walk.hpp"
#include "node/sha256.hpp"

using namespace dirscope;
using namespace dirscope::node;
using namespace dirscope::node::test;

using protocol::entry_type;
using protocol::find_match;
using protocol::find_request;

namespace {

std::vector<find_match> walk(int root_fd, const find_request& req,
                             hash_cache* cache = nullptr,
                             size_t max_visits = 3) {
  auto w = find_walk::open(root_fd, req);
  INFO("open " << req.path << ": "
               << (w ? std::string{} : w.error().message));
  REQUIRE(w.ok());
  std::vector<find_match> result;
  for (int guard = 0; guard < 100000; ++guard) {
    // Small steps: the walk must resume exactly where it stopped.
    auto batch = (*w)->next(2, 1u << 20, max_visits, cache);
    for (auto& m : batch.matches)
      result.push_back(std::move(m));
    if (batch.done)
      return result;
  }
  FAIL("walk never ended");
  return result;
}

find_request request(std::string path) {
  find_request req;
  req.id = 1;
  req.path = std::move(path);
  return req;
}

std::vector<std::string> names(const std::vector<find_match>& xs) {
  std::vector<std::string> result;
  for (auto& x : xs)
    result.push_back(x.item.name);
  return result;
}

/// root/ a.txt (3 bytes), b/ (c.log 10 bytes, d/ (e.txt 1 byte)),
/// link -> /etc/passwd (out of the root), z/ (empty).
void populate(temp_tree& t) {
  write_file(t.at("/a.txt"), "abc");
  make_dir(t.at("/b"));
  write_file(t.at("/b/c.log"), "0123456789");
  make_dir(t.at("/b/d"));
  write_file(t.at("/b/d/e.txt"), "e");
  make_symlink("/etc", t.at("/link"));
  make_dir(t.at("/z"));
}

} // namespace

TEST_CASE("find walks depth first, sorted, a directory before its entries",
          "[find_walk]") {
  temp_tree t;
  populate(t);
  auto xs = walk(t.root_fd(), request("/"));
  CHECK(names(xs)
        == std::vector<std::string>{".", "a.txt", "b", "b/c.log", "b/d",
                                    "b/d/e.txt", "link", "z"});
  std::map<std::string, find_match> by;
  for (auto& x : xs)
    by[x.item.name] = x;
  CHECK(by["."].last);
  CHECK(by["."].item.items == 4u);
  CHECK_FALSE(by["a.txt"].last);
  CHECK(by["b/d"].last);
  CHECK(by["b/d/e.txt"].last);
  CHECK(by["z"].last);
  CHECK(by["z"].item.items == 0u);
  CHECK(by["b"].item.items == 2u);
  CHECK(by["a.txt"].item.size == 3);
  CHECK(by["link"].item.type == entry_type::symlink);
  CHECK(by["link"].item.target == std::string{"/etc"});
  CHECK_FALSE(by["a.txt"].item.sha256);
}

TEST_CASE("find never follows a symlink, even to a directory inside",
          "[find_walk]") {
  temp_tree t;
  populate(t);
  make_symlink("b", t.at("/inside"));
  make_symlink("..", t.at("/b/up"));
  auto xs = walk(t.root_fd(), request("/"));
  for (auto& x : xs) {
    INFO(x.item.name);
    CHECK(x.item.name.rfind("inside/", 0) == std::string::npos);
    CHECK(x.item.name.rfind("link/", 0) == std::string::npos);
    CHECK(x.item.name.rfind("b/up/", 0) == std::string::npos);
  }
  CHECK(xs.size() == 10);
}

TEST_CASE("find refuses paths that leave the root", "[find_walk]") {
  temp_tree t;
  populate(t);
  for (auto path : {"/..", "/b/../..", "b", "/b/", "/./b"}) {
    INFO(path);
    auto w = find_walk::open(t.root_fd(), request(path));
    CHECK_FALSE(w.ok());
  }
  auto w = find_walk::open(t.root_fd(), request("/.."));
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().code == wire_code::outside_root);
  // A start path through a symlink out of the root.
  auto out = find_walk::open(t.root_fd(), request("/link/passwd"));
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().code == wire_code::outside_root);
  auto missing = find_walk::open(t.root_fd(), request("/nope"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == wire_code::not_found);
}

TEST_CASE("find filters on the node", "[find_walk]") {
  temp_tree t;
  populate(t);
  auto req = request("/");
  SECTION("name glob on the last component") {
    req.name_glob = "*.txt";
    CHECK(names(walk(t.root_fd(), req))
          == std::vector<std::string>{"a.txt", "b/d/e.txt"});
  }
  SECTION("path glob on the relative path, * crosses /") {
    req.path_glob = "b/*";
    CHECK(names(walk(t.root_fd(), req))
          == std::vector<std::string>{"b/c.log", "b/d", "b/d/e.txt"});
  }
  SECTION("types") {
    req.types = protocol::find_types::dir;
    CHECK(names(walk(t.root_fd(), req))
          == std::vector<std::string>{".", "b", "b/d", "z"});
    req.types = protocol::find_types::symlink;
    CHECK(names(walk(t.root_fd(), req)) == std::vector<std::string>{"link"});
  }
  SECTION("size bounds are inclusive") {
    req.types = protocol::find_types::file;
    req.min_size = 3;
    CHECK(names(walk(t.root_fd(), req))
          == std::vector<std::string>{"a.txt", "b/c.log"});
    req.max_size = 9;
    CHECK(names(walk(t.root_fd(), req)) == std::vector<std::string>{"a.txt"});
  }
  SECTION("mtime bounds") {
    struct timespec times[2] = {{1000, 0}, {1000, 0}};
    REQUIRE(::utimensat(AT_FDCWD, t.at("/a.txt").c_str(), times,
                        AT_SYMLINK_NOFOLLOW)
            == 0);
    req.max_mtime_ns = int64_t{1000} * 1'000'000'000;
    CHECK(names(walk(t.root_fd(), req)) == std::vector<std::string>{"a.txt"});
    req.max_mtime_ns.reset();
    req.min_mtime_ns = int64_t{1000} * 1'000'000'000 + 1;
    auto xs = names(walk(t.root_fd(), req));
    CHECK(std::find(xs.begin(), xs.end(), "a.txt") == xs.end());
    CHECK(xs.size() == 7);
  }
  SECTION("max depth") {
    req.max_depth = 0;
    CHECK(names(walk(t.root_fd(), req)) == std::vector<std::string>{"."});
    req.max_depth = 1;
    auto xs = walk(t.root_fd(), req);
    CHECK(names(xs)
          == std::vector<std::string>{".", "a.txt", "b", "link", "z"});
    // Directories at the limit still say how many items they hold.
    CHECK(xs[2].item.items == 2u);
  }
  SECTION("sha256 matches content, through the cache") {
    hash_cache cache{1000};
    auto digest = sha256_bytes("e");
    req.sha256 = digest;
    auto xs = walk(t.root_fd(), req, &cache);
    REQUIRE(names(xs) == std::vector<std::string>{"b/d/e.txt"});
    CHECK(xs[0].item.sha256 == digest);
    CHECK(cache.size() == 3); // every file hashed once
    // The second walk answers from the cache.
    CHECK(names(walk(t.root_fd(), req, &cache))
          == std::vector<std::string>{"b/d/e.txt"});
  }
  SECTION("with_hashes hashes matching files only") {
    hash_cache cache{1000};
    req.flags = protocol::find_flags::with_hashes;
    req.name_glob = "a.txt";
    auto xs = walk(t.root_fd(), req, &cache);
    REQUIRE(xs.size() == 1);
    CHECK(xs[0].item.sha256 == sha256_bytes("abc"));
    CHECK(cache.size() == 1);
  }
}

TEST_CASE("find starts at a sub-directory or a single file",
          "[find_walk]") {
  temp_tree t;
  populate(t);
  CHECK(names(walk(t.root_fd(), request("/b")))
        == std::vector<std::string>{".", "c.log", "d", "d/e.txt"});
  auto one = walk(t.root_fd(), request("/a.txt"));
  REQUIRE(one.size() == 1);
  CHECK(one[0].item.name == ".");
  CHECK(one[0].item.type == entry_type::file);
  auto req = request("/b");
  req.name_glob = "b";
  CHECK(names(walk(t.root_fd(), req)) == std::vector<std::string>{"."});
  auto link = walk(t.root_fd(), request("/link"));
  REQUIRE(link.size() == 1);
  CHECK(link[0].item.type == entry_type::symlink);
}

TEST_CASE("an unreadable directory is an entry with an error; the walk "
          "goes on",
          "[find_walk]") {
  if (::geteuid() == 0) {
    WARN("skipped: root reads every directory");
    return;
  }
  temp_tree t;
  populate(t);
  make_dir(t.at("/b/locked"));
  write_file(t.at("/b/locked/secret"), "x");
  REQUIRE(::chmod(t.at("/b/locked").c_str(), 0) == 0);
  auto xs = walk(t.root_fd(), request("/"));
  ::chmod(t.at("/b/locked").c_str(), 0755);
  std::map<std::string, find_match> by;
  for (auto& x : xs)
    by[x.item.name] = x;
  REQUIRE(by.count("b/locked") == 1);
  REQUIRE(by["b/locked"].item.error);
  CHECK(by["b/locked"].item.error->code == wire_code::permission_denied);
  CHECK(by.count("b/locked/secret") == 0);
  CHECK(by.count("z") == 1);
}

TEST_CASE("names with newlines and invalid UTF-8 come back as raw bytes",
          "[find_walk]") {
  temp_tree t;
  make_dir(t.at("/d"));
  write_file(t.at("/d/new\nline"), "1");
  write_file(t.at("/d/bad\xff\xfe"), "2");
  auto req = request("/");
  req.types = protocol::find_types::file;
  CHECK(names(walk(t.root_fd(), req))
        == std::vector<std::string>{"d/bad\xff\xfe", "d/new\nline"});
}

TEST_CASE("find checks flags, types and globs", "[find_walk]") {
  temp_tree t;
  auto req = request("/");
  req.flags = 0x80;
  CHECK_FALSE(find_walk::open(t.root_fd(), req).ok());
  req = request("/");
  req.types = 0x10;
  CHECK_FALSE(find_walk::open(t.root_fd(), req).ok());
  req = request("/");
  req.name_glob = std::string(max_find_glob + 1, '*');
  auto w = find_walk::open(t.root_fd(), req);
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().code == wire_code::bad_request);
}

TEST_CASE("a cancelled walk ends at once", "[find_walk]") {
  temp_tree t;
  populate(t);
  auto w = find_walk::open(t.root_fd(), request("/"));
  REQUIRE(w.ok());
  (*w)->cancel();
  auto batch = (*w)->next(100, 1u << 20, 100, nullptr);
  CHECK(batch.done);
  CHECK(batch.matches.empty());
}

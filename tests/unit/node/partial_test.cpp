// Issue 10 items 3 and 4: modes and mtimes of transferred files, partial
// files kept for resume, directories undone after a refused transfer.

#include <catch2/catch.hpp>

#include <climits>
#include <fstream>
#include <sstream>
#include <string>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"
#include "node/file_mode.hpp"
#include "node/partial.hpp"
#include "node/sha256.hpp"
#include "node/transfer.hpp"

using namespace dirscope;
using namespace dirscope::node;
using namespace dirscope::node::test;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> result;
  auto d = ::opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (auto e = ::readdir(d))
    if (std::string{e->d_name} != "." && std::string{e->d_name} != "..")
      result.emplace_back(e->d_name);
  ::closedir(d);
  return result;
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

constexpr int64_t some_mtime = 1'600'000'000'123'456'789;

} // namespace

TEST_CASE("partial names carry the source identity", "[node][partial]") {
  source_identity src{1000, some_mtime};
  auto name = partial_name("big.iso", src);
  CHECK(name == ".dirscope-partial-1000-1600000000123456789-big.iso");
  CHECK(is_partial_of(name, "big.iso"));
  CHECK(is_partial_of(partial_name("big.iso", {0, -5}), "big.iso"));
  CHECK_FALSE(is_partial_of(name, "big"));
  CHECK_FALSE(is_partial_of(name, "iso"));
  CHECK_FALSE(is_partial_of("big.iso", "big.iso"));
  CHECK_FALSE(is_partial_of(".dirscope-partial-x-1-big.iso", "big.iso"));
  std::string long_name(250, 'n');
  auto hashed = partial_name(long_name, src);
  CHECK(hashed.size() <= NAME_MAX);
  CHECK(is_partial_of(hashed, long_name));
}

TEST_CASE("a committed file keeps the source's mode and mtime, never more",
          "[node][partial]") {
  auto umask = process_umask();
  for (uint32_t mode : {0600u, 0640u, 0755u, 04755u, 02770u, 01777u}) {
    temp_tree t;
    auto w = create_beneath(t.root_fd(), "/f", 1);
    REQUIRE(w.ok());
    (*w)->set_source(3, mode, some_mtime);
    REQUIRE((*w)->write(0, "abc").ok());
    REQUIRE((*w)->commit(3, sha256_bytes("abc")).ok());
    auto st = stat_of(t.at("/f"));
    CHECK((st.st_mode & 07777) == (mode & 0777 & ~umask));
    CHECK((st.st_mode & 07000) == 0);
    CHECK(st.st_mtim.tv_sec == some_mtime / 1'000'000'000);
    CHECK(st.st_mtim.tv_nsec == some_mtime % 1'000'000'000);
  }
  // No source known (an older peer): 0644 within the umask, as before.
  temp_tree t;
  auto w = create_beneath(t.root_fd(), "/g", 1);
  REQUIRE(w.ok());
  REQUIRE((*w)->commit(0, sha256_bytes("")).ok());
  CHECK((stat_of(t.at("/g")).st_mode & 07777) == (0644 & ~umask));
}

TEST_CASE("an abandoned writer keeps a partial file that resume continues",
          "[node][partial]") {
  for (bool named : {false, true}) {
    force_named_temp_files(named);
    temp_tree t;
    std::string content = "0123456789abcdef";
    {
      auto w = create_beneath(t.root_fd(), "/f", 1);
      REQUIRE(w.ok());
      (*w)->set_source(content.size(), 0600, some_mtime);
      REQUIRE((*w)->write(0, content.substr(0, 10)).ok());
    } // the connection broke
    auto kept = partial_name("f", {content.size(), some_mtime});
    CHECK(entries(t.root()) == std::vector<std::string>{kept});
    CHECK(slurp(t.at("/" + kept)) == content.substr(0, 10));
    // Resume: the server verified 8 of the 10 bytes.
    auto w = create_beneath(t.root_fd(), "/f", 2);
    REQUIRE(w.ok());
    (*w)->set_source(content.size(), 0600, some_mtime);
    auto held = (*w)->resume();
    REQUIRE(held.ok());
    CHECK(*held == 10);
    CHECK_FALSE((*w)->write(11, "x").ok()); // beyond what is held
    force_named_temp_files(false);
  }
}

TEST_CASE("resume continues from the offset the sender chose",
          "[node][partial]") {
  temp_tree t;
  std::string content(200000, 'q');
  for (size_t i = 0; i < content.size(); ++i)
    content[i] = static_cast<char>(i * 13);
  {
    auto w = create_beneath(t.root_fd(), "/f", 1);
    REQUIRE(w.ok());
    (*w)->set_source(content.size(), 0640, some_mtime);
    REQUIRE((*w)->write(0, content.substr(0, 150000)).ok());
  }
  auto w = create_beneath(t.root_fd(), "/f", 2);
  REQUIRE(w.ok());
  (*w)->set_source(content.size(), 0640, some_mtime);
  REQUIRE((*w)->resume().value() == 150000);
  REQUIRE((*w)->write(100000, content.substr(100000)).ok());
  REQUIRE((*w)->commit(content.size(), sha256_bytes(content)).ok());
  w->reset();
  CHECK(slurp(t.at("/f")) == content);
  CHECK(entries(t.root()) == std::vector<std::string>{"f"});
}

TEST_CASE("a resumed prefix that differs fails the hash and is discarded",
          "[node][partial]") {
  temp_tree t;
  {
    auto w = create_beneath(t.root_fd(), "/f", 1);
    REQUIRE(w.ok());
    (*w)->set_source(8, 0600, some_mtime);
    REQUIRE((*w)->write(0, "OLDD").ok());
  }
  auto w = create_beneath(t.root_fd(), "/f", 2);
  REQUIRE(w.ok());
  (*w)->set_source(8, 0600, some_mtime);
  REQUIRE((*w)->resume().value() == 4);
  REQUIRE((*w)->write(4, "5678").ok());
  auto n = (*w)->commit(8, sha256_bytes("12345678"));
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().message.find("partial file was discarded")
        != std::string::npos);
  w->reset();
  CHECK(entries(t.root()).empty());
}

TEST_CASE("a changed source never resumes an older partial file",
          "[node][partial]") {
  temp_tree t;
  {
    auto w = create_beneath(t.root_fd(), "/f", 1);
    REQUIRE(w.ok());
    (*w)->set_source(8, 0600, some_mtime);
    REQUIRE((*w)->write(0, "OLDD").ok());
  }
  auto w = create_beneath(t.root_fd(), "/f", 2);
  REQUIRE(w.ok());
  (*w)->set_source(8, 0600, some_mtime + 1); // touched since
  REQUIRE((*w)->resume().value() == 0);
  CHECK(entries(t.root()).empty()); // the stale partial went
  REQUIRE((*w)->write(0, "12345678").ok());
  REQUIRE((*w)->commit(8, sha256_bytes("12345678")).ok());
  CHECK(slurp(t.at("/f")) == "12345678");
}

TEST_CASE("a resume with the whole file held needs no more data",
          "[node][partial]") {
  temp_tree t;
  {
    auto w = create_beneath(t.root_fd(), "/f", 1);
    REQUIRE(w.ok());
    (*w)->set_source(4, 0600, some_mtime);
    REQUIRE((*w)->write(0, "abcd").ok());
  }
  auto w = create_beneath(t.root_fd(), "/f", 2);
  REQUIRE(w.ok());
  (*w)->set_source(4, 0600, some_mtime);
  REQUIRE((*w)->resume().value() == 4);
  REQUIRE((*w)->commit(4, sha256_bytes("abcd")).ok());
  CHECK(slurp(t.at("/f")) == "abcd");
  CHECK(entries(t.root()) == std::vector<std::string>{"f"});
}

TEST_CASE("nothing is kept without a source or after discard",
          "[node][partial]") {
  temp_tree t;
  {
    auto w = create_beneath(t.root_fd(), "/f", 1);
    REQUIRE(w.ok());
    REQUIRE((*w)->write(0, "abcd").ok());
  }
  {
    auto w = create_beneath(t.root_fd(), "/f", 1);
    REQUIRE(w.ok());
    (*w)->set_source(8, 0600, some_mtime);
    REQUIRE((*w)->write(0, "abcd").ok());
    (*w)->discard();
  }
  CHECK(entries(t.root()).empty());
}

TEST_CASE("created directories are undone while empty", "[node][partial]") {
  temp_tree t;
  make_dir(t.at("/old"));
  created_dirs made;
  auto fd = make_dirs_beneath(t.root_fd(), {"old", "a", "b", "c"}, &made);
  REQUIRE(fd.ok());
  CHECK_FALSE(made.empty());
  made.rollback();
  CHECK(entries(t.root()) == std::vector<std::string>{"old"});
  CHECK(entries(t.at("/old")).empty());
  // A directory that got something meanwhile stays, and so do its parents.
  created_dirs again;
  REQUIRE(make_dirs_beneath(t.root_fd(), {"x", "y"}, &again).ok());
  write_file(t.at("/x/keep"), "k");
  again.rollback();
  CHECK(entries(t.at("/x")) == std::vector<std::string>{"keep"});
}

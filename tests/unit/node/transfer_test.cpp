#include <catch2/catch.hpp>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"
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

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

size_t count_entries(const std::string& dir) {
  size_t n = 0;
  auto d = ::opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (auto e = ::readdir(d))
    if (std::string{e->d_name} != "." && std::string{e->d_name} != "..")
      ++n;
  ::closedir(d);
  return n;
}

/// Reads everything through a file_reader; returns (data, end chunk).
std::pair<std::string, file_chunk> read_all(file_reader& r) {
  std::string data;
  std::optional<uint64_t> next_offset;
  for (;;) {
    auto x = r.next();
    REQUIRE(x.ok());
    if (x->end)
      return {data, *x};
    CHECK(x->data.size() <= protocol::max_data_chunk);
    if (next_offset) // each chunk starts where the previous one ended
      CHECK(x->offset == *next_offset);
    next_offset = x->offset + x->data.size();
    data += x->data;
  }
}

} // namespace

TEST_CASE("file_reader streams a file in chunks with its hash",
          "[node][transfer]") {
  temp_tree t;
  for (size_t n : {size_t{0}, size_t{1}, protocol::max_data_chunk,
                   protocol::max_data_chunk + 1, size_t{200000}}) {
    std::string content(n, '\0');
    for (size_t i = 0; i < n; ++i)
      content[i] = static_cast<char>(i * 7);
    write_file(t.at("/f"), content);
    auto r = file_reader::open_beneath(t.root_fd(), "/f");
    REQUIRE(r.ok());
    CHECK((*r)->size() == n);
    auto [data, end] = read_all(**r);
    CHECK(data == content);
    CHECK(end.size == n);
    CHECK(end.sha256 == sha256_bytes(content));
  }
}

TEST_CASE("file_reader sends large chunks when allowed, read and hashed "
          "in 64 KiB pieces",
          "[node][transfer]") {
  temp_tree t;
  auto n = 2 * protocol::max_large_chunk + 12345;
  std::string content(n, '\0');
  for (size_t i = 0; i < n; ++i)
    content[i] = static_cast<char>(i * 13 + i / 4096);
  write_file(t.at("/f"), content);
  auto r = file_reader::open_beneath(t.root_fd(), "/f", 1000);
  REQUIRE(r.ok());
  (*r)->limit_chunks(protocol::max_large_chunk + 1); // clamped
  std::vector<size_t> sizes;
  std::string data;
  for (;;) {
    auto x = (*r)->next();
    REQUIRE(x.ok());
    if (x->end) {
      CHECK(x->size == n);
      CHECK(x->sha256 == sha256_bytes(content)); // from offset 0
      break;
    }
    CHECK(x->offset == 1000 + data.size());
    sizes.push_back(x->data.size());
    data += x->data;
  }
  CHECK(data == content.substr(1000));
  // The first chunk covers [0, max) minus the resumed prefix.
  CHECK(sizes == std::vector<size_t>{protocol::max_large_chunk - 1000,
                                     protocol::max_large_chunk, 12345});
}

TEST_CASE("file_writer hashes and writes a large chunk in pieces",
          "[node][transfer]") {
  temp_tree t;
  std::string content(protocol::max_large_chunk + 777, 'z');
  content[70000] = 'a';
  auto w = create_beneath(t.root_fd(), "/big", 1);
  REQUIRE(w.ok());
  REQUIRE((*w)->write(0, content).ok());
  auto n = (*w)->commit(content.size(), sha256_bytes(content));
  REQUIRE(n.ok());
  CHECK(slurp(t.at("/big")) == content);
}

TEST_CASE("file_reader resumes at an offset, hashing the whole file",
          "[node][transfer]") {
  temp_tree t;
  std::string content(150000, 'q');
  content[100] = 'x';
  write_file(t.at("/f"), content);
  auto r = file_reader::open_beneath(t.root_fd(), "/f", 70000);
  REQUIRE(r.ok());
  auto first = (*r)->next();
  REQUIRE(first.ok());
  CHECK(first->offset == 70000);
  std::string data = first->data;
  auto [rest, end] = read_all(**r);
  CHECK(data + rest == content.substr(70000));
  CHECK(end.sha256 == sha256_bytes(content));
  CHECK_FALSE(file_reader::open_beneath(t.root_fd(), "/f", 150001).ok());
}

TEST_CASE("file_reader hashes a resumed prefix once and goes on from it",
          "[node][transfer]") {
  temp_tree t;
  std::string content(200000, 'q');
  content[100] = 'x';
  content[150000] = 'y';
  write_file(t.at("/f"), content);
  auto r = file_reader::open_beneath(t.root_fd(), "/f");
  REQUIRE(r.ok());
  auto prefix = (*r)->hash_prefix(70000);
  REQUIRE(prefix.ok());
  CHECK(*prefix == sha256_bytes(content.substr(0, 70000)));
  auto first = (*r)->next();
  REQUIRE(first.ok());
  CHECK(first->offset == 70000);
  auto [more, end] = read_all(**r);
  CHECK(first->data + more == content.substr(70000));
  CHECK(end.sha256 == sha256_bytes(content));
  CHECK(end.size == content.size());
  // Only before the first chunk, and never beyond the end.
  CHECK_FALSE((*r)->hash_prefix(10).ok());
  auto s = file_reader::open_beneath(t.root_fd(), "/f");
  REQUIRE(s.ok());
  CHECK((*s)->hash_prefix(200001).error().code == wire_code::bad_request);
  auto whole = (*s)->hash_prefix(200000);
  REQUIRE(whole.ok());
  CHECK(*whole == sha256_bytes(content));
  auto [none, last] = read_all(**s);
  CHECK(none.empty());
  CHECK(last.sha256 == sha256_bytes(content));
  // A file cut short after the open has changed.
  auto u = file_reader::open_beneath(t.root_fd(), "/f");
  REQUIRE(u.ok());
  REQUIRE(::truncate(t.at("/f").c_str(), 50000) == 0);
  auto cut = (*u)->hash_prefix(70000);
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.error().code == wire_code::io_error);
}

TEST_CASE("file_reader refuses directories, FIFOs and escapes",
          "[node][transfer]") {
  temp_tree t;
  make_dir(t.at("/d"));
  REQUIRE(::mkfifo(t.at("/fifo").c_str(), 0644) == 0);
  write_file(t.outside("secret"), "secret");
  make_symlink(t.outside("secret"), t.at("/out"));
  CHECK(file_reader::open_beneath(t.root_fd(), "/d").error().code
        == wire_code::bad_request);
  CHECK(file_reader::open_beneath(t.root_fd(), "/fifo").error().code
        == wire_code::not_readable);
  CHECK(file_reader::open_beneath(t.root_fd(), "/out").error().code
        == wire_code::outside_root);
  CHECK(file_reader::open_beneath(t.root_fd(), "/missing").error().code
        == wire_code::not_found);
}

TEST_CASE("file_reader fails when the file changes while read",
          "[node][transfer]") {
  temp_tree t;
  write_file(t.at("/f"), std::string(100000, 'a'));
  auto r = file_reader::open_beneath(t.root_fd(), "/f");
  REQUIRE(r.ok());
  REQUIRE((*r)->next().ok());
  {
    std::ofstream out{t.at("/f"), std::ios::binary | std::ios::app};
    out << "more";
  }
  outcome<file_chunk> x = (*r)->next();
  while (x.ok() && !x->end)
    x = (*r)->next();
  REQUIRE_FALSE(x.ok());
  CHECK(x.error().message.find("changed while being read")
        != std::string::npos);
}

TEST_CASE("file_writer creates, verifies and never overwrites",
          "[node][transfer]") {
  for (bool named : {false, true}) {
    force_named_temp_files(named);
    temp_tree t;
    make_dir(t.at("/in"));
    auto w = create_beneath(t.root_fd(), "/in/new", 7);
    REQUIRE(w.ok());
    CHECK((*w)->unnamed() == !named);
    REQUIRE((*w)->write(0, "hello ").ok());
    CHECK_FALSE((*w)->write(0, "again").ok()); // wrong offset
    REQUIRE((*w)->write(6, "world").ok());
    CHECK_FALSE(exists(t.at("/in/new")));
    CHECK(count_entries(t.at("/in")) == (named ? 1u : 0u));
    auto n = (*w)->commit(11, sha256_bytes("hello world"));
    REQUIRE(n.ok());
    CHECK(*n == 11);
    CHECK(slurp(t.at("/in/new")) == "hello world");
    w->reset();
    CHECK(count_entries(t.at("/in")) == 1);
    // The target exists now: refused up front.
    auto again = create_beneath(t.root_fd(), "/in/new", 8);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == wire_code::already_exists);
    CHECK(again.error().message == "refusing to overwrite: /in/new exists");
    force_named_temp_files(false);
  }
}

TEST_CASE("file_writer removes its temporary file on a bad hash or size",
          "[node][transfer]") {
  for (bool named : {false, true}) {
    force_named_temp_files(named);
    temp_tree t;
    {
      auto w = create_beneath(t.root_fd(), "/x", 1);
      REQUIRE(w.ok());
      REQUIRE((*w)->write(0, "abc").ok());
      CHECK((*w)->commit(4, sha256_bytes("abc")).error().message.find(
              "size mismatch")
            != std::string::npos);
    }
    {
      auto w = create_beneath(t.root_fd(), "/x", 2);
      REQUIRE(w.ok());
      REQUIRE((*w)->write(0, "abc").ok());
      CHECK((*w)->commit(3, sha256_bytes("abd")).error().message.find(
              "SHA-256 mismatch")
            != std::string::npos);
    }
    {
      // Abandoned mid-way (a disconnect).
      auto w = create_beneath(t.root_fd(), "/x", 3);
      REQUIRE(w.ok());
      REQUIRE((*w)->write(0, "ab").ok());
    }
    CHECK(count_entries(t.root()) == 0);
    force_named_temp_files(false);
  }
}

TEST_CASE("file_writer refuses a target that appears meanwhile",
          "[node][transfer]") {
  for (bool named : {false, true}) {
    force_named_temp_files(named);
    temp_tree t;
    auto w = create_beneath(t.root_fd(), "/x", 1);
    REQUIRE(w.ok());
    REQUIRE((*w)->write(0, "new").ok());
    write_file(t.at("/x"), "someone else's");
    auto n = (*w)->commit(3, sha256_bytes("new"));
    REQUIRE_FALSE(n.ok());
    CHECK(n.error().code == wire_code::already_exists);
    CHECK(slurp(t.at("/x")) == "someone else's");
    w->reset();
    CHECK(count_entries(t.root()) == 1);
    force_named_temp_files(false);
  }
}

TEST_CASE("create_beneath stays beneath the root", "[node][transfer]") {
  temp_tree t;
  make_dir(t.outside("victim"));
  make_symlink(t.outside("victim"), t.at("/out"));
  CHECK(create_beneath(t.root_fd(), "/out/x", 1).error().code
        == wire_code::outside_root);
  CHECK(create_beneath(t.root_fd(), "/../x", 1).error().code
        == wire_code::outside_root);
  CHECK_FALSE(create_beneath(t.root_fd(), "/", 1).ok());
  CHECK(count_entries(t.outside("victim")) == 0);
}

TEST_CASE("make_dirs_beneath creates directories and refuses symlinks",
          "[node][transfer]") {
  temp_tree t;
  auto d = make_dirs_beneath(t.root_fd(), {"a", "b c", "d"});
  REQUIRE(d.ok());
  struct stat st;
  CHECK(::stat(t.at("/a/b c/d").c_str(), &st) == 0);
  make_dir(t.outside("victim"));
  make_symlink(t.outside("victim"), t.at("/link"));
  CHECK_FALSE(make_dirs_beneath(t.root_fd(), {"link", "x"}).ok());
  CHECK_FALSE(make_dirs_beneath(t.root_fd(), {".."}).ok());
  CHECK(count_entries(t.outside("victim")) == 0);
}

TEST_CASE("a tree streams through file_reader and file_writer",
          "[transfer][archive]") {
  temp_tree t;
  make_dir(t.at("/d"));
  make_dir(t.at("/d/sub"));
  write_file(t.at("/d/sub/f"), "abc");
  make_dir(t.outside("elsewhere"));
  make_symlink(t.outside("elsewhere"), t.at("/out"));
  // The directory itself is opened beneath the root: never through a link.
  CHECK_FALSE(file_reader::open_tree_beneath(t.root_fd(), "/out").ok());
  CHECK_FALSE(file_reader::open_tree_beneath(t.root_fd(), "/d/sub/f").ok());
  auto r = file_reader::open_tree_beneath(t.root_fd(), "/d");
  REQUIRE(r.ok());
  CHECK((*r)->size() == 0);
  auto [data, end] = read_all(**r);
  CHECK(end.size == data.size());
  SECTION("a matching stream lands in place") {
    auto w = create_beneath(t.root_fd(), "/copy", 1, true);
    REQUIRE(w.ok());
    REQUIRE((*w)->write(0, data).ok());
    REQUIRE((*w)->commit(end.size, end.sha256).ok());
    CHECK(slurp(t.at("/copy/sub/f")) == "abc");
    CHECK(count_entries(t.root()) == 3);
  }
  SECTION("a wrong SHA-256 leaves nothing") {
    auto w = create_beneath(t.root_fd(), "/copy", 2, true);
    REQUIRE(w.ok());
    REQUIRE((*w)->write(0, data).ok());
    auto bad = end.sha256;
    bad[0] ^= 1;
    CHECK((*w)->commit(end.size, bad).error().code == wire_code::io_error);
    w = failure{};
    CHECK_FALSE(exists(t.at("/copy")));
    CHECK(count_entries(t.root()) == 2);
  }
  SECTION("an existing target is refused") {
    CHECK(create_beneath(t.root_fd(), "/d", 3, true).error().code
          == wire_code::already_exists);
  }
}

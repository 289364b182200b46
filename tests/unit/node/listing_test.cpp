#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <set>
#include <string>

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.hpp"
#include "node/confine.hpp"
#include "node/listing.hpp"
#include "node/sha256.hpp"
#include "protocol/codec.hpp"

using namespace dirscope;
using namespace dirscope::node;
using namespace dirscope::node::test;

using protocol::entry_type;

namespace {

std::shared_ptr<dir_cursor> open_cursor(int root_fd, std::string_view path,
                                        size_t sort_limit = 100'000) {
  auto cursor = dir_cursor::open(root_fd, path, sort_limit);
  INFO("dir_cursor::open(" << path << ")");
  REQUIRE(cursor.ok());
  return *cursor;
}

std::vector<protocol::entry> list(int root_fd, std::string_view path) {
  return drain(*open_cursor(root_fd, path));
}

std::vector<std::string> names_of(const std::vector<protocol::entry>& xs) {
  std::vector<std::string> result;
  for (auto& x : xs)
    result.push_back(x.name);
  return result;
}

void make_fifo(const std::string& path) {
  REQUIRE(::mkfifo(path.c_str(), 0644) == 0);
}

// Leaves a bound AF_UNIX socket node at `path`.
void make_socket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof(addr.sun_path));
  std::copy(path.begin(), path.end(), addr.sun_path);
  unique_fd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  REQUIRE(fd);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
          == 0);
}

struct stat lstat_of(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000
         + st.st_mtim.tv_nsec;
}

// Sets a file's mtime to `sec` seconds after the epoch.
void set_mtime(const std::string& path, time_t sec) {
  timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = sec;
  times[1].tv_nsec = 0;
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW)
          == 0);
}

// Lists with hashes and computes every pending hash, as a worker would.
struct hashed_listing {
  std::vector<protocol::entry> entries;
  size_t pending = 0;
};

hashed_listing list_hashed(int root_fd, std::string_view path,
                           hash_cache& cache) {
  hashed_listing result;
  auto cursor = open_cursor(root_fd, path);
  while (!cursor->done()) {
    auto batch = cursor->next(5, protocol::chunk_byte_budget, true, &cache);
    for (auto& p : batch.pending) {
      auto& x = batch.entries[p.index];
      auto digest = hash_at(cursor->fd(), x.name, p.key, &cache);
      REQUIRE(digest);
      x.sha256 = *digest;
      ++result.pending;
    }
    for (auto& x : batch.entries)
      result.entries.push_back(std::move(x));
  }
  return result;
}

} // namespace

TEST_CASE("listings describe every kind of entry", "[listing]") {
  temp_tree tree;
  write_file(tree.at("/file"), "hello");
  make_dir(tree.at("/dir"));
  write_file(tree.at("/dir/one"), "1");
  write_file(tree.at("/dir/.hidden"), "2");
  make_dir(tree.at("/dir/sub"));
  make_dir(tree.at("/empty"));
  make_symlink("/etc/passwd", tree.at("/abs_link"));
  make_symlink("dir", tree.at("/dir_link"));
  make_symlink("missing", tree.at("/dangling"));
  make_fifo(tree.at("/fifo"));
  make_socket(tree.at("/sock"));
  auto xs = list(tree.root_fd(), "/");
  REQUIRE(xs.size() == 8);
  for (auto& x : xs) {
    INFO(x.name);
    CHECK_FALSE(x.error);
    CHECK_FALSE(x.sha256);
    auto st = lstat_of(tree.at("/" + x.name));
    CHECK(x.mtime_ns == mtime_ns(st));
    CHECK(x.size == static_cast<uint64_t>(st.st_size));
  }
  SECTION("files") {
    auto x = find_entry(xs, "file");
    REQUIRE(x);
    CHECK(x->type == entry_type::file);
    CHECK(x->size == 5);
    CHECK_FALSE(x->items);
    CHECK_FALSE(x->target);
  }
  SECTION("directories with their item counts") {
    auto dir = find_entry(xs, "dir");
    REQUIRE(dir);
    CHECK(dir->type == entry_type::dir);
    CHECK(dir->items == uint64_t{3});
    auto empty = find_entry(xs, "empty");
    REQUIRE(empty);
    CHECK(empty->items == uint64_t{0});
  }
  SECTION("symlinks with their targets, never followed") {
    auto abs = find_entry(xs, "abs_link");
    REQUIRE(abs);
    CHECK(abs->type == entry_type::symlink);
    CHECK(abs->target == std::string{"/etc/passwd"});
    CHECK(abs->size == 11);
    auto dir_link = find_entry(xs, "dir_link");
    REQUIRE(dir_link);
    CHECK(dir_link->type == entry_type::symlink);
    CHECK(dir_link->target == std::string{"dir"});
    CHECK_FALSE(dir_link->items);
    auto dangling = find_entry(xs, "dangling");
    REQUIRE(dangling);
    CHECK(dangling->target == std::string{"missing"});
  }
  SECTION("FIFOs and sockets as other") {
    for (auto name : {"fifo", "sock"}) {
      INFO(name);
      auto x = find_entry(xs, name);
      REQUIRE(x);
      CHECK(x->type == entry_type::other);
      CHECK_FALSE(x->items);
      CHECK_FALSE(x->target);
    }
  }
}

TEST_CASE("only regular files are hashed", "[listing]") {
  temp_tree tree;
  write_file(tree.at("/file"), "hello");
  make_dir(tree.at("/dir"));
  make_symlink("file", tree.at("/link"));
  // Opening this FIFO for reading without O_NONBLOCK would hang the test.
  make_fifo(tree.at("/fifo"));
  make_socket(tree.at("/sock"));
  hash_cache cache;
  auto cursor = open_cursor(tree.root_fd(), "/");
  auto batch = cursor->next(100, protocol::chunk_byte_budget, true, &cache);
  CHECK(cursor->done());
  REQUIRE(batch.entries.size() == 5);
  REQUIRE(batch.pending.size() == 1);
  auto& file = batch.entries[batch.pending[0].index];
  CHECK(file.name == "file");
  auto st = lstat_of(tree.at("/file"));
  auto& key = batch.pending[0].key;
  CHECK(key.ino == st.st_ino);
  CHECK(key.dev == st.st_dev);
  CHECK(key.size == 5);
  CHECK(key.mtime_ns == mtime_ns(st));
  for (auto& x : batch.entries)
    CHECK_FALSE(x.sha256);
  SECTION("hash_at refuses anything but the listed regular file") {
    for (auto name : {"fifo", "sock", "dir", "link"}) {
      INFO(name);
      auto digest = hash_at(cursor->fd(), name, key, &cache);
      REQUIRE_FALSE(digest);
      CHECK(digest.error().code == wire_code::io_error);
    }
    auto digest = hash_at(cursor->fd(), "file", key, &cache);
    REQUIRE(digest);
    CHECK(*digest == sha256_bytes("hello"));
  }
  SECTION("hash_at refuses names that are not entry names") {
    for (auto name : {"", ".", "..", "../file", "a/b"}) {
      INFO(name);
      auto digest = hash_at(cursor->fd(), name, key, &cache);
      REQUIRE_FALSE(digest);
      CHECK(digest.error().code == wire_code::bad_request);
    }
  }
}

TEST_CASE("the hash cache spares unchanged files", "[listing]") {
  temp_tree tree;
  make_dir(tree.at("/d"));
  for (int i = 0; i < 12; ++i)
    write_file(tree.at("/d/f" + std::to_string(i)),
               "content " + std::to_string(i));
  auto root_fd = tree.root_fd();
  hash_cache cache;
  auto first = list_hashed(root_fd, "/d", cache);
  CHECK(first.pending == 12);
  CHECK(cache.misses() == 12);
  CHECK(cache.size() == 12);
  for (auto& x : first.entries) {
    INFO(x.name);
    REQUIRE(x.sha256);
    CHECK(*x.sha256 == sha256_bytes("content " + x.name.substr(1)));
  }
  auto second = list_hashed(root_fd, "/d", cache);
  CHECK(second.pending == 0);
  CHECK(cache.misses() == 12);
  CHECK(cache.hits() == 12);
  for (auto& x : second.entries)
    CHECK(x.sha256 == find_entry(first.entries, x.name)->sha256);
  SECTION("a new mtime is a miss") {
    set_mtime(tree.at("/d/f3"), 1'000'000);
    auto third = list_hashed(root_fd, "/d", cache);
    CHECK(third.pending == 1);
    CHECK(cache.misses() == 13);
    CHECK(find_entry(third.entries, "f3")->sha256
          == find_entry(first.entries, "f3")->sha256);
  }
  SECTION("a new size is a miss") {
    auto st = lstat_of(tree.at("/d/f4"));
    write_file(tree.at("/d/f4"), "longer content");
    set_mtime(tree.at("/d/f4"), st.st_mtim.tv_sec);
    auto third = list_hashed(root_fd, "/d", cache);
    CHECK(third.pending == 1);
    CHECK(*find_entry(third.entries, "f4")->sha256
          == sha256_bytes("longer content"));
  }
}

TEST_CASE("hash_at notices a file that changed since the listing",
          "[listing]") {
  temp_tree tree;
  write_file(tree.at("/f"), "old");
  auto cursor = open_cursor(tree.root_fd(), "/");
  hash_cache cache;
  auto batch = cursor->next(10, protocol::chunk_byte_budget, true, &cache);
  REQUIRE(batch.pending.size() == 1);
  auto key = batch.pending[0].key;
  SECTION("new contents") {
    write_file(tree.at("/f"), "new!");
  }
  SECTION("new mtime") {
    set_mtime(tree.at("/f"), 12345);
  }
  SECTION("replaced by another file") {
    write_file(tree.at("/g"), "old");
    REQUIRE(::rename(tree.at("/g").c_str(), tree.at("/f").c_str()) == 0);
  }
  SECTION("replaced by a symlink") {
    REQUIRE(::unlink(tree.at("/f").c_str()) == 0);
    make_symlink("/etc/passwd", tree.at("/f"));
  }
  SECTION("replaced by a FIFO") {
    REQUIRE(::unlink(tree.at("/f").c_str()) == 0);
    make_fifo(tree.at("/f"));
  }
  auto digest = hash_at(cursor->fd(), "f", key, &cache);
  REQUIRE_FALSE(digest);
  CHECK(digest.error().code == wire_code::io_error);
  CHECK(cache.size() == 0);
}

TEST_CASE("small directories come out sorted bytewise", "[listing]") {
  temp_tree tree;
  std::vector<std::string> names{"b", "a", "B", "_", "aa", "\xc3\xa9",
                                 "\x7f", "10", "9", "Z"};
  for (auto& name : names)
    write_file(tree.at("/" + name), name);
  auto cursor = open_cursor(tree.root_fd(), "/", names.size());
  CHECK(cursor->sorted());
  auto xs = drain(*cursor, 3);
  std::sort(names.begin(), names.end());
  CHECK(names_of(xs) == names);
  // Bytewise means unsigned: non-ASCII sorts after everything ASCII.
  CHECK(xs.back().name == "\xc3\xa9");
  CHECK(xs.front().name == "10");
}

TEST_CASE("large directories stream unsorted, each name once",
          "[listing]") {
  temp_tree tree;
  std::set<std::string> expected;
  for (int i = 0; i < 10; ++i) {
    auto name = "entry" + std::to_string(i);
    write_file(tree.at("/" + name), name);
    expected.insert(name);
  }
  auto sort_limit = GENERATE(size_t{0}, size_t{3}, size_t{9});
  auto max_entries = GENERATE(size_t{1}, size_t{2}, size_t{4});
  INFO("sort_limit " << sort_limit << ", max_entries " << max_entries);
  auto cursor = open_cursor(tree.root_fd(), "/", sort_limit);
  CHECK_FALSE(cursor->sorted());
  std::multiset<std::string> seen;
  size_t batches = 0;
  while (!cursor->done()) {
    auto batch = cursor->next(max_entries, protocol::chunk_byte_budget, false,
                              nullptr);
    REQUIRE_FALSE(batch.entries.empty());
    CHECK(batch.entries.size() <= max_entries);
    for (auto& x : batch.entries)
      seen.insert(x.name);
    REQUIRE(++batches <= 10);
  }
  CHECK(seen == std::multiset<std::string>(expected.begin(), expected.end()));
  CHECK(batches == (10 + max_entries - 1) / max_entries);
  CHECK(cursor->next(10, protocol::chunk_byte_budget, false, nullptr)
          .entries.empty());
}

TEST_CASE("sort_limit is the largest directory that gets sorted",
          "[listing]") {
  temp_tree tree;
  for (auto name : {"c", "a", "b"})
    write_file(tree.at(std::string{"/"} + name), name);
  CHECK(open_cursor(tree.root_fd(), "/", 3)->sorted());
  CHECK_FALSE(open_cursor(tree.root_fd(), "/", 2)->sorted());
}

TEST_CASE("an empty directory is done at once", "[listing]") {
  temp_tree tree;
  auto cursor = open_cursor(tree.root_fd(), "/", 0);
  CHECK(cursor->sorted());
  CHECK(cursor->done());
  auto batch = cursor->next(10, protocol::chunk_byte_budget, true, nullptr);
  CHECK(batch.entries.empty());
  CHECK(batch.pending.empty());
}

TEST_CASE("done() turns true with the batch holding the last entry",
          "[listing]") {
  temp_tree tree;
  for (auto name : {"x", "y", "z"})
    write_file(tree.at(std::string{"/"} + name), name);
  auto sort_limit = GENERATE(size_t{0}, size_t{100});
  auto cursor = open_cursor(tree.root_fd(), "/", sort_limit);
  CHECK(cursor->next(2, protocol::chunk_byte_budget, false, nullptr)
          .entries.size() == 2);
  CHECK_FALSE(cursor->done());
  CHECK(cursor->next(2, protocol::chunk_byte_budget, false, nullptr)
          .entries.size() == 1);
  CHECK(cursor->done());
}

TEST_CASE("batches respect the byte budget", "[listing]") {
  temp_tree tree;
  for (int i = 0; i < 40; ++i)
    write_file(tree.at("/" + std::string(100, 'a') + std::to_string(i)), "x");
  auto budget = GENERATE(size_t{0}, size_t{1}, size_t{500}, size_t{1000});
  INFO("budget " << budget);
  auto cursor = open_cursor(tree.root_fd(), "/");
  size_t total = 0;
  while (!cursor->done()) {
    auto batch = cursor->next(1000, budget, false, nullptr);
    REQUIRE_FALSE(batch.entries.empty());
    total += batch.entries.size();
    size_t bytes = 0;
    for (size_t i = 0; i < batch.entries.size(); ++i) {
      // Every entry but the last was added while under budget.
      if (i + 1 < batch.entries.size())
        CHECK(bytes + protocol::encoded_size(batch.entries[i]) < budget);
      bytes += protocol::encoded_size(batch.entries[i]);
    }
    if (!cursor->done())
      CHECK(bytes >= budget);
  }
  CHECK(total == 40);
}

TEST_CASE("max_entries of zero still makes progress", "[listing]") {
  temp_tree tree;
  write_file(tree.at("/a"), "a");
  write_file(tree.at("/b"), "b");
  auto cursor = open_cursor(tree.root_fd(), "/");
  CHECK(cursor->next(0, protocol::chunk_byte_budget, false, nullptr)
          .entries.size() == 1);
}

TEST_CASE("names are raw bytes end to end", "[listing]") {
  temp_tree tree;
  std::vector<std::string> names{"with space", "new\nline", "tab\there",
                                 "bad\xff", "\xc3\x28", "back\\slash",
                                 " leading", "trailing ", "-dash",
                                 "\xe2\x82\xac"};
  for (auto& name : names)
    write_file(tree.at("/" + name), name);
  auto root_fd = tree.root_fd();
  auto xs = list(root_fd, "/");
  std::sort(names.begin(), names.end());
  CHECK(names_of(xs) == names);
  hash_cache cache;
  for (auto& name : names) {
    INFO(name);
    auto x = stat_entry(root_fd, "/" + name, true, &cache);
    REQUIRE(x);
    CHECK(x->name == name);
    CHECK(x->sha256 == sha256_bytes(name));
  }
}

TEST_CASE("an entry that vanished carries its error", "[listing]") {
  temp_tree tree;
  write_file(tree.at("/gone"), "x");
  write_file(tree.at("/kept"), "y");
  // Names of a small directory are read up front, so this is deterministic.
  auto cursor = open_cursor(tree.root_fd(), "/");
  REQUIRE(::unlink(tree.at("/gone").c_str()) == 0);
  auto xs = drain(*cursor);
  REQUIRE(xs.size() == 2);
  auto gone = find_entry(xs, "gone");
  REQUIRE(gone);
  CHECK(gone->type == entry_type::other);
  REQUIRE(gone->error);
  CHECK(gone->error->code == wire_code::not_found);
  CHECK_FALSE(find_entry(xs, "kept")->error);
}

TEST_CASE("dir_cursor::open fails cleanly", "[listing]") {
  temp_tree tree;
  write_file(tree.at("/file"), "x");
  auto root_fd = tree.root_fd();
  auto missing = dir_cursor::open(root_fd, "/missing");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == wire_code::not_found);
  auto file = dir_cursor::open(root_fd, "/file");
  REQUIRE_FALSE(file);
  CHECK(file.error().code == wire_code::not_a_directory);
  auto bad = dir_cursor::open(root_fd, "/file/");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == wire_code::bad_request);
}

TEST_CASE("the cursor keeps its directory after a rename", "[listing]") {
  temp_tree tree;
  make_dir(tree.at("/d"));
  write_file(tree.at("/d/f"), "data");
  auto cursor = open_cursor(tree.root_fd(), "/d");
  hash_cache cache;
  auto batch = cursor->next(10, protocol::chunk_byte_budget, true, &cache);
  REQUIRE(batch.pending.size() == 1);
  REQUIRE(::rename(tree.at("/d").c_str(), tree.at("/e").c_str()) == 0);
  auto digest = hash_at(cursor->fd(), "f", batch.pending[0].key, &cache);
  REQUIRE(digest);
  CHECK(*digest == sha256_bytes("data"));
  CHECK(cache.size() == 1);
}

// -- permissions --------------------------------------------------------------

namespace {

// Runs as the user who must be refused; returns a bit per failed check.
// Plain code rather than Catch2 assertions: as root it runs in a child.
int unreadable_checks(const std::string& root) {
  int failed = 0;
  auto root_fd = open_root(root);
  if (!root_fd)
    return 1;
  auto cursor = dir_cursor::open(root_fd->get(), "/");
  if (!cursor)
    return 2;
  hash_cache cache;
  auto batch = (*cursor)->next(10, protocol::chunk_byte_budget, true, &cache);
  auto locked = find_entry(batch.entries, "locked");
  auto lockdir = find_entry(batch.entries, "lockdir");
  if (!locked || locked->type != entry_type::file || locked->error)
    failed |= 4;
  if (!lockdir || lockdir->type != entry_type::dir || lockdir->items
      || !lockdir->error
      || lockdir->error->code != wire_code::permission_denied)
    failed |= 8;
  if (batch.pending.size() != 1)
    return failed | 16;
  auto digest = hash_at((*cursor)->fd(), "locked", batch.pending[0].key,
                        &cache);
  if (digest || digest.error().code != wire_code::permission_denied)
    failed |= 32;
  auto stat = stat_entry(root_fd->get(), "/locked", true, &cache);
  if (!stat || !stat->error
      || stat->error->code != wire_code::permission_denied || stat->sha256)
    failed |= 64;
  auto inside = dir_cursor::open(root_fd->get(), "/lockdir");
  if (inside || inside.error().code != wire_code::permission_denied)
    failed |= 128;
  return failed;
}

} // namespace

TEST_CASE("unreadable entries carry permission_denied", "[listing]") {
  temp_tree tree;
  write_file(tree.at("/locked"), "secret");
  make_dir(tree.at("/lockdir"));
  write_file(tree.at("/lockdir/inner"), "secret");
  REQUIRE(::chmod(tree.at("/locked").c_str(), 0) == 0);
  REQUIRE(::chmod(tree.at("/lockdir").c_str(), 0) == 0);
  if (::geteuid() != 0) {
    CHECK(unreadable_checks(tree.root()) == 0);
    return;
  }
  // Permissions do not bind root: check as an unprivileged user instead.
  REQUIRE(::chmod(tree.base().c_str(), 0755) == 0);
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0
        || ::setuid(65534) != 0)
      ::_exit(255);
    ::_exit(unreadable_checks(tree.root()));
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 255) {
    WARN("cannot drop privileges: permission checks skipped");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

// -- stat_entry ---------------------------------------------------------------

TEST_CASE("stat_entry describes single entries", "[listing]") {
  temp_tree tree;
  std::string content(100'000, 'z');
  make_dir(tree.at("/sub"));
  write_file(tree.at("/sub/file"), content);
  write_file(tree.at("/top"), "t");
  make_symlink("/etc", tree.at("/etc_link"));
  make_fifo(tree.at("/fifo"));
  auto root_fd = tree.root_fd();
  hash_cache cache;
  SECTION("the root") {
    auto x = stat_entry(root_fd, "/", true, &cache);
    REQUIRE(x);
    CHECK(x->name == "/");
    CHECK(x->type == entry_type::dir);
    CHECK(x->items == uint64_t{4});
    CHECK(x->mtime_ns == mtime_ns(lstat_of(tree.root())));
    CHECK_FALSE(x->error);
  }
  SECTION("a file, hashed") {
    auto x = stat_entry(root_fd, "/sub/file", true, &cache);
    REQUIRE(x);
    CHECK(x->name == "file");
    CHECK(x->type == entry_type::file);
    CHECK(x->size == content.size());
    REQUIRE(x->sha256);
    CHECK(*x->sha256 == sha256_bytes(content));
    CHECK(cache.misses() == 1);
    auto again = stat_entry(root_fd, "/sub/file", true, &cache);
    REQUIRE(again);
    CHECK(again->sha256 == x->sha256);
    CHECK(cache.hits() == 1);
    CHECK(cache.misses() == 1);
  }
  SECTION("a file, without hash or cache") {
    auto x = stat_entry(root_fd, "/top", false, nullptr);
    REQUIRE(x);
    CHECK(x->type == entry_type::file);
    CHECK_FALSE(x->sha256);
    auto hashed = stat_entry(root_fd, "/top", true, nullptr);
    REQUIRE(hashed);
    CHECK(hashed->sha256 == sha256_bytes("t"));
  }
  SECTION("a directory") {
    auto x = stat_entry(root_fd, "/sub", true, &cache);
    REQUIRE(x);
    CHECK(x->name == "sub");
    CHECK(x->type == entry_type::dir);
    CHECK(x->items == uint64_t{1});
  }
  SECTION("a symlink is described, not followed") {
    auto x = stat_entry(root_fd, "/etc_link", true, &cache);
    REQUIRE(x);
    CHECK(x->type == entry_type::symlink);
    CHECK(x->target == std::string{"/etc"});
    CHECK_FALSE(x->items);
    auto through = stat_entry(root_fd, "/etc_link/passwd", true, &cache);
    REQUIRE_FALSE(through);
    CHECK(through.error().code == wire_code::outside_root);
  }
  SECTION("a FIFO is never opened") {
    auto x = stat_entry(root_fd, "/fifo", true, &cache);
    REQUIRE(x);
    CHECK(x->type == entry_type::other);
    CHECK_FALSE(x->sha256);
  }
  SECTION("missing paths") {
    for (auto path : {"/missing", "/sub/missing", "/missing/deeper"}) {
      INFO(path);
      auto x = stat_entry(root_fd, path, true, &cache);
      REQUIRE_FALSE(x);
      CHECK(x.error().code == wire_code::not_found);
    }
  }
  SECTION("malformed paths") {
    auto x = stat_entry(root_fd, "sub/file", true, &cache);
    REQUIRE_FALSE(x);
    CHECK(x.error().code == wire_code::bad_request);
    auto up = stat_entry(root_fd, "/..", true, &cache);
    REQUIRE_FALSE(up);
  }
}

TEST_CASE("file keys hold any timestamp without overflow", "[listing]") {
  constexpr auto max = std::numeric_limits<int64_t>::max();
  constexpr auto min = std::numeric_limits<int64_t>::min();
  struct stat st {};
  st.st_mtim = {1, 5};
  st.st_ctim = {-1, 999'999'999};
  CHECK(key_of(st).mtime_ns == 1'000'000'005);
  CHECK(key_of(st).ctime_ns == -1);
  // The last representable nanosecond, and one beyond it.
  st.st_ctim = {9'223'372'036, 854'775'807};
  CHECK(key_of(st).ctime_ns == max);
  st.st_ctim = {9'223'372'036, 854'775'808};
  CHECK(key_of(st).ctime_ns == max);
  st.st_ctim = {std::numeric_limits<time_t>::max(), 999'999'999};
  st.st_mtim = {std::numeric_limits<time_t>::min(), 0};
  CHECK(key_of(st).ctime_ns == max);
  CHECK(key_of(st).mtime_ns == min);
  st.st_ctim = {-9'223'372'037, 0};
  CHECK(key_of(st).ctime_ns == min);
  CHECK(timespec_ns({-9'223'372'036, 0}) == -9'223'372'036'000'000'000);
  // Keys of far-apart times stay apart (no wrap-around onto another time).
  struct stat near_past = st;
  near_past.st_ctim = {-1, 0};
  CHECK_FALSE(key_of(near_past) == key_of(st));
}

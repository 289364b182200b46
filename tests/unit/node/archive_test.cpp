#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"
#include "node/archive.hpp"
#include "protocol/messages.hpp"

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

unique_fd open_dir(const std::string& path) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  REQUIRE(fd);
  return fd;
}

std::string pack(const std::string& dir) {
  auto p = tree_packer::open(open_dir(dir), "dir");
  REQUIRE(p.ok());
  std::string stream;
  std::string piece;
  for (;;) {
    auto done = (*p)->next(piece, 1000);
    REQUIRE(done.ok());
    CHECK(piece.size() <= 1000);
    stream += piece;
    if (*done)
      return stream;
  }
}

/// Unpacks `stream` as `name` in `dir`; returns the failure, if any.
std::optional<failure> unpack(const std::string& dir, const std::string& name,
                              const std::string& stream) {
  auto u = tree_unpacker::create(open_dir(dir), name, name, 7);
  REQUIRE(u.ok());
  for (size_t i = 0; i < stream.size(); i += 777)
    if (auto r = (*u)->feed(std::string_view{stream}.substr(i, 777)); !r)
      return r.error();
  if (auto r = (*u)->finish(); !r)
    return r.error();
  if (auto r = (*u)->place(); !r)
    return r.error();
  return std::nullopt;
}

struct fake_entry {
  std::string name;
  mode_t type;
  std::string data; ///< file content or link target
};

/// A tar.gz made by hand, for entries a packer never produces.
std::string make_archive(const std::vector<fake_entry>& entries) {
  std::string out;
  auto a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  archive_write_open(
    a, &out, nullptr,
    [](archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
      static_cast<std::string*>(self)->append(static_cast<const char*>(buf),
                                              n);
      return static_cast<la_ssize_t>(n);
    },
    nullptr);
  for (auto& x : entries) {
    auto e = archive_entry_new();
    archive_entry_copy_pathname(e, x.name.c_str());
    archive_entry_set_filetype(e, x.type);
    archive_entry_set_perm(e, 0644);
    if (x.type == AE_IFLNK)
      archive_entry_copy_symlink(e, x.data.c_str());
    archive_entry_set_size(e, x.type == AE_IFREG ? x.data.size() : 0);
    archive_write_header(a, e);
    if (x.type == AE_IFREG)
      archive_write_data(a, x.data.data(), x.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
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

} // namespace

TEST_CASE("a packed tree unpacks with modes, mtimes and links intact",
          "[archive]") {
  temp_tree t;
  make_dir(t.at("/src"));
  make_dir(t.at("/src/sub"));
  make_dir(t.at("/src/sub/empty"));
  write_file(t.at("/src/a file"), "hello");
  write_file(t.at("/src/sub/run"), std::string(200000, 'x'));
  ::chmod(t.at("/src/sub/run").c_str(), 0755);
  write_file(t.at("/src/sub/secret \xff"), "s");
  ::chmod(t.at("/src/sub/secret \xff").c_str(), 0600);
  ::chmod(t.at("/src/sub/empty").c_str(), 0700);
  write_file(t.outside("secret"), "outside the root");
  make_symlink(t.outside("secret"), t.at("/src/out"));
  make_symlink("../..", t.at("/src/sub/up"));
  struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
  ::utimensat(AT_FDCWD, t.at("/src/a file").c_str(), times, 0);
  ::utimensat(AT_FDCWD, t.at("/src/sub").c_str(), times, 0);
  auto stream = pack(t.at("/src"));
  REQUIRE(stream.find("outside the root") == std::string::npos);
  auto failed = unpack(t.root(), "dst", stream);
  REQUIRE_FALSE(failed.has_value());
  CHECK(slurp(t.at("/dst/a file")) == "hello");
  CHECK(slurp(t.at("/dst/sub/run")) == std::string(200000, 'x'));
  struct stat st {};
  REQUIRE(::lstat(t.at("/dst/sub/run").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
  REQUIRE(::lstat(t.at("/dst/sub/secret \xff").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::lstat(t.at("/dst/sub/empty").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 07777) == 0700);
  REQUIRE(::lstat(t.at("/dst/a file").c_str(), &st) == 0);
  CHECK(st.st_mtim.tv_sec == 1000000000);
  REQUIRE(::lstat(t.at("/dst/sub").c_str(), &st) == 0);
  CHECK(st.st_mtim.tv_sec == 1000000000);
  REQUIRE(::lstat(t.at("/dst/out").c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  char buf[4096];
  auto n = ::readlink(t.at("/dst/out").c_str(), buf, sizeof(buf));
  CHECK(std::string(buf, static_cast<size_t>(n)) == t.outside("secret"));
  REQUIRE(::lstat(t.at("/dst/sub/up").c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  // Only dst besides src: the temporary directory is gone.
  CHECK(count_entries(t.root()) == 2);
}

TEST_CASE("unpacking refuses '..', absolute names and paths through links",
          "[archive]") {
  temp_tree t;
  make_dir(t.outside("victim"));
  SECTION("dot-dot") {
    auto s = make_archive({{"ok", AE_IFREG, "1"}, {"../x", AE_IFREG, "2"}});
    auto f = unpack(t.root(), "dst", s);
    REQUIRE(f.has_value());
    CHECK(f->code == wire_code::bad_request);
    CHECK_FALSE(exists(t.base() + "/x"));
    CHECK_FALSE(exists(t.root() + "/x"));
  }
  SECTION("dot-dot inside") {
    auto s = make_archive({{"a/../../x", AE_IFREG, "2"}});
    CHECK(unpack(t.root(), "dst", s).has_value());
    CHECK_FALSE(exists(t.root() + "/x"));
  }
  SECTION("absolute") {
    auto s = make_archive({{t.outside("victim/x"), AE_IFREG, "2"}});
    auto f = unpack(t.root(), "dst", s);
    REQUIRE(f.has_value());
    CHECK(f->code == wire_code::bad_request);
    CHECK_FALSE(exists(t.outside("victim/x")));
  }
  SECTION("/etc/x") {
    auto s = make_archive({{"/etc/x", AE_IFREG, "2"}});
    CHECK(unpack(t.root(), "dst", s).has_value());
  }
  SECTION("through a symlink") {
    auto s = make_archive({{"link", AE_IFLNK, t.outside("victim")},
                           {"link/x", AE_IFREG, "2"}});
    auto f = unpack(t.root(), "dst", s);
    REQUIRE(f.has_value());
    CHECK_FALSE(exists(t.outside("victim/x")));
  }
  SECTION("device") {
    auto d = make_archive({{"dev", AE_IFCHR, ""}});
    CHECK(unpack(t.root(), "dst", d).has_value());
  }
  SECTION("garbage") {
    CHECK(unpack(t.root(), "dst", std::string(5000, 'z')).has_value());
  }
  // Nothing is left behind: no target, no temporary directory.
  CHECK(count_entries(t.root()) == 0);
}

TEST_CASE("an unpacker refuses an existing target and cleans up when dropped",
          "[archive]") {
  temp_tree t;
  make_dir(t.at("/dst"));
  CHECK(tree_unpacker::create(open_dir(t.root()), "dst", "dst", 1).error().code
        == wire_code::already_exists);
  {
    auto u = tree_unpacker::create(open_dir(t.root()), "new", "new", 1);
    REQUIRE(u.ok());
    auto s = make_archive({{"f", AE_IFREG, "123"}});
    REQUIRE((*u)->feed(s).ok());
    CHECK(exists(t.root() + "/" + (*u)->temp_name()));
  }
  CHECK(count_entries(t.root()) == 1);
  // A target that appears meanwhile is not replaced.
  auto u = tree_unpacker::create(open_dir(t.root()), "late", "late", 2);
  REQUIRE(u.ok());
  REQUIRE((*u)->feed(make_archive({{"f", AE_IFREG, "1"}})).ok());
  REQUIRE((*u)->finish().ok());
  make_dir(t.at("/late"));
  CHECK((*u)->place().error().code == wire_code::already_exists);
}

TEST_CASE("a packer abandoned in the middle of a big file stops at once",
          "[archive]") {
  temp_tree t;
  make_dir(t.at("/src"));
  {
    unique_fd fd{::open(t.at("/src/zeros").c_str(),
                        O_CREAT | O_WRONLY | O_CLOEXEC, 0644)};
    REQUIRE(::ftruncate(fd.get(), off_t{8} << 30) == 0);
  }
  auto start = std::chrono::steady_clock::now();
  {
    auto p = tree_packer::open(open_dir(t.at("/src")), "src");
    REQUIRE(p.ok());
    std::string piece;
    REQUIRE((*p)->next(piece, 1000).ok());
  }
  // Finishing the archive would compress 8 GiB of zeros.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds{2});
}

#include <catch2/catch.hpp>

#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"
#include "node/confine.hpp"
#include "node/confine_testing.hpp"
#include "node/listing.hpp"

using namespace dirscope;
using namespace dirscope::node;
using namespace dirscope::node::test;

namespace {

std::string read_all(int fd) {
  std::string result;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0)
    result.append(buf, static_cast<size_t>(n));
  return result;
}

// A tree with a secret next to the root and symlinks of every kind inside.
struct escape_tree : temp_tree {
  escape_tree() {
    write_file(outside("secret"), "top secret");
    make_dir(at("/sub"));
    write_file(at("/sub/file"), "inside");
    write_file(at("/plain"), "plain");
    make_symlink("/etc", at("/etc_link"));
    make_symlink("/", at("/slash"));
    make_symlink("../../", at("/up"));
    make_symlink("../secret", at("/secret_link"));
    make_symlink("sub", at("/in"));
    make_symlink("sub/file", at("/in_file"));
    make_symlink(at("/sub"), at("/abs_in"));
    make_symlink("b", at("/a"));
    make_symlink("a", at("/b"));
  }
};

// Both modes must refuse every escape; they differ only in how they
// treat symlinks that stay inside.
bool refused(const outcome<unique_fd>& x, wire_code code) {
  return !x && x.error().code == code;
}

} // namespace

TEST_CASE("open_root opens directories only", "[confine]") {
  temp_tree tree;
  write_file(tree.at("/file"), "x");
  SECTION("a directory") {
    auto fd = open_root(tree.root());
    REQUIRE(fd);
    CHECK((::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC) != 0);
    struct stat st;
    REQUIRE(::fstat(fd->get(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
  }
  SECTION("a missing path") {
    auto fd = open_root(tree.at("/missing"));
    REQUIRE_FALSE(fd);
    CHECK(fd.error().code == wire_code::not_found);
    CHECK(fd.error().message.find("missing") != std::string::npos);
  }
  SECTION("a regular file") {
    auto fd = open_root(tree.at("/file"));
    REQUIRE_FALSE(fd);
    CHECK(fd.error().code == wire_code::not_a_directory);
  }
  SECTION("an empty path") {
    CHECK_FALSE(open_root(""));
  }
}

TEST_CASE("errno_failure maps errno values to wire codes", "[confine]") {
  CHECK(errno_failure(ENOENT, "x").code == wire_code::not_found);
  CHECK(errno_failure(EACCES, "x").code == wire_code::permission_denied);
  CHECK(errno_failure(EPERM, "x").code == wire_code::permission_denied);
  CHECK(errno_failure(ENOTDIR, "x").code == wire_code::not_a_directory);
  CHECK(errno_failure(EXDEV, "x").code == wire_code::outside_root);
  CHECK(errno_failure(ELOOP, "x").code == wire_code::symlink_loop);
  CHECK(errno_failure(ENAMETOOLONG, "x").code == wire_code::bad_request);
  CHECK(errno_failure(EIO, "x").code == wire_code::io_error);
  auto err = errno_failure(ENOENT, "/a/b");
  CHECK(err.message == "/a/b: No such file or directory");
  CHECK(errno_failure(EXDEV, "/a").message
        == "/a: path leaves the node's root");
}

TEST_CASE("has_openat2 follows the test hook", "[confine]") {
  if (!has_openat2())
    WARN("this kernel has no usable openat2: only the fallback is tested");
  {
    fallback_mode forced{true};
    CHECK_FALSE(has_openat2());
  }
}

TEST_CASE("open_beneath opens paths inside the root", "[confine]") {
  auto forced = GENERATE(false, true);
  fallback_mode mode{forced};
  INFO("forced fallback: " << forced);
  escape_tree tree;
  auto root_fd = tree.root_fd();
  SECTION("the root itself") {
    auto fd = open_beneath(root_fd, "/", O_RDONLY | O_DIRECTORY);
    REQUIRE(fd);
    CHECK(fd->get() != root_fd);
    CHECK((::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC) != 0);
    struct stat a, b;
    REQUIRE(::fstat(fd->get(), &a) == 0);
    REQUIRE(::fstat(root_fd, &b) == 0);
    CHECK(a.st_ino == b.st_ino);
    CHECK(a.st_dev == b.st_dev);
  }
  SECTION("a nested file") {
    auto fd = open_beneath(root_fd, "/sub/file", O_RDONLY);
    REQUIRE(fd);
    CHECK((::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(read_all(fd->get()) == "inside");
  }
  SECTION("missing paths") {
    CHECK(refused(open_beneath(root_fd, "/nope", O_RDONLY),
                  wire_code::not_found));
    CHECK(refused(open_beneath(root_fd, "/nope/deeper", O_RDONLY),
                  wire_code::not_found));
  }
  SECTION("a file used as a directory") {
    CHECK(refused(open_beneath(root_fd, "/plain/x", O_RDONLY),
                  wire_code::not_a_directory));
    CHECK(refused(open_beneath(root_fd, "/plain", O_RDONLY | O_DIRECTORY),
                  wire_code::not_a_directory));
  }
  SECTION("symlinks that stay inside") {
    auto through_dir = open_beneath(root_fd, "/in/file", O_RDONLY);
    auto to_file = open_beneath(root_fd, "/in_file", O_RDONLY);
    if (has_openat2()) {
      REQUIRE(through_dir);
      CHECK(read_all(through_dir->get()) == "inside");
      REQUIRE(to_file);
      CHECK(read_all(to_file->get()) == "inside");
    } else {
      // Documented limitation: the fallback refuses every symlink.
      CHECK(refused(through_dir, wire_code::outside_root));
      CHECK(refused(to_file, wire_code::outside_root));
    }
  }
}

TEST_CASE("open_beneath refuses every way out of the root", "[confine]") {
  auto forced = GENERATE(false, true);
  fallback_mode mode{forced};
  INFO("forced fallback: " << forced);
  escape_tree tree;
  auto root_fd = tree.root_fd();
  SECTION("dot-dot components never reach the file system") {
    for (auto path : {"/..", "/../etc", "/sub/../..", "/../secret"}) {
      INFO(path);
      auto fd = open_beneath(root_fd, path, O_RDONLY);
      REQUIRE_FALSE(fd);
      CHECK((fd.error().code == wire_code::outside_root
             || fd.error().code == wire_code::bad_request));
    }
  }
  SECTION("paths that are not normalized") {
    for (auto path : {"", "sub", "/sub/", "//sub", "/./sub", "/sub//file"}) {
      INFO(path);
      auto fd = open_beneath(root_fd, path, O_RDONLY);
      REQUIRE_FALSE(fd);
      CHECK((fd.error().code == wire_code::bad_request
             || fd.error().code == wire_code::outside_root));
    }
  }
  SECTION("an absolute symlink to /etc") {
    CHECK(refused(open_beneath(root_fd, "/etc_link/passwd", O_RDONLY),
                  wire_code::outside_root));
    CHECK(refused(open_beneath(root_fd, "/etc_link", O_RDONLY | O_DIRECTORY),
                  wire_code::outside_root));
    auto cursor = dir_cursor::open(root_fd, "/etc_link");
    REQUIRE_FALSE(cursor);
    CHECK(cursor.error().code == wire_code::outside_root);
  }
  SECTION("a symlink to /") {
    CHECK(refused(open_beneath(root_fd, "/slash/etc/passwd", O_RDONLY),
                  wire_code::outside_root));
    auto cursor = dir_cursor::open(root_fd, "/slash");
    REQUIRE_FALSE(cursor);
    CHECK(cursor.error().code == wire_code::outside_root);
  }
  SECTION("relative symlinks climbing out") {
    CHECK(refused(open_beneath(root_fd, "/up", O_RDONLY | O_DIRECTORY),
                  wire_code::outside_root));
    CHECK(refused(open_beneath(root_fd, "/up/etc/passwd", O_RDONLY),
                  wire_code::outside_root));
    CHECK(refused(open_beneath(root_fd, "/secret_link", O_RDONLY),
                  wire_code::outside_root));
    CHECK_FALSE(dir_cursor::open(root_fd, "/up"));
  }
  SECTION("an absolute symlink pointing back inside") {
    // Absolute targets are never resolved, even when they land inside.
    CHECK(refused(open_beneath(root_fd, "/abs_in/file", O_RDONLY),
                  wire_code::outside_root));
  }
  SECTION("a symlink loop") {
    for (auto path : {"/a", "/a/x"}) {
      INFO(path);
      auto fd = open_beneath(root_fd, path, O_RDONLY);
      REQUIRE_FALSE(fd);
      if (has_openat2())
        CHECK(fd.error().code == wire_code::symlink_loop);
      else
        CHECK(fd.error().code == wire_code::outside_root);
    }
  }
  SECTION("overlong paths and names") {
    std::string path = "/" + std::string(4095, 'a');
    REQUIRE(path.size() == 4096);
    CHECK(refused(open_beneath(root_fd, path, O_RDONLY),
                  wire_code::bad_request));
    // Short enough for the protocol, too long for the file system.
    CHECK(refused(open_beneath(root_fd, "/" + std::string(300, 'a'),
                               O_RDONLY),
                  wire_code::bad_request));
  }
  SECTION("magic links in /proc") {
    // /proc/self/root and /proc/self/cwd jump without a path to follow.
    auto proc = open_root("/proc/self");
    if (!proc) {
      WARN("no /proc: magic links not tested");
      return;
    }
    for (auto path : {"/root/etc/passwd", "/root", "/cwd"}) {
      INFO(path);
      auto fd = open_beneath(proc->get(), path, O_RDONLY);
      REQUIRE_FALSE(fd);
      CHECK((fd.error().code == wire_code::symlink_loop
             || fd.error().code == wire_code::outside_root));
    }
  }
}

TEST_CASE("a directory swapped for a symlink to / reveals nothing",
          "[confine]") {
  auto forced = GENERATE(false, true);
  fallback_mode mode{forced};
  INFO("forced fallback: " << forced);
  temp_tree tree;
  make_dir(tree.at("/d"));
  write_file(tree.at("/d/f"), "x");
  auto root_fd = tree.root_fd();
  auto before = dir_cursor::open(root_fd, "/d");
  REQUIRE(before);
  REQUIRE(open_beneath(root_fd, "/d/f", O_RDONLY));
  REQUIRE(::rename(tree.at("/d").c_str(), tree.at("/d.old").c_str()) == 0);
  make_symlink("/", tree.at("/d"));
  CHECK(refused(open_beneath(root_fd, "/d/etc/passwd", O_RDONLY),
                wire_code::outside_root));
  CHECK(refused(open_beneath(root_fd, "/d", O_RDONLY | O_DIRECTORY),
                wire_code::outside_root));
  auto after = dir_cursor::open(root_fd, "/d");
  REQUIRE_FALSE(after);
  CHECK(after.error().code == wire_code::outside_root);
  auto stat_through = stat_entry(root_fd, "/d/etc", false, nullptr);
  REQUIRE_FALSE(stat_through);
  CHECK(stat_through.error().code == wire_code::outside_root);
  // The link itself is described, never followed.
  auto link = stat_entry(root_fd, "/d", true, nullptr);
  REQUIRE(link);
  CHECK(link->type == protocol::entry_type::symlink);
  CHECK(link->target == std::string{"/"});
  CHECK_FALSE(link->items);
  CHECK_FALSE(link->sha256);
  // The cursor opened before the swap still lists the old directory.
  auto old = drain(**before);
  REQUIRE(old.size() == 1);
  CHECK(old[0].name == "f");
}

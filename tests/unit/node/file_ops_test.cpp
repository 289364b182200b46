#include <catch2/catch.hpp>

#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"
#include "node/file_ops.hpp"

using namespace dirscope;
using namespace dirscope::node;
using namespace dirscope::node::test;
using protocol::entry_type;

namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

/// root/tree: a.txt (3 bytes), sub/b.bin (10), sub/deeper/ (empty),
/// link -> a.txt, out -> the directory outside the root.
void build_tree(temp_tree& t) {
  make_dir(t.at("/tree"));
  write_file(t.at("/tree/a.txt"), "abc");
  make_dir(t.at("/tree/sub"));
  write_file(t.at("/tree/sub/b.bin"), std::string(10, 'x'));
  make_dir(t.at("/tree/sub/deeper"));
  make_symlink("a.txt", t.at("/tree/link"));
  make_dir(t.outside("victim"));
  write_file(t.outside("victim/keep.txt"), "keep me");
  make_symlink(t.outside("victim"), t.at("/tree/out"));
}

} // namespace

TEST_CASE("du of a file, an empty file and a symlink", "[node][du]") {
  temp_tree t;
  write_file(t.at("/f"), std::string(65537, 'y'));
  write_file(t.at("/empty"), "");
  make_symlink("/etc/passwd", t.at("/l"));
  auto f = disk_usage(t.root_fd(), "/f");
  REQUIRE(f.ok());
  CHECK(f->type == entry_type::file);
  CHECK(f->bytes == 65537);
  CHECK(f->files == 1);
  CHECK(f->dirs == 0);
  auto e = disk_usage(t.root_fd(), "/empty");
  REQUIRE(e.ok());
  CHECK(e->bytes == 0);
  auto l = disk_usage(t.root_fd(), "/l");
  REQUIRE(l.ok());
  CHECK(l->type == entry_type::symlink);
  CHECK(l->files == 1);
}

TEST_CASE("du of a tree counts without following links", "[node][du]") {
  temp_tree t;
  build_tree(t);
  auto u = disk_usage(t.root_fd(), "/tree");
  REQUIRE(u.ok());
  CHECK(u->type == entry_type::dir);
  CHECK(u->bytes == 13);
  CHECK(u->files == 4); // a.txt, b.bin, link, out
  CHECK(u->dirs == 2);  // sub, sub/deeper
  auto root = disk_usage(t.root_fd(), "/");
  REQUIRE(root.ok());
  CHECK(root->dirs == 3);
  CHECK(root->bytes == 13);
}

TEST_CASE("du failures", "[node][du]") {
  temp_tree t;
  build_tree(t);
  auto missing = disk_usage(t.root_fd(), "/nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == wire_code::not_found);
  auto escape = disk_usage(t.root_fd(), "/../x");
  REQUIRE_FALSE(escape.ok());
  CHECK(escape.error().code == wire_code::outside_root);
  // Through a symlink to outside: refused, never measured.
  auto through = disk_usage(t.root_fd(), "/tree/out/keep.txt");
  REQUIRE_FALSE(through.ok());
}

TEST_CASE("rm of a file and of a symlink (not its target)", "[node][rm]") {
  temp_tree t;
  build_tree(t);
  auto f = remove_beneath(t.root_fd(), "/tree/sub/b.bin", false);
  REQUIRE(f.ok());
  CHECK(*f == 1);
  CHECK_FALSE(exists(t.at("/tree/sub/b.bin")));
  auto l = remove_beneath(t.root_fd(), "/tree/out", false);
  REQUIRE(l.ok());
  CHECK_FALSE(exists(t.at("/tree/out")));
  CHECK(exists(t.outside("victim/keep.txt")));
}

TEST_CASE("rm of a directory needs recursive", "[node][rm]") {
  temp_tree t;
  build_tree(t);
  auto r = remove_beneath(t.root_fd(), "/tree", false);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == wire_code::bad_request);
  CHECK(r.error().message.find("needs -r") != std::string::npos);
  CHECK(exists(t.at("/tree/a.txt")));
  auto ok = remove_beneath(t.root_fd(), "/tree", true);
  REQUIRE(ok.ok());
  CHECK(*ok == 7); // 6 entries inside plus the directory
  CHECK_FALSE(exists(t.at("/tree")));
  // The link to outside was removed, not followed.
  CHECK(exists(t.outside("victim/keep.txt")));
}

TEST_CASE("rm failures", "[node][rm]") {
  temp_tree t;
  build_tree(t);
  auto root = remove_beneath(t.root_fd(), "/", true);
  REQUIRE_FALSE(root.ok());
  CHECK(root.error().code == wire_code::bad_request);
  auto missing = remove_beneath(t.root_fd(), "/nope", true);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == wire_code::not_found);
  auto through = remove_beneath(t.root_fd(), "/tree/out/keep.txt", false);
  REQUIRE_FALSE(through.ok());
  CHECK(exists(t.outside("victim/keep.txt")));
  auto escape = remove_beneath(t.root_fd(), "/../x", true);
  REQUIRE_FALSE(escape.ok());
  CHECK(escape.error().code == wire_code::outside_root);
}

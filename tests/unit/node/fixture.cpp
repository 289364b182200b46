#include "fixture.hpp"

#include <cstdlib>
#include <stdexcept>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/confine.hpp"
#include "node/confine_testing.hpp"

namespace dirscope::node::test {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + " failed");
}

// Restores permissions on the way down so chmod 000 entries go too.
void force_remove(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0)
    return;
  if (!S_ISDIR(st.st_mode)) {
    ::unlink(path.c_str());
    return;
  }
  ::chmod(path.c_str(), 0700);
  if (auto* dir = ::opendir(path.c_str())) {
    std::vector<std::string> names;
    while (auto* ent = ::readdir(dir)) {
      std::string name = ent->d_name;
      if (name != "." && name != "..")
        names.push_back(std::move(name));
    }
    ::closedir(dir);
    for (auto& name : names)
      force_remove(path + "/" + name);
  }
  ::rmdir(path.c_str());
}

} // namespace

temp_tree::temp_tree() {
  char tmpl[] = "/tmp/dirscope-node-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    fail("mkdtemp");
  base_ = tmpl;
  make_dir(root());
}

temp_tree::~temp_tree() {
  root_fd_ = unique_fd{};
  force_remove(base_);
}

std::string temp_tree::at(std::string_view rel) const {
  return rel == "/" ? root() : root() + std::string{rel};
}

std::string temp_tree::outside(std::string_view name) const {
  return base_ + "/" + std::string{name};
}

int temp_tree::root_fd() {
  if (!root_fd_) {
    auto fd = open_root(root());
    if (!fd)
      fail("open_root: " + fd.error().message);
    root_fd_ = std::move(*fd);
  }
  return root_fd_.get();
}

void write_file(const std::string& path, std::string_view content) {
  unique_fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      0644)};
  if (!fd)
    fail("open " + path);
  size_t done = 0;
  while (done < content.size()) {
    auto n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n <= 0)
      fail("write " + path);
    done += static_cast<size_t>(n);
  }
}

void make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0)
    fail("mkdir " + path);
}

void make_symlink(const std::string& target, const std::string& path) {
  if (::symlink(target.c_str(), path.c_str()) != 0)
    fail("symlink " + path);
}

std::string hex(const protocol::sha256_digest& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string result;
  for (auto byte : digest) {
    result += digits[byte >> 4];
    result += digits[byte & 0x0f];
  }
  return result;
}

std::vector<protocol::entry> drain(dir_cursor& cursor, size_t max_entries,
                                   bool with_hashes, hash_cache* cache) {
  std::vector<protocol::entry> result;
  // Bounded so that a cursor that never ends fails the test instead.
  for (int i = 0; i < 100'000 && !cursor.done(); ++i) {
    auto batch = cursor.next(max_entries, protocol::chunk_byte_budget,
                             with_hashes, cache);
    for (auto& x : batch.entries)
      result.push_back(std::move(x));
  }
  return result;
}

const protocol::entry* find_entry(const std::vector<protocol::entry>& xs,
                                  std::string_view name) {
  for (auto& x : xs)
    if (x.name == name)
      return &x;
  return nullptr;
}

fallback_mode::fallback_mode(bool forced) {
  force_openat_fallback_for_testing(forced);
}

fallback_mode::~fallback_mode() {
  force_openat_fallback_for_testing(false);
}

} // namespace dirscope::node::test

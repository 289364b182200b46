// libFuzzer harness: tar extraction into a confined directory (the tree
// upload path, node/archive.*: tree_unpacker). Whatever the archive holds,
// nothing appears or changes outside the unpack directory, the temporary
// directory is gone once the unpacker is, and a failure is a value.
//
// Layout, made once per process:
//   <sandbox>/root/      the directory the tree is unpacked into
//   <sandbox>/outside/   must stay empty (reachable as ../../outside from
//                        the top of the tree, e.g. through a symlink)
//   <sandbox>/canary     a file whose content and mode must not change

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "fuzz/check.hpp"
#include "fuzz/tar_input.hpp"
#include "node/archive.hpp"

using namespace dirscope;

namespace {

struct sandbox {
  std::string path;

  sandbox() {
    char tmpl[] = "/tmp/dirscope-fuzz-tar-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      std::abort();
    path = tmpl;
    if (::mkdir((path + "/root").c_str(), 0755) != 0
        || ::mkdir((path + "/outside").c_str(), 0755) != 0)
      std::abort();
    auto fd = ::open((path + "/canary").c_str(), O_WRONLY | O_CREAT, 0644);
    if (fd < 0 || ::write(fd, "canary", 6) != 6)
      std::abort();
    ::close(fd);
  }

  ~sandbox() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> result;
  auto d = ::opendir(dir.c_str());
  FUZZ_CHECK(d != nullptr);
  while (auto e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..")
      result.insert(name);
  }
  ::closedir(d);
  return result;
}

void check_confined(const sandbox& box) {
  FUZZ_CHECK((names_in(box.path)
              == std::set<std::string>{"canary", "outside", "root"}));
  FUZZ_CHECK(names_in(box.path + "/outside").empty());
  struct stat st {};
  FUZZ_CHECK(::lstat((box.path + "/canary").c_str(), &st) == 0);
  FUZZ_CHECK(S_ISREG(st.st_mode) && st.st_size == 6
             && (st.st_mode & 07777) == 0644);
  FUZZ_CHECK(::lstat((box.path + "/root").c_str(), &st) == 0);
  FUZZ_CHECK(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
}

// Everything inside may be unreadable (mode 000): make it removable.
void remove_tree(const std::string& path) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
         path, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec))
      ::chmod(it->path().c_str(), 0700);
  }
  ::chmod(path.c_str(), 0700);
  std::filesystem::remove_all(path, ec);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sandbox box;
  static uint64_t id = 0;
  auto stream = fuzz::tar_stream(data, size);
  {
    node::unique_fd dir{::open((box.path + "/root").c_str(),
                               O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    FUZZ_CHECK(static_cast<bool>(dir));
    auto up = node::tree_unpacker::create(std::move(dir), "tree", "/tree",
                                          ++id);
    FUZZ_CHECK(up.ok());
    bool ok = true;
    for (size_t pos = 0; ok && pos < stream.size(); pos += 4096) {
      auto res = (*up)->feed(std::string_view{stream}.substr(pos, 4096));
      ok = res.ok();
      if (!ok)
        FUZZ_CHECK(!res.error().message.empty());
    }
    if (ok) {
      auto res = (*up)->finish();
      ok = res.ok();
      if (!ok)
        FUZZ_CHECK(!res.error().message.empty());
    }
    if (ok)
      FUZZ_CHECK((*up)->place().ok());
  }
  check_confined(box);
  auto inside = names_in(box.path + "/root");
  // Only the placed tree may remain; the temporary directory is gone.
  FUZZ_CHECK(inside.empty() || inside == std::set<std::string>{"tree"});
  if (!inside.empty())
    remove_tree(box.path + "/root/tree");
  return 0;
}

#include "node/file_ops.hpp"

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/confine.hpp"
#include "node/unique_fd.hpp"
#include "protocol/paths.hpp"

namespace dirscope::node {

namespace {

using protocol::entry_type;

entry_type type_of(const struct stat& st) {
  if (S_ISREG(st.st_mode))
    return entry_type::file;
  if (S_ISDIR(st.st_mode))
    return entry_type::dir;
  if (S_ISLNK(st.st_mode))
    return entry_type::symlink;
  return entry_type::other;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

/// Opens `name` in `dir_fd` as a directory, refusing symlinks.
outcome<unique_fd> open_subdir(int dir_fd, const std::string& name,
                               const std::string& shown) {
  auto fd = ::openat(dir_fd, name.c_str(),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno_failure(errno, shown);
  return unique_fd{fd};
}

/// Reads every name in the directory `dir_fd` (except . and ..).
outcome<std::vector<std::string>> read_names(int dir_fd,
                                             const std::string& shown) {
  auto dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0)
    return errno_failure(errno, shown);
  auto dir = ::fdopendir(dup);
  if (dir == nullptr) {
    auto err = errno;
    ::close(dup);
    return errno_failure(err, shown);
  }
  ::rewinddir(dir);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    auto ent = ::readdir(dir);
    if (ent == nullptr) {
      auto err = errno;
      ::closedir(dir);
      if (err != 0)
        return errno_failure(err, shown);
      return names;
    }
    std::string name = ent->d_name;
    if (name != "." && name != "..")
      names.push_back(std::move(name));
  }
}

failure too_deep(const std::string& shown) {
  return make_failure(wire_code::io_error,
                      shown + ": nested deeper than "
                        + std::to_string(max_walk_depth) + " levels");
}

std::optional<failure> walk_usage(int dir_fd, const std::string& shown,
                                  size_t depth, usage& acc) {
  if (depth > max_walk_depth)
    return too_deep(shown);
  auto names = read_names(dir_fd, shown);
  if (!names)
    return names.error();
  for (auto& name : *names) {
    auto child = join(shown, name);
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT)
        continue; // vanished while we walked
      return errno_failure(errno, child);
    }
    if (S_ISDIR(st.st_mode)) {
      ++acc.dirs;
      auto sub = open_subdir(dir_fd, name, child);
      if (!sub)
        return sub.error();
      if (auto err = walk_usage(sub->get(), child, depth + 1, acc))
        return err;
    } else {
      ++acc.files;
      if (S_ISREG(st.st_mode) && st.st_size > 0)
        acc.bytes += static_cast<uint64_t>(st.st_size);
    }
  }
  return std::nullopt;
}

std::optional<failure> remove_tree(int dir_fd, const std::string& shown,
                                   size_t depth, uint64_t& removed) {
  if (depth > max_walk_depth)
    return too_deep(shown);
  auto names = read_names(dir_fd, shown);
  if (!names)
    return names.error();
  for (auto& name : *names) {
    auto child = join(shown, name);
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT)
        continue;
      return errno_failure(errno, child);
    }
    if (S_ISDIR(st.st_mode)) {
      // O_NOFOLLOW: a directory swapped for a symlink fails here instead
      // of leading the walk elsewhere.
      auto sub = open_subdir(dir_fd, name, child);
      if (!sub)
        return sub.error();
      if (auto err = remove_tree(sub->get(), child, depth + 1, removed))
        return err;
      if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0)
        return errno_failure(errno, child);
    } else if (::unlinkat(dir_fd, name.c_str(), 0) != 0) {
      return errno_failure(errno, child);
    }
    ++removed;
  }
  return std::nullopt;
}

/// The parent directory of a non-root path, opened beneath the root.
outcome<unique_fd> open_parent(int root_fd, std::string_view path) {
  auto slash = path.rfind('/');
  auto parent = slash == 0 ? std::string_view{"/"} : path.substr(0, slash);
  return open_beneath(root_fd, parent, O_RDONLY | O_DIRECTORY);
}

} // namespace

outcome<usage> disk_usage(int root_fd, std::string_view path) {
  auto components = protocol::split_node_path(path);
  if (!components)
    return components.error();
  std::string shown{path};
  usage result;
  if (components->empty()) {
    auto fd = open_beneath(root_fd, "/", O_RDONLY | O_DIRECTORY);
    if (!fd)
      return fd.error();
    result.type = entry_type::dir;
    if (auto err = walk_usage(fd->get(), shown, 1, result))
      return *err;
    return result;
  }
  auto dir = open_parent(root_fd, path);
  if (!dir)
    return dir.error();
  const auto& name = components->back();
  struct stat st;
  if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_failure(errno, shown);
  result.type = type_of(st);
  if (result.type != entry_type::dir) {
    result.files = 1;
    result.bytes = st.st_size > 0 ? static_cast<uint64_t>(st.st_size) : 0;
    return result;
  }
  auto sub = open_subdir(dir->get(), name, shown);
  if (!sub)
    return sub.error();
  if (auto err = walk_usage(sub->get(), shown, 1, result))
    return *err;
  return result;
}

outcome<uint64_t> remove_beneath(int root_fd, std::string_view path,
                                 bool recursive) {
  auto components = protocol::split_node_path(path);
  if (!components)
    return components.error();
  std::string shown{path};
  if (components->empty())
    return make_failure(wire_code::bad_request,
                        "refusing to delete the node's root");
  auto dir = open_parent(root_fd, path);
  if (!dir)
    return dir.error();
  const auto& name = components->back();
  struct stat st;
  if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_failure(errno, shown);
  uint64_t removed = 0;
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir->get(), name.c_str(), 0) != 0)
      return errno_failure(errno, shown);
    return uint64_t{1};
  }
  if (!recursive)
    return make_failure(wire_code::bad_request,
                        shown + " is a directory: deleting it needs -r");
  auto sub = open_subdir(dir->get(), name, shown);
  if (!sub)
    return sub.error();
  if (auto err = remove_tree(sub->get(), shown, 1, removed))
    return *err;
  if (::unlinkat(dir->get(), name.c_str(), AT_REMOVEDIR) != 0)
    return errno_failure(errno, shown);
  return removed + 1;
}

} // namespace dirscope::node

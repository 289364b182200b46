#include "node/extract.hpp"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string_view>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/confine.hpp"
#include "node/file_mode.hpp"
#include "node/file_ops.hpp"
#include "node/unique_fd.hpp"
#include "protocol/names.hpp"

namespace dirscope::node {

namespace {

using components = std::vector<std::string>;

std::string quoted(const std::string& name) {
  return "'" + protocol::escape_name(name) + "'";
}

failure refuse(const std::string& name, std::string_view why) {
  return make_failure(wire_code::bad_request,
                      "refusing archive entry " + quoted(name) + " ("
                        + std::string{why} + ")");
}

/// Splits an archive name into its components ("" and "." dropped), so
/// that the top directory is the empty list. False for an absolute name or
/// one with a '..' component.
bool split_name(const std::string& name, components& out) {
  out.clear();
  if (name.empty() || name.front() == '/')
    return false;
  size_t pos = 0;
  while (pos <= name.size()) {
    auto end = name.find('/', pos);
    if (end == std::string::npos)
      end = name.size();
    auto part = name.substr(pos, end - pos);
    if (part == "..")
      return false;
    if (!part.empty() && part != ".")
      out.push_back(std::move(part));
    pos = end + 1;
  }
  return true;
}

bool write_all(int fd, const void* data, size_t n) {
  auto p = static_cast<const char*>(data);
  while (n > 0) {
    auto k = ::write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

class extractor {
public:
  extractor(int top, mode_t umask, const std::string& shown)
    : top_(top), umask_(umask), shown_(shown) {
    // nop
  }

  outcome<uint64_t> run(archive* in) {
    uint64_t entries = 0;
    for (;;) {
      archive_entry* e = nullptr;
      auto rc = archive_read_next_header(in, &e);
      if (rc == ARCHIVE_EOF)
        break;
      if (rc < ARCHIVE_WARN)
        return archive_failure(in, "unpack " + shown_);
      if (auto r = one(in, e); !r)
        return r.error();
      ++entries;
    }
    if (auto r = fix_directories(); !r)
      return r.error();
    return entries;
  }

private:
  /// A directory whose mode (and mtime) is set once everything is in.
  struct pending_dir {
    components path;
    mode_t mode;
    std::optional<timespec> mtime;
  };

  outcome<bool> one(archive* in, archive_entry* e) {
    auto raw = archive_entry_pathname(e);
    std::string name = raw != nullptr ? raw : "";
    components path;
    if (!split_name(name, path))
      return refuse(name, "absolute or with '..'");
    if (archive_entry_hardlink(e) != nullptr)
      return refuse(name, "hard link");
    auto type = archive_entry_filetype(e);
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
      return refuse(name, "only files, directories and symlinks");
    if (archive_entry_sparse_count(e) > 0)
      return refuse(name, "sparse file");
    auto mode = extracted_mode(archive_entry_perm(e), umask_);
    timespec mtime{archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    if (path.empty()) {
      if (type != AE_IFDIR)
        return refuse(name, "the top is not a directory");
      dirs_.push_back(pending_dir{{}, mode, mtime});
      return true;
    }
    if (path.size() > max_walk_depth)
      return refuse(name, "too deep");
    auto parent = open_parent(path, name);
    if (!parent)
      return parent.error();
    auto leaf = path.back().c_str();
    if (type == AE_IFDIR) {
      if (::mkdirat(*parent, leaf, 0700) != 0) {
        if (errno != EEXIST)
          return errno_failure(errno, "create " + quoted(name));
        // Made before as the parent of an entry: then it is a directory.
        struct stat st {};
        if (::fstatat(*parent, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0
            || !S_ISDIR(st.st_mode))
          return refuse(name, "named twice");
      }
      dirs_.push_back(pending_dir{std::move(path), mode, mtime});
      return true;
    }
    timespec times[2] = {{0, UTIME_OMIT}, mtime};
    if (type == AE_IFLNK) {
      auto target = archive_entry_symlink(e);
      if (target == nullptr || *target == '\0')
        return refuse(name, "symlink without a target");
      if (::symlinkat(target, *parent, leaf) != 0) {
        if (errno == EEXIST)
          return refuse(name, "named twice");
        return errno_failure(errno, "create " + quoted(name));
      }
      // A link's own mtime matters to nobody: best effort.
      ::utimensat(*parent, leaf, times, AT_SYMLINK_NOFOLLOW);
      return true;
    }
    unique_fd fd{::openat(*parent, leaf,
                          O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_NOCTTY
                            | O_CLOEXEC,
                          0600)};
    if (!fd) {
      if (errno == EEXIST)
        return refuse(name, "named twice");
      return errno_failure(errno, "create " + quoted(name));
    }
    int64_t written = 0;
    for (;;) {
      const void* buf = nullptr;
      size_t n = 0;
      la_int64_t off = 0;
      auto rc = archive_read_data_block(in, &buf, &n, &off);
      if (rc == ARCHIVE_EOF)
        break;
      if (rc < ARCHIVE_WARN)
        return archive_failure(in, "unpack " + shown_);
      if (off != written)
        return refuse(name, "sparse file");
      if (!write_all(fd.get(), buf, n))
        return errno_failure(errno, "write " + quoted(name));
      written += static_cast<int64_t>(n);
    }
    if (::fchmod(fd.get(), mode) != 0 || ::futimens(fd.get(), times) != 0)
      return errno_failure(errno, "write " + quoted(name));
    return true;
  }

  /// Opens the directory holding `path`'s last component, creating missing
  /// ones; refuses to pass through a symlink or a file.
  outcome<int> open_parent(const components& path, const std::string& name) {
    if (path.size() == 1)
      return top_;
    components want(path.begin(), path.end() - 1);
    if (parent_ && want == parent_path_)
      return parent_.get();
    parent_ = unique_fd{};
    unique_fd cur;
    components sofar;
    for (auto& c : want) {
      int at = cur ? cur.get() : top_;
      sofar.push_back(c);
      auto flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      unique_fd next{::openat(at, c.c_str(), flags)};
      if (!next && errno == ENOENT) {
        if (::mkdirat(at, c.c_str(), 0700) != 0 && errno != EEXIST)
          return errno_failure(errno, "create " + quoted(name));
        dirs_.push_back(
          pending_dir{sofar, extracted_mode(0777, umask_), std::nullopt});
        next = unique_fd{::openat(at, c.c_str(), flags)};
      }
      if (!next) {
        if (errno == ELOOP || errno == ENOTDIR)
          return refuse(name, "beneath a symlink or a file");
        return errno_failure(errno, "open the directory of " + quoted(name));
      }
      cur = std::move(next);
    }
    parent_ = std::move(cur);
    parent_path_ = std::move(want);
    return parent_.get();
  }

  /// Sets the directories' modes and mtimes, deepest first: a directory
  /// made read-only or given its mtime is never written to again.
  outcome<bool> fix_directories() {
    parent_ = unique_fd{};
    std::stable_sort(dirs_.begin(), dirs_.end(),
                     [](const pending_dir& x, const pending_dir& y) {
                       return x.path.size() > y.path.size();
                     });
    for (auto& d : dirs_) {
      unique_fd cur;
      for (auto& c : d.path) {
        int at = cur ? cur.get() : top_;
        cur = unique_fd{::openat(at, c.c_str(),
                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                   | O_CLOEXEC)};
        if (!cur)
          return errno_failure(errno, "open " + shown_);
      }
      int fd = cur ? cur.get() : top_;
      if (::fchmod(fd, d.mode) != 0)
        return errno_failure(errno, "set the mode in " + shown_);
      if (d.mtime) {
        timespec times[2] = {{0, UTIME_OMIT}, *d.mtime};
        if (::futimens(fd, times) != 0)
          return errno_failure(errno, "set an mtime in " + shown_);
      }
    }
    return true;
  }

  int top_;
  mode_t umask_;
  const std::string& shown_;
  std::vector<pending_dir> dirs_;
  components parent_path_; ///< where parent_ is (never the top)
  unique_fd parent_;       ///< the last parent directory opened
};

} // namespace

failure archive_failure(archive* a, std::string_view what) {
  const char* msg = archive_error_string(a);
  return make_failure(wire_code::io_error,
                      std::string{what} + ": "
                        + protocol::escape_name(msg ? msg : "archive error"));
}

outcome<uint64_t> extract_entries(archive* in, int top, mode_t umask,
                                  const std::string& shown) {
  return extractor{top, umask, shown}.run(in);
}

} // namespace dirscope::node

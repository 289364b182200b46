#include "node/find_walk.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/confine.hpp"
#include "node/file_ops.hpp"
#include "node/listing.hpp"
#include "node/unique_fd.hpp"
#include "protocol/codec.hpp"
#include "protocol/paths.hpp"

namespace dirscope::node {

namespace {

using protocol::entry_type;

constexpr int dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

protocol::entry_error to_entry_error(failure err) {
  return protocol::entry_error{err.code, std::move(err.message)};
}

/// An open directory of the walk: its names, sorted, and where we are.
struct frame {
  DIR* dir = nullptr;
  std::vector<std::string> names;
  size_t pos = 0;
  std::string rel;    ///< relative path of the directory ("." for the top)
  uint32_t depth = 0; ///< depth of the entries it holds

  frame() = default;
  frame(frame&& other) noexcept
    : dir(std::exchange(other.dir, nullptr)),
      names(std::move(other.names)),
      pos(other.pos),
      rel(std::move(other.rel)),
      depth(other.depth) {
    // nop
  }
  frame& operator=(frame&&) = delete;
  ~frame() {
    if (dir != nullptr)
      ::closedir(dir);
  }
  int fd() const noexcept {
    return ::dirfd(dir);
  }
};

/// Reads every name of the open directory `fd` (taking ownership of it),
/// sorted bytewise; the DIR stays open for openat/fstatat of its entries.
outcome<frame> read_dir(int fd) {
  frame f;
  f.dir = ::fdopendir(fd);
  if (f.dir == nullptr) {
    auto err = errno;
    ::close(fd);
    return errno_failure(err, "cannot read directory");
  }
  for (;;) {
    errno = 0;
    auto* ent = ::readdir(f.dir);
    if (ent == nullptr) {
      if (errno != 0)
        return errno_failure(errno, "cannot read directory");
      break;
    }
    std::string name{ent->d_name};
    if (name == "." || name == ".." || !protocol::is_valid_entry_name(name))
      continue;
    f.names.push_back(std::move(name));
  }
  std::sort(f.names.begin(), f.names.end());
  return f;
}

uint8_t type_bit(entry_type t) {
  return static_cast<uint8_t>(1u << static_cast<uint8_t>(t));
}

} // namespace

std::optional<failure> check_find_request(const protocol::find_request& req) {
  if ((req.flags & ~protocol::find_flags::with_hashes) != 0)
    return make_failure(wire_code::bad_request, "unknown find flags");
  if ((req.types & ~protocol::find_types::all) != 0)
    return make_failure(wire_code::bad_request, "unknown find type bits");
  if ((req.name_glob && req.name_glob->size() > max_find_glob)
      || (req.path_glob && req.path_glob->size() > max_find_glob))
    return make_failure(wire_code::bad_request,
                        "glob longer than " + std::to_string(max_find_glob)
                          + " bytes");
  for (auto* glob : {&req.name_glob, &req.path_glob})
    if (*glob && (*glob)->find('\0') != std::string::npos)
      return make_failure(wire_code::bad_request, "glob holds a NUL byte");
  return std::nullopt;
}

struct find_walk::impl {
  protocol::find_request spec;
  uint32_t max_depth = 0;
  bool want_hash = false;
  std::vector<frame> stack;
  /// The start entry, described by open() and emitted by the first next().
  std::optional<protocol::find_match> start;
  std::optional<file_key> start_key;
  unique_fd start_parent;
  std::string start_name; ///< name of the start entry in start_parent
  std::string start_glob_name;
  std::atomic<uint64_t> visited{0};
  std::atomic<bool> cancelled{false};
  std::atomic<uint64_t> hashed{0};

  /// Describes `name` in `dir_fd`; for a directory that the walk enters,
  /// `child` gets it open with its names.
  protocol::entry describe(int dir_fd, const std::string& name,
                           uint32_t depth, std::optional<frame>& child,
                           std::optional<file_key>& key) {
    protocol::entry item;
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      item.type = entry_type::other;
      item.error = to_entry_error(errno_failure(errno, "cannot stat"));
      return item;
    }
    item.mtime_ns = timespec_ns(st.st_mtim);
    item.size = st.st_size > 0 ? static_cast<uint64_t>(st.st_size) : 0;
    if (S_ISREG(st.st_mode)) {
      item.type = entry_type::file;
      key = key_of(st);
    } else if (S_ISDIR(st.st_mode)) {
      item.type = entry_type::dir;
      int fd;
      do {
        fd = ::openat(dir_fd, name.c_str(), dir_flags);
      } while (fd < 0 && errno == EINTR);
      if (fd < 0) {
        item.error = to_entry_error(errno_failure(errno, "cannot open"));
        return item;
      }
      auto f = read_dir(fd);
      if (!f) {
        item.error = to_entry_error(f.error());
        return item;
      }
      item.items = f->names.size();
      if (depth < max_depth) {
        if (depth >= max_walk_depth) {
          item.error = to_entry_error(make_failure(
            wire_code::io_error, "nested deeper than "
                                   + std::to_string(max_walk_depth)
                                   + " levels"));
        } else {
          child.emplace(std::move(*f));
          child->depth = depth + 1;
        }
      }
    } else if (S_ISLNK(st.st_mode)) {
      item.type = entry_type::symlink;
      auto size = st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
      if (auto target = read_link(dir_fd, name, size))
        item.target = std::move(*target);
      else
        item.error = to_entry_error(target.error());
    } else {
      item.type = entry_type::other;
    }
    return item;
  }

  /// True if `item` passes every filter but the content hash.
  bool passes(const protocol::entry& item, const std::string& name,
              const std::string& rel) const {
    auto& s = spec;
    if (s.types != 0 && (s.types & type_bit(item.type)) == 0)
      return false;
    if ((s.min_size && item.size < *s.min_size)
        || (s.max_size && item.size > *s.max_size))
      return false;
    if ((s.min_mtime_ns && item.mtime_ns < *s.min_mtime_ns)
        || (s.max_mtime_ns && item.mtime_ns > *s.max_mtime_ns))
      return false;
    if (s.sha256 && item.type != entry_type::file)
      return false;
    if (s.name_glob && ::fnmatch(s.name_glob->c_str(), name.c_str(), 0) != 0)
      return false;
    if (s.path_glob && ::fnmatch(s.path_glob->c_str(), rel.c_str(), 0) != 0)
      return false;
    return true;
  }

  /// Hashes a matching file if asked; false if the sha256 filter fails.
  bool hash_if_wanted(int dir_fd, const std::string& name,
                      protocol::entry& item,
                      const std::optional<file_key>& key,
                      hash_cache* cache) {
    if (!want_hash || item.type != entry_type::file || !key)
      return true;
    std::optional<protocol::sha256_digest> digest;
    if (cache != nullptr)
      digest = cache->find(*key);
    if (!digest) {
      auto d = hash_at(dir_fd, name, *key, cache, &cancelled, &hashed);
      if (d)
        digest = *d;
      else
        item.error = to_entry_error(d.error());
    }
    if (digest)
      item.sha256 = *digest;
    if (spec.sha256)
      return digest && *digest == *spec.sha256;
    return true;
  }
};

find_walk::find_walk(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

find_walk::~find_walk() = default;

outcome<std::shared_ptr<find_walk>>
find_walk::open(int root_fd, const protocol::find_request& req) {
  if (auto err = check_find_request(req))
    return *err;
  auto components = protocol::split_node_path(req.path);
  if (!components)
    return components.error();
  auto st = std::make_unique<impl>();
  st->spec = req;
  st->max_depth = req.max_depth.value_or(UINT32_MAX);
  st->want_hash = (req.flags & protocol::find_flags::with_hashes) != 0
                  || req.sha256.has_value();
  protocol::find_match start;
  start.last = true;
  std::optional<frame> child;
  if (components->empty()) {
    // The root itself: open it beneath itself, as every other path.
    auto fd = open_beneath(root_fd, "/", O_RDONLY | O_DIRECTORY);
    if (!fd)
      return fd.error();
    struct stat sb;
    if (::fstat(fd->get(), &sb) != 0)
      return errno_failure(errno, "/");
    auto& item = start.item;
    item.type = entry_type::dir;
    item.mtime_ns = timespec_ns(sb.st_mtim);
    item.size = sb.st_size > 0 ? static_cast<uint64_t>(sb.st_size) : 0;
    auto f = read_dir(fd->release());
    if (!f) {
      item.error = to_entry_error(f.error());
    } else {
      item.items = f->names.size();
      if (st->max_depth > 0) {
        child.emplace(std::move(*f));
        child->depth = 1;
      }
    }
    st->start_glob_name = "/";
  } else {
    // O_PATH: describing the start needs only search permission on its
    // parent, as stat does.
    auto slash = req.path.rfind('/');
    auto parent = slash == 0 ? std::string{"/"} : req.path.substr(0, slash);
    auto dir = open_beneath(root_fd, parent, O_PATH | O_DIRECTORY);
    if (!dir)
      return dir.error();
    auto& name = components->back();
    struct stat sb;
    if (::fstatat(dir->get(), name.c_str(), &sb, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_failure(errno, req.path);
    start.item = st->describe(dir->get(), name, 0, child, st->start_key);
    st->start_parent = std::move(*dir);
    st->start_name = name;
    st->start_glob_name = name;
  }
  start.item.name = ".";
  if (child) {
    child->rel = ".";
    st->stack.push_back(std::move(*child));
  }
  st->start = std::move(start);
  return std::shared_ptr<find_walk>{new find_walk(std::move(st))};
}

find_batch find_walk::next(size_t max_matches, size_t byte_budget,
                           size_t max_visits, hash_cache* cache) {
  auto& st = *impl_;
  find_batch batch;
  if (st.cancelled) {
    batch.done = true;
    return batch;
  }
  size_t bytes = 0;
  size_t visits = 0;
  if (st.start) {
    auto m = std::move(*st.start);
    st.start.reset();
    st.visited.fetch_add(1, std::memory_order_relaxed);
    ++visits;
    int parent = st.start_parent.get();
    if (st.passes(m.item, st.start_glob_name, ".")
        && (parent < 0
            || st.hash_if_wanted(parent, st.start_name, m.item, st.start_key,
                                 cache))) {
      bytes += protocol::encoded_size(m);
      batch.matches.push_back(std::move(m));
    }
  }
  while (!st.stack.empty() && batch.matches.size() < max_matches
         && bytes < byte_budget && visits < max_visits && !st.cancelled) {
    auto& top = st.stack.back();
    if (top.pos == top.names.size()) {
      st.stack.pop_back();
      continue;
    }
    auto name = std::move(top.names[top.pos++]);
    bool last = top.pos == top.names.size();
    auto rel = top.rel == "." ? name : top.rel + "/" + name;
    auto depth = top.depth;
    int dir_fd = top.fd();
    st.visited.fetch_add(1, std::memory_order_relaxed);
    ++visits;
    std::optional<frame> child;
    std::optional<file_key> key;
    auto item = st.describe(dir_fd, name, depth, child, key);
    if (st.passes(item, name, rel)
        && st.hash_if_wanted(dir_fd, name, item, key, cache)) {
      protocol::find_match m{last, std::move(item)};
      m.item.name = rel;
      bytes += protocol::encoded_size(m);
      batch.matches.push_back(std::move(m));
    }
    // `top` may dangle after this push.
    if (child) {
      child->rel = std::move(rel);
      st.stack.push_back(std::move(*child));
    }
  }
  // A cancelled walk returns nothing more: its caller is gone.
  batch.done = st.stack.empty() || st.cancelled;
  if (st.cancelled)
    batch.matches.clear();
  return batch;
}

uint64_t find_walk::visited() const noexcept {
  return impl_->visited.load(std::memory_order_relaxed);
}

void find_walk::cancel() noexcept {
  impl_->cancelled = true;
}

} // namespace dirscope::node

#include "node/listing.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/confine.hpp"
#include "node/sha256.hpp"
#include "protocol/codec.hpp"
#include "protocol/paths.hpp"

namespace dirscope::node {

namespace {

// Linux caps symlink targets at PATH_MAX; anything longer is not a target.
constexpr size_t max_link_target = 64u << 10;

int64_t mtime_ns_of(const struct stat& st) noexcept {
  return timespec_ns(st.st_mtim);
}

protocol::entry_error to_entry_error(failure err) {
  return protocol::entry_error{err.code, std::move(err.message)};
}

failure file_changed() {
  return make_failure(wire_code::io_error, "file changed while hashing");
}

int retry_openat(int dir_fd, const char* name, int flags) {
  int fd;
  do {
    fd = ::openat(dir_fd, name, flags);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

bool is_dot_or_dotdot(const char* name) noexcept {
  return name[0] == '.'
         && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/// Counts the entries of the directory `fd` (taking ownership of it).
outcome<uint64_t> count_entries(unique_fd fd) {
  auto* dir = ::fdopendir(fd.get());
  if (dir == nullptr)
    return errno_failure(errno, "cannot read directory");
  fd.release();
  uint64_t count = 0;
  for (;;) {
    errno = 0;
    auto* ent = ::readdir(dir);
    if (ent == nullptr)
      break;
    if (!is_dot_or_dotdot(ent->d_name))
      ++count;
  }
  auto err = errno;
  ::closedir(dir);
  if (err != 0)
    return errno_failure(err, "cannot read directory");
  return count;
}

/// One entry as describe_entry sees it.
struct described {
  protocol::entry item;
  /// Set for a regular file whose hash is wanted but not cached.
  std::optional<file_key> pending;
  /// Set when the entry could not even be stat'ed (item.error mirrors it).
  std::optional<failure> stat_error;
};

// Shared by listings and stat requests so both describe an entry alike.
// Never follows `name` if it is a symlink and never opens anything but a
// directory here; files are opened only by hash_at.
described describe_entry(int dir_fd, const std::string& name,
                         bool with_hashes, hash_cache* cache) {
  described result;
  auto& item = result.item;
  item.name = name;
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    auto err = errno_failure(errno, "cannot stat");
    item.type = protocol::entry_type::other;
    item.error = to_entry_error(err);
    result.stat_error = std::move(err);
    return result;
  }
  item.mtime_ns = mtime_ns_of(st);
  item.size = st.st_size > 0 ? static_cast<uint64_t>(st.st_size) : 0;
  if (S_ISREG(st.st_mode)) {
    item.type = protocol::entry_type::file;
    if (with_hashes) {
      auto key = key_of(st);
      std::optional<protocol::sha256_digest> digest;
      if (cache != nullptr)
        digest = cache->find(key);
      if (digest)
        item.sha256 = *digest;
      else
        result.pending = key;
    }
  } else if (S_ISDIR(st.st_mode)) {
    item.type = protocol::entry_type::dir;
    constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    auto fd = retry_openat(dir_fd, name.c_str(), flags);
    if (fd < 0) {
      item.error = to_entry_error(errno_failure(errno, "cannot open"));
    } else if (auto count = count_entries(unique_fd{fd})) {
      item.items = *count;
    } else {
      item.error = to_entry_error(count.error());
    }
  } else if (S_ISLNK(st.st_mode)) {
    item.type = protocol::entry_type::symlink;
    auto size = st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
    if (auto target = read_link(dir_fd, name, size))
      item.target = std::move(*target);
    else
      item.error = to_entry_error(target.error());
  } else {
    item.type = protocol::entry_type::other;
  }
  return result;
}

} // namespace

outcome<std::string> read_link(int dir_fd, const std::string& name,
                               size_t hint) {
  std::string buf(std::max<size_t>(hint, 255) + 1, '\0');
  for (;;) {
    auto n = ::readlinkat(dir_fd, name.c_str(), buf.data(), buf.size());
    if (n < 0)
      return errno_failure(errno, "cannot read symlink");
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (buf.size() >= max_link_target)
      return make_failure(wire_code::io_error, "symlink target too long");
    buf.resize(buf.size() * 2);
  }
}

int64_t timespec_ns(const struct timespec& ts) noexcept {
  constexpr int64_t ns_per_s = 1'000'000'000;
  int64_t result;
  if (__builtin_mul_overflow(static_cast<int64_t>(ts.tv_sec), ns_per_s, &result)
      || __builtin_add_overflow(result, static_cast<int64_t>(ts.tv_nsec),
                                &result))
    return ts.tv_sec < 0 ? std::numeric_limits<int64_t>::min()
                         : std::numeric_limits<int64_t>::max();
  return result;
}

file_key key_of(const struct stat& st) noexcept {
  return file_key{static_cast<uint64_t>(st.st_dev),
                  static_cast<uint64_t>(st.st_ino),
                  static_cast<uint64_t>(st.st_size), timespec_ns(st.st_mtim),
                  timespec_ns(st.st_ctim)};
}

// -- dir_cursor ---------------------------------------------------------------

struct dir_cursor::impl {
  /// Handed out by fd(); never read from, so sharing the offset with `dir`
  /// does not matter.
  unique_fd fd;
  /// Reads the names; closed as soon as the directory ends.
  DIR* dir = nullptr;
  /// Names read but not yet returned: all of them when sorted, else a
  /// bounded prefix or a single look-ahead name.
  std::vector<std::string> names;
  size_t pos = 0;
  bool is_sorted = false;
  std::optional<failure> read_error;
  std::atomic<bool> cancelled{false};
  std::atomic<uint64_t> hashed{0};

  ~impl() {
    close_dir();
  }

  void close_dir() {
    if (dir != nullptr) {
      ::closedir(dir);
      dir = nullptr;
    }
  }

  bool at_end() const noexcept {
    return dir == nullptr;
  }

  /// Reads the next valid name from the directory stream.
  bool read_name(std::string& out) {
    while (dir != nullptr) {
      errno = 0;
      auto* ent = ::readdir(dir);
      if (ent == nullptr) {
        if (errno != 0)
          read_error = errno_failure(errno, "cannot read directory");
        close_dir();
        return false;
      }
      if (is_dot_or_dotdot(ent->d_name))
        continue;
      std::string name{ent->d_name};
      if (!protocol::is_valid_entry_name(name))
        continue;
      out = std::move(name);
      return true;
    }
    return false;
  }

  bool next_name(std::string& out) {
    if (pos < names.size()) {
      out = std::move(names[pos++]);
      if (pos == names.size()) {
        names = std::vector<std::string>{};
        pos = 0;
      }
      return true;
    }
    return read_name(out);
  }

  /// Keeps one name buffered so that done() is exact after each batch.
  void look_ahead() {
    if (pos < names.size() || at_end())
      return;
    std::string name;
    if (read_name(name))
      names.push_back(std::move(name));
  }
};

dir_cursor::dir_cursor(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

dir_cursor::~dir_cursor() = default;

outcome<std::shared_ptr<dir_cursor>>
dir_cursor::open(int root_fd, std::string_view path, size_t sort_limit) {
  auto fd = open_beneath(root_fd, path, O_RDONLY | O_DIRECTORY);
  if (!fd)
    return fd.error();
  auto state = std::make_unique<impl>();
  state->fd = std::move(*fd);
  auto dup_fd = ::fcntl(state->fd.get(), F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0)
    return errno_failure(errno, path);
  state->dir = ::fdopendir(dup_fd);
  if (state->dir == nullptr) {
    auto err = errno;
    ::close(dup_fd);
    return errno_failure(err, path);
  }
  // One name beyond sort_limit tells us the directory is too large to sort.
  std::string name;
  while (state->names.size() <= sort_limit && state->read_name(name))
    state->names.push_back(std::move(name));
  if (state->read_error) {
    auto err = std::move(*state->read_error);
    err.message = std::string{path} + ": " + err.message;
    return err;
  }
  if (state->at_end()) {
    std::sort(state->names.begin(), state->names.end());
    state->is_sorted = true;
  }
  return std::shared_ptr<dir_cursor>{new dir_cursor(std::move(state))};
}

listing_batch dir_cursor::next(size_t max_entries, size_t byte_budget,
                               bool with_hashes, hash_cache* cache) {
  listing_batch batch;
  auto& st = *impl_;
  // At least one entry per call, so a caller always makes progress.
  max_entries = std::max<size_t>(max_entries, 1);
  size_t bytes = 0;
  std::string name;
  while (batch.entries.size() < max_entries
         && (batch.entries.empty() || bytes < byte_budget)
         && st.next_name(name)) {
    auto d = describe_entry(st.fd.get(), name, with_hashes, cache);
    bytes += protocol::encoded_size(d.item);
    if (d.pending)
      batch.pending.push_back(pending_hash{batch.entries.size(), *d.pending});
    batch.entries.push_back(std::move(d.item));
  }
  st.look_ahead();
  return batch;
}

bool dir_cursor::done() const noexcept {
  return impl_->pos >= impl_->names.size() && impl_->at_end();
}

bool dir_cursor::sorted() const noexcept {
  return impl_->is_sorted;
}

int dir_cursor::fd() const noexcept {
  return impl_->fd.get();
}

void dir_cursor::cancel() noexcept {
  impl_->cancelled = true;
}

const std::atomic<bool>* dir_cursor::stop_flag() const noexcept {
  return &impl_->cancelled;
}

std::atomic<uint64_t>* dir_cursor::hashed() const noexcept {
  return &impl_->hashed;
}

// -- single entries -----------------------------------------------------------

outcome<protocol::sha256_digest>
hash_at(int dir_fd, const std::string& name, const file_key& key,
        hash_cache* cache, const std::atomic<bool>* stop,
        std::atomic<uint64_t>* progress) {
  if (!protocol::is_valid_entry_name(name))
    return make_failure(wire_code::bad_request, "invalid entry name");
  // Checking before the open narrows the window in which something other
  // than the listed file (a device swapped in) could get opened at all.
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_failure(errno, "cannot stat file");
  if (!S_ISREG(st.st_mode) || !(key_of(st) == key))
    return file_changed();
  // O_NONBLOCK: should a FIFO still get swapped in, open() must not block.
  constexpr int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  auto raw_fd = retry_openat(dir_fd, name.c_str(), flags);
  if (raw_fd < 0) {
    if (errno == ELOOP)
      return make_failure(wire_code::io_error, "is a symlink");
    return errno_failure(errno, "cannot open file");
  }
  unique_fd fd{raw_fd};
  if (::fstat(fd.get(), &st) != 0)
    return errno_failure(errno, "cannot stat file");
  if (!S_ISREG(st.st_mode) || !(key_of(st) == key))
    return file_changed();
  auto digest = sha256_fd(fd.get(), stop, progress);
  if (!digest)
    return digest;
  // A write during hashing shows up as a new size or mtime.
  if (::fstat(fd.get(), &st) != 0)
    return errno_failure(errno, "cannot stat file");
  if (!(key_of(st) == key))
    return file_changed();
  if (cache != nullptr)
    cache->insert(key, *digest);
  return digest;
}

void hash_pending(int dir_fd, listing_batch& batch, hash_cache* cache,
                  const std::atomic<bool>* stop,
                  std::atomic<uint64_t>* progress) {
  for (auto& job : batch.pending) {
    auto& x = batch.entries[job.index];
    if (auto digest = hash_at(dir_fd, x.name, job.key, cache, stop, progress))
      x.sha256 = *digest;
    else
      x.error = to_entry_error(digest.error());
  }
  batch.pending.clear();
}

outcome<protocol::entry>
stat_entry(int root_fd, std::string_view path, bool with_hash,
           hash_cache* cache, const std::atomic<bool>* stop,
           uint64_t max_hash_size, std::atomic<uint64_t>* progress) {
  auto components = protocol::split_node_path(path);
  if (!components)
    return components.error();
  if (components->empty()) {
    auto fd = open_beneath(root_fd, "/", O_RDONLY | O_DIRECTORY);
    if (!fd)
      return fd.error();
    struct stat st;
    if (::fstat(fd->get(), &st) != 0)
      return errno_failure(errno, "/");
    protocol::entry item;
    item.name = "/";
    item.type = protocol::entry_type::dir;
    item.mtime_ns = mtime_ns_of(st);
    item.size = st.st_size > 0 ? static_cast<uint64_t>(st.st_size) : 0;
    if (auto count = count_entries(std::move(*fd)))
      item.items = *count;
    else
      item.error = to_entry_error(count.error());
    return item;
  }
  // O_PATH: like stat(1), describing an entry needs only search permission
  // on its parent, not the right to list it.
  auto slash = path.rfind('/');
  auto parent = slash == 0 ? std::string_view{"/"} : path.substr(0, slash);
  auto dir = open_beneath(root_fd, parent, O_PATH | O_DIRECTORY);
  if (!dir)
    return dir.error();
  const auto& name = components->back();
  auto d = describe_entry(dir->get(), name, with_hash, cache);
  if (d.stat_error) {
    auto err = std::move(*d.stat_error);
    err.message = std::string{path} + ": " + err.message;
    return err;
  }
  if (d.pending && d.item.size <= max_hash_size) {
    if (auto digest = hash_at(dir->get(), name, *d.pending, cache, stop,
                              progress))
      d.item.sha256 = *digest;
    else
      d.item.error = to_entry_error(digest.error());
  }
  return std::move(d.item);
}

} // namespace dirscope::node

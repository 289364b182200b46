#include "node/transfer.hpp"

#include <algorithm>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/archive.hpp"
#include "node/confine.hpp"
#include "node/file_mode.hpp"
#include "node/sha256.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"

namespace dirscope::node {

namespace {

std::atomic<bool> named_temp_only{false};
/// Only for bench/fsync_bench.py, which measures what the fsyncs cost.
const bool skip_fsync_env = std::getenv("DIRSCOPE_BENCH_NO_FSYNC") != nullptr;
std::atomic<bool> skip_fsync{skip_fsync_env};

failure io_failure(int err, std::string_view what) {
  auto result = errno_failure(err, what);
  if (result.code == wire_code::internal)
    result.code = wire_code::io_error;
  return result;
}

bool same_file(const struct stat& x, const struct stat& y) {
  return x.st_dev == y.st_dev && x.st_ino == y.st_ino
         && x.st_size == y.st_size && x.st_mtim.tv_sec == y.st_mtim.tv_sec
         && x.st_mtim.tv_nsec == y.st_mtim.tv_nsec
         && x.st_ctim.tv_sec == y.st_ctim.tv_sec
         && x.st_ctim.tv_nsec == y.st_ctim.tv_nsec;
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(rng()));
  return buf;
}

} // namespace

// -- reader -------------------------------------------------------------------

struct file_reader::impl {
  unique_fd fd;
  struct stat before {};
  std::string shown;
  uint64_t pos = 0;
  uint64_t skip = 0;
  sha256_hasher hash;
  bool done = false;
  std::unique_ptr<tree_packer> tree; ///< set: a directory as tar.gz
  bool tree_end = false;             ///< the packer has nothing more
  size_t chunk_limit = protocol::max_data_chunk;
};

file_reader::file_reader(std::unique_ptr<impl> x) : impl_(std::move(x)) {
  // nop
}

file_reader::~file_reader() = default;

namespace {

outcome<std::shared_ptr<file_reader>>
finish_open(unique_fd fd, std::string shown, uint64_t offset,
            std::unique_ptr<file_reader::impl> x,
            std::shared_ptr<file_reader> (*make)(
              std::unique_ptr<file_reader::impl>)) {
  if (::fstat(fd.get(), &x->before) != 0)
    return io_failure(errno, shown);
  if (S_ISDIR(x->before.st_mode))
    return make_failure(wire_code::bad_request,
                        shown + " is a directory (only regular files are "
                                "transferred)");
  if (!S_ISREG(x->before.st_mode))
    return make_failure(wire_code::not_readable,
                        shown + " is not a regular file");
  if (offset > static_cast<uint64_t>(x->before.st_size))
    return make_failure(wire_code::bad_request,
                        "offset " + std::to_string(offset)
                          + " is beyond the end of " + shown);
  // The open used O_NONBLOCK only so that a FIFO could not block it.
  auto flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0)
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  x->fd = std::move(fd);
  x->shown = std::move(shown);
  x->skip = offset;
  return make(std::move(x));
}

} // namespace

outcome<std::shared_ptr<file_reader>>
file_reader::open_beneath(int root_fd, std::string_view path,
                          uint64_t offset) {
  auto shown = protocol::escape_name(path);
  // Look before opening: devices are never opened (O_PATH opens nothing).
  auto probe = node::open_beneath(root_fd, path, O_PATH);
  if (!probe)
    return probe.error();
  struct stat st {};
  if (::fstat(probe->get(), &st) != 0)
    return io_failure(errno, shown);
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    return make_failure(wire_code::not_readable,
                        shown + " is not a regular file");
  if (S_ISDIR(st.st_mode))
    return make_failure(wire_code::bad_request,
                        shown + " is a directory (only regular files are "
                                "transferred)");
  auto fd = node::open_beneath(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd)
    return fd.error();
  auto x = std::make_unique<impl>();
  auto result = finish_open(std::move(*fd), shown, offset, std::move(x),
                            [](std::unique_ptr<impl> y) {
                              return std::shared_ptr<file_reader>(
                                new file_reader(std::move(y)));
                            });
  if (result && ((*result)->impl_->before.st_ino != st.st_ino
                 || (*result)->impl_->before.st_dev != st.st_dev))
    return make_failure(wire_code::io_error,
                        shown + " was replaced while being opened");
  return result;
}

outcome<std::shared_ptr<file_reader>>
file_reader::open_local(const std::string& path, uint64_t offset) {
  auto shown = protocol::escape_name(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return io_failure(errno, shown);
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    return make_failure(wire_code::not_readable,
                        shown + " is not a regular file");
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY
                                      | O_CLOEXEC)};
  if (!fd)
    return io_failure(errno, shown);
  return finish_open(std::move(fd), shown, offset, std::make_unique<impl>(),
                     [](std::unique_ptr<impl> y) {
                       return std::shared_ptr<file_reader>(
                         new file_reader(std::move(y)));
                     });
}

namespace {

outcome<std::unique_ptr<file_reader::impl>> tree_reader(unique_fd dir,
                                                        std::string shown) {
  auto p = tree_packer::open(std::move(dir), shown);
  if (!p)
    return p.error();
  auto x = std::make_unique<file_reader::impl>();
  x->tree = std::move(*p);
  x->shown = std::move(shown);
  return x;
}

} // namespace

outcome<std::shared_ptr<file_reader>>
file_reader::open_tree_beneath(int root_fd, std::string_view path) {
  auto fd = node::open_beneath(root_fd, path, O_RDONLY | O_DIRECTORY);
  if (!fd)
    return fd.error();
  auto x = tree_reader(std::move(*fd), protocol::escape_name(path));
  if (!x)
    return x.error();
  return std::shared_ptr<file_reader>(new file_reader(std::move(*x)));
}

outcome<std::shared_ptr<file_reader>>
file_reader::open_tree_local(const std::string& path) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fd)
    return io_failure(errno, protocol::escape_name(path));
  auto x = tree_reader(std::move(fd), protocol::escape_name(path));
  if (!x)
    return x.error();
  return std::shared_ptr<file_reader>(new file_reader(std::move(*x)));
}

uint64_t file_reader::size() const noexcept {
  return static_cast<uint64_t>(impl_->before.st_size);
}

uint32_t file_reader::mode() const noexcept {
  return static_cast<uint32_t>(impl_->before.st_mode & 07777);
}

int64_t file_reader::mtime_ns() const noexcept {
  auto& t = impl_->before.st_mtim;
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

void file_reader::limit_chunks(size_t max_bytes) noexcept {
  impl_->chunk_limit = std::clamp<size_t>(max_bytes, 1,
                                          protocol::max_large_chunk);
}

outcome<file_chunk> file_reader::next(const std::atomic<bool>* stop) {
  auto& x = *impl_;
  if (x.done)
    return make_failure(wire_code::internal, "read past the end");
  file_chunk result;
  if (x.tree) {
    result.offset = x.pos;
    if (!x.tree_end) {
      auto end = x.tree->next(result.data, x.chunk_limit, stop);
      if (!end)
        return end.error();
      x.tree_end = *end;
      if (!result.data.empty()) {
        x.hash.update(result.data);
        x.pos += result.data.size();
        return result;
      }
    }
    x.done = true;
    x.tree.reset(); // closes every fd of the walk
    result.end = true;
    result.size = x.pos;
    result.sha256 = x.hash.finish();
    return result;
  }
  for (;;) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed))
      return make_failure(wire_code::cancelled, "transfer cancelled");
    result.offset = x.pos;
    result.data.resize(x.chunk_limit);
    // A large chunk is read and hashed 64 KiB at a time: each piece is
    // hashed while still in the cache (larger reads hash slower,
    // STACK-NOTES.md).
    size_t filled = 0;
    while (filled < result.data.size()) {
      auto want = std::min(hash_read_size, result.data.size() - filled);
      auto n = ::read(x.fd.get(), result.data.data() + filled, want);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return io_failure(errno, "read " + x.shown);
      }
      if (n == 0)
        break;
      x.hash.update({result.data.data() + filled, static_cast<size_t>(n)});
      filled += static_cast<size_t>(n);
    }
    result.data.resize(filled);
    if (filled == 0)
      break;
    x.pos += filled;
    if (x.pos <= x.skip)
      continue; // resuming: hashed, not sent
    if (result.offset < x.skip) {
      result.data.erase(0, static_cast<size_t>(x.skip - result.offset));
      result.offset = x.skip;
    }
    return result;
  }
  // End of file: the file must be the one we opened, unchanged.
  struct stat after {};
  if (::fstat(x.fd.get(), &after) != 0)
    return io_failure(errno, x.shown);
  if (!same_file(x.before, after)
      || x.pos != static_cast<uint64_t>(x.before.st_size))
    return make_failure(wire_code::io_error,
                        x.shown + " changed while being read");
  x.done = true;
  result.data.clear();
  result.offset = x.pos;
  result.end = true;
  result.size = x.pos;
  result.sha256 = x.hash.finish();
  return result;
}

outcome<protocol::sha256_digest>
file_reader::hash_prefix(uint64_t offset, const std::atomic<bool>* stop) {
  auto& x = *impl_;
  if (x.tree || x.done || x.pos > 0)
    return make_failure(wire_code::internal,
                        "hash_prefix after reading " + x.shown);
  if (offset > size())
    return make_failure(wire_code::bad_request,
                        "offset " + std::to_string(offset)
                          + " is beyond the end of " + x.shown);
  std::string buf(hash_read_size, '\0');
  while (x.pos < offset) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed))
      return make_failure(wire_code::cancelled, "transfer cancelled");
    auto want = static_cast<size_t>(
      std::min<uint64_t>(buf.size(), offset - x.pos));
    auto n = ::read(x.fd.get(), buf.data(), want);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_failure(errno, "read " + x.shown);
    if (n == 0)
      return make_failure(wire_code::io_error,
                          x.shown + " changed while being read");
    x.hash.update({buf.data(), static_cast<size_t>(n)});
    x.pos += static_cast<uint64_t>(n);
  }
  x.skip = std::max(x.skip, offset);
  auto prefix = x.hash; // the running hash goes on for the whole file
  return prefix.finish();
}

// -- writer -------------------------------------------------------------------

struct file_writer::impl {
  unique_fd dir;
  unique_fd fd;
  std::string name;
  std::string shown;
  std::string temp_name; ///< empty: O_TMPFILE
  bool replace = false;
  bool committed = false;
  uint64_t written = 0;
  sha256_hasher hash;
  std::unique_ptr<tree_unpacker> tree; ///< set: a directory from tar.gz
  std::optional<source_identity> source; ///< set: keep a partial file
  uint32_t mode = 0644;
  std::optional<int64_t> mtime_ns;
  bool discarded = false;
  bool adopted = false;  ///< temp_name is a partial file being resumed
  bool settling = false; ///< adopted; the first offset says what to keep
  uint64_t held = 0;     ///< bytes in the adopted partial file
};

namespace {

/// Moves an abandoned temporary file to its partial name (fsynced, so a
/// resume after a crash finds what it claims to hold).
void keep_partial(file_writer::impl& x) {
  auto target = partial_name(x.name, *x.source);
  ::fsync(x.fd.get());
  if (x.temp_name == target)
    return;
  if (!x.temp_name.empty()) {
    if (::renameat(x.dir.get(), x.temp_name.c_str(), x.dir.get(),
                   target.c_str())
        != 0)
      ::unlinkat(x.dir.get(), x.temp_name.c_str(), 0);
    return;
  }
  auto proc = "/proc/self/fd/" + std::to_string(x.fd.get());
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::linkat(AT_FDCWD, proc.c_str(), x.dir.get(), target.c_str(),
                 AT_SYMLINK_FOLLOW)
          == 0
        || errno != EEXIST)
      return;
    ::unlinkat(x.dir.get(), target.c_str(), 0); // an older partial
  }
}

/// Keeps the first `offset` bytes of an adopted partial file and feeds
/// them to the hash, so that commit checks the whole file.
outcome<uint64_t> settle(file_writer::impl& x, uint64_t offset) {
  x.settling = false;
  if (offset > x.held)
    return make_failure(wire_code::bad_request,
                        "resume at offset " + std::to_string(offset)
                          + " but only " + std::to_string(x.held)
                          + " bytes of " + x.shown + " are held");
  if (::ftruncate(x.fd.get(), static_cast<off_t>(offset)) != 0)
    return io_failure(errno, "truncate the partial file of " + x.shown);
  std::string buf(hash_read_size, '\0');
  uint64_t pos = 0;
  while (pos < offset) {
    auto want = static_cast<size_t>(
      std::min<uint64_t>(buf.size(), offset - pos));
    auto n = ::pread(x.fd.get(), buf.data(), want, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return io_failure(n < 0 ? errno : EIO,
                        "read the partial file of " + x.shown);
    x.hash.update({buf.data(), static_cast<size_t>(n)});
    pos += static_cast<uint64_t>(n);
  }
  if (::lseek(x.fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0)
    return io_failure(errno, "seek in the partial file of " + x.shown);
  x.written = offset;
  return offset;
}

} // namespace

file_writer::file_writer(std::unique_ptr<impl> x) : impl_(std::move(x)) {
  // nop
}

file_writer::~file_writer() {
  auto& x = *impl_;
  if (x.committed || x.tree)
    return;
  if (x.source && !x.discarded && (x.written > 0 || x.adopted)) {
    keep_partial(x);
    return;
  }
  if (!x.temp_name.empty())
    ::unlinkat(x.dir.get(), x.temp_name.c_str(), 0);
}

void file_writer::set_source(uint64_t size, uint32_t mode, int64_t mtime_ns) {
  auto& x = *impl_;
  x.source = source_identity{size, mtime_ns};
  x.mode = mode;
  x.mtime_ns = mtime_ns;
}

outcome<uint64_t> file_writer::resume() {
  auto& x = *impl_;
  if (x.tree || x.written > 0 || x.adopted)
    return make_failure(wire_code::internal, "nothing to resume");
  bool derived = !x.source;
  if (derived) {
    auto found = find_partial(x.dir.get(), x.name);
    if (!found)
      return uint64_t{0};
    x.source = partial_source(*found, x.name);
    x.mode = 0600; // until the real source says
  }
  auto nothing = [&x, derived] {
    if (derived)
      x.source.reset();
    return uint64_t{0};
  };
  auto name = partial_name(x.name, *x.source);
  remove_stale_partials(x.dir.get(), x.name, name);
  unique_fd fd{::openat(x.dir.get(), name.c_str(),
                        O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (!fd) {
    if (errno == ENOENT || errno == ELOOP)
      return nothing();
    return io_failure(errno, "open the partial file of " + x.shown);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return io_failure(errno, "the partial file of " + x.shown);
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
    return nothing(); // not ours: leave it alone, start over
  if (!x.temp_name.empty())
    ::unlinkat(x.dir.get(), x.temp_name.c_str(), 0);
  auto flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0)
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  x.fd = std::move(fd);
  x.temp_name = std::move(name);
  x.adopted = true;
  x.settling = true;
  x.held = static_cast<uint64_t>(st.st_size);
  return x.held;
}

std::optional<source_identity> file_writer::source() const {
  return impl_->source;
}

bool file_writer::resumed() const noexcept {
  return impl_->adopted;
}

void file_writer::discard() noexcept {
  impl_->discarded = true;
}

outcome<std::shared_ptr<file_writer>>
file_writer::create(unique_fd dir, std::string name, std::string shown,
                    bool replace, uint64_t id) {
  struct stat st {};
  if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!replace || S_ISDIR(st.st_mode))
      return make_failure(wire_code::already_exists,
                          "refusing to overwrite: " + shown + " exists");
  } else if (errno != ENOENT) {
    return io_failure(errno, shown);
  }
  auto x = std::make_unique<impl>();
  int fd = -1;
  if (!named_temp_only.load(std::memory_order_relaxed))
    fd = ::openat(dir.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    // No O_TMPFILE here (or forced): a named, exclusively created file.
    x->temp_name = ".dirscope-upload-" + std::to_string(id) + "-"
                   + random_suffix();
    fd = ::openat(dir.get(), x->temp_name.c_str(),
                  O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      auto err = errno;
      x->temp_name.clear();
      return io_failure(err, "create a temporary file for " + shown);
    }
  }
  x->fd = unique_fd{fd};
  x->dir = std::move(dir);
  x->name = std::move(name);
  x->shown = std::move(shown);
  x->replace = replace;
  return std::shared_ptr<file_writer>(new file_writer(std::move(x)));
}

outcome<std::shared_ptr<file_writer>>
file_writer::create_tree(unique_fd dir, std::string name, std::string shown,
                         uint64_t id) {
  auto u = tree_unpacker::create(std::move(dir), name, shown, id);
  if (!u)
    return u.error();
  auto x = std::make_unique<impl>();
  x->tree = std::move(*u);
  x->name = std::move(name);
  x->shown = std::move(shown);
  return std::shared_ptr<file_writer>(new file_writer(std::move(x)));
}

outcome<uint64_t> file_writer::write(uint64_t offset, std::string_view data) {
  auto& x = *impl_;
  if (x.settling)
    if (auto n = settle(x, offset); !n)
      return n;
  if (offset != x.written)
    return make_failure(wire_code::bad_request,
                        "chunk at offset " + std::to_string(offset)
                          + ", expected " + std::to_string(x.written));
  if (x.tree) {
    x.hash.update(data);
    if (auto n = x.tree->feed(data); !n)
      return n.error();
    x.written += data.size();
    return x.written;
  }
  // Hashed and written 64 KiB at a time: write() copies each piece while
  // the hash left it in the cache.
  while (!data.empty()) {
    auto piece = data.substr(0, hash_read_size);
    x.hash.update(piece);
    data.remove_prefix(piece.size());
    while (!piece.empty()) {
      auto n = ::write(x.fd.get(), piece.data(), piece.size());
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return io_failure(errno, "write " + x.shown);
      }
      piece.remove_prefix(static_cast<size_t>(n));
      x.written += static_cast<uint64_t>(n);
    }
  }
  return x.written;
}

namespace {

/// Mode, mtime and fsync of the complete file, before it gets its name.
outcome<uint64_t> make_durable(file_writer::impl& x) {
  if (::fchmod(x.fd.get(), extracted_mode(x.mode, process_umask())) != 0)
    return io_failure(errno, "chmod " + x.shown);
  if (x.mtime_ns) {
    struct timespec times[2];
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = static_cast<time_t>(*x.mtime_ns / 1'000'000'000);
    times[1].tv_nsec = static_cast<long>(*x.mtime_ns % 1'000'000'000);
    if (times[1].tv_nsec < 0) {
      times[1].tv_nsec += 1'000'000'000;
      --times[1].tv_sec;
    }
    if (::futimens(x.fd.get(), times) != 0)
      return io_failure(errno, "set the mtime of " + x.shown);
  }
  if (!skip_fsync.load(std::memory_order_relaxed)
      && ::fsync(x.fd.get()) != 0)
    return io_failure(errno, "fsync " + x.shown);
  return x.written;
}

/// The file has its name: make the name durable too, and drop a partial
/// file of the same source left by an earlier broken transfer.
uint64_t published(file_writer::impl& x) {
  if (!skip_fsync.load(std::memory_order_relaxed))
    ::fsync(x.dir.get());
  if (x.source && !x.adopted)
    ::unlinkat(x.dir.get(), partial_name(x.name, *x.source).c_str(), 0);
  return x.written;
}

} // namespace

outcome<uint64_t>
file_writer::commit(uint64_t size, const protocol::sha256_digest& sha256) {
  auto& x = *impl_;
  if (x.settling)
    if (auto n = settle(x, size); !n)
      return n;
  if (size != x.written) {
    x.discarded = true;
    return make_failure(wire_code::io_error,
                        "size mismatch for " + x.shown + ": received "
                          + std::to_string(x.written) + " bytes, sender "
                          "says " + std::to_string(size));
  }
  auto got = x.hash.finish();
  if (got != sha256) {
    x.discarded = true; // a resumed prefix that differs must not stay
    return make_failure(wire_code::io_error,
                        "SHA-256 mismatch for " + x.shown + ": received "
                          + protocol::to_hex(got) + ", sender says "
                          + protocol::to_hex(sha256)
                          + (x.adopted ? " (the partial file was discarded)"
                                       : ""));
  }
  if (x.tree) {
    if (auto n = x.tree->finish(); !n)
      return n.error();
    if (auto n = x.tree->place(!skip_fsync.load(std::memory_order_relaxed));
        !n)
      return n.error();
    x.committed = true;
    return x.written;
  }
  if (auto n = make_durable(x); !n)
    return n;
  if (x.temp_name.empty()) {
    // Give the unnamed file a name: directly (link never replaces), or a
    // temporary one that is then renamed over the target.
    auto proc = "/proc/self/fd/" + std::to_string(x.fd.get());
    auto link_name = x.replace ? ".dirscope-upload-" + random_suffix()
                               : x.name;
    if (::linkat(AT_FDCWD, proc.c_str(), x.dir.get(), link_name.c_str(),
                 AT_SYMLINK_FOLLOW)
        != 0) {
      auto err = errno;
      if (err == EEXIST)
        return make_failure(wire_code::already_exists,
                            "refusing to overwrite: " + x.shown + " exists");
      return io_failure(err, "link " + x.shown);
    }
    if (!x.replace) {
      x.committed = true;
      return published(x);
    }
    x.temp_name = link_name;
  }
  auto rc = x.replace ? ::renameat(x.dir.get(), x.temp_name.c_str(),
                                   x.dir.get(), x.name.c_str())
                      : ::renameat2(x.dir.get(), x.temp_name.c_str(),
                                    x.dir.get(), x.name.c_str(),
                                    RENAME_NOREPLACE);
  if (rc != 0) {
    auto err = errno;
    if (err == EEXIST)
      return make_failure(wire_code::already_exists,
                          "refusing to overwrite: " + x.shown + " exists");
    return io_failure(err, "rename into " + x.shown);
  }
  x.committed = true;
  return published(x);
}

uint64_t file_writer::written() const noexcept {
  return impl_->written;
}

bool file_writer::unnamed() const noexcept {
  return impl_->temp_name.empty() && !impl_->committed;
}

// -- helpers ------------------------------------------------------------------

outcome<unique_fd>
make_dirs_beneath(int base_fd, const std::vector<std::string>& components,
                  created_dirs* created) {
  unique_fd dir{::fcntl(base_fd, F_DUPFD_CLOEXEC, 0)};
  if (!dir)
    return io_failure(errno, "dup");
  for (auto& c : components) {
    if (!protocol::is_valid_entry_name(c))
      return make_failure(wire_code::bad_request,
                          "bad path component '" + protocol::escape_name(c)
                            + "'");
    if (::mkdirat(dir.get(), c.c_str(), 0755) == 0) {
      if (created != nullptr)
        created->add(dir.get(), c);
    } else if (errno != EEXIST) {
      return io_failure(errno, "mkdir " + protocol::escape_name(c));
    }
    unique_fd next{::openat(dir.get(), c.c_str(),
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    if (!next) {
      auto err = errno;
      if (err == ELOOP || err == ENOTDIR)
        return make_failure(wire_code::not_a_directory,
                            protocol::escape_name(c)
                              + " exists and is not a directory");
      return io_failure(err, protocol::escape_name(c));
    }
    dir = std::move(next);
  }
  return dir;
}

outcome<std::shared_ptr<file_writer>>
create_beneath(int root_fd, std::string_view path, uint64_t id, bool tree) {
  auto parts = protocol::split_node_path(path);
  if (!parts)
    return parts.error();
  if (parts->empty())
    return make_failure(wire_code::bad_request, "cannot write to the root");
  auto dir = node::open_beneath(root_fd, protocol::parent_path(path),
                                O_RDONLY | O_DIRECTORY);
  if (!dir)
    return dir.error();
  if (tree)
    return file_writer::create_tree(std::move(*dir), parts->back(),
                                    protocol::escape_name(path), id);
  return file_writer::create(std::move(*dir), parts->back(),
                             protocol::escape_name(path), false, id);
}

void force_named_temp_files(bool on) noexcept {
  named_temp_only.store(on, std::memory_order_relaxed);
}

} // namespace dirscope::node

#include "node/archive.hpp"

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/confine.hpp"
#include "node/extract.hpp"
#include "node/file_ops.hpp"
#include "protocol/names.hpp"

namespace dirscope::node {

namespace {

failure io_failure(int err, std::string_view what) {
  auto result = errno_failure(err, what);
  if (result.code == wire_code::internal)
    result.code = wire_code::io_error;
  return result;
}

bool unchanged(const struct stat& x, const struct stat& y) {
  return x.st_dev == y.st_dev && x.st_ino == y.st_ino
         && x.st_size == y.st_size && x.st_mtim.tv_sec == y.st_mtim.tv_sec
         && x.st_mtim.tv_nsec == y.st_mtim.tv_nsec;
}

void fill_entry(archive_entry* e, const std::string& name,
                const struct stat& st) {
  archive_entry_copy_pathname(e, name.c_str());
  archive_entry_set_mode(e, st.st_mode);
  archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  if (S_ISREG(st.st_mode))
    archive_entry_set_size(e, st.st_size);
  else
    archive_entry_set_size(e, 0);
}

/// Reads the tar.gz that `open` attaches to a new reader, and creates its
/// entries beneath `top`.
template <class Open>
outcome<uint64_t> extract_with(Open open, int top, mode_t umask,
                               const std::string& shown) {
  auto in = archive_read_new();
  if (in == nullptr)
    return make_failure(wire_code::internal, "archive_read_new failed");
  archive_read_support_filter_gzip(in);
  archive_read_support_format_tar(in);
  outcome<uint64_t> n = make_failure(wire_code::internal, "");
  if (open(in) != ARCHIVE_OK)
    n = archive_failure(in, "unpack " + shown);
  else
    n = extract_entries(in, top, umask, shown);
  archive_read_free(in);
  return n;
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(rng()));
  return buf;
}

} // namespace

// -- packer -------------------------------------------------------------------

struct tree_packer::impl {
  struct level {
    DIR* dir = nullptr;
    std::string prefix; ///< "" for the top, else "a/b/"
  };
  archive* a = nullptr;
  std::string shown;
  std::vector<level> stack;
  std::string pending; ///< bytes libarchive produced, not yet handed out
  unique_fd file;      ///< regular file being copied
  std::string file_name;
  struct stat file_st {};
  std::string buf;
  bool closed = false;

  ~impl() {
    for (auto& l : stack)
      ::closedir(l.dir);
    if (a != nullptr) {
      // Abandoned mid-stream. Failing first keeps close from padding out
      // the current file (gigabytes of work for nobody); closing after it
      // still runs the gzip filter's close, the only place that frees its
      // zlib state (~270 KB): free skips close on a failed archive.
      if (!closed) {
        archive_write_fail(a);
        archive_write_close(a);
      }
      archive_write_free(a);
    }
  }

  static la_ssize_t on_write(archive*, void* self, const void* data,
                             size_t n) {
    static_cast<impl*>(self)->pending.append(static_cast<const char*>(data),
                                             n);
    return static_cast<la_ssize_t>(n);
  }

  outcome<bool> header(const std::string& name, const struct stat& st,
                       const char* link_target) {
    auto e = archive_entry_new();
    fill_entry(e, name, st);
    if (link_target != nullptr)
      archive_entry_copy_symlink(e, link_target);
    auto rc = archive_write_header(a, e);
    archive_entry_free(e);
    if (rc < ARCHIVE_WARN)
      return archive_failure(a, "pack " + protocol::escape_name(name));
    return true;
  }

  /// One step of the walk: a block of file data or one entry.
  outcome<bool> step() {
    if (file) {
      buf.resize(64 * 1024);
      auto n = ::read(file.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR)
          return true;
        return io_failure(errno, "read " + protocol::escape_name(file_name));
      }
      if (n > 0) {
        if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) < 0)
          return archive_failure(a, "pack " + protocol::escape_name(file_name));
        return true;
      }
      struct stat after {};
      if (::fstat(file.get(), &after) != 0 || !unchanged(file_st, after))
        return make_failure(wire_code::io_error,
                            protocol::escape_name(file_name)
                              + " changed while being read");
      file = unique_fd{};
      return true;
    }
    if (stack.empty()) {
      if (archive_write_close(a) != ARCHIVE_OK)
        return archive_failure(a, "pack " + shown);
      closed = true;
      return true;
    }
    auto& top = stack.back();
    errno = 0;
    auto de = ::readdir(top.dir);
    if (de == nullptr) {
      if (errno != 0)
        return io_failure(errno, "read directory " + shown);
      ::closedir(top.dir);
      stack.pop_back();
      return true;
    }
    std::string base = de->d_name;
    if (base == "." || base == "..")
      return true;
    auto dfd = ::dirfd(top.dir);
    auto name = top.prefix + base;
    struct stat st {};
    if (::fstatat(dfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return io_failure(errno, protocol::escape_name(name));
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      auto n = ::readlinkat(dfd, base.c_str(), target.data(), target.size());
      if (n < 0)
        return io_failure(errno, protocol::escape_name(name));
      target.resize(static_cast<size_t>(n));
      return header(name, st, target.c_str());
    }
    if (S_ISDIR(st.st_mode)) {
      if (stack.size() >= max_walk_depth)
        return make_failure(wire_code::io_error,
                            "tree too deep at " + protocol::escape_name(name));
      int fd = ::openat(dfd, base.c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return io_failure(errno, protocol::escape_name(name));
      auto d = ::fdopendir(fd);
      if (d == nullptr) {
        ::close(fd);
        return io_failure(errno, protocol::escape_name(name));
      }
      stack.push_back(level{d, name + "/"});
      return header(name, st, nullptr);
    }
    if (S_ISREG(st.st_mode)) {
      unique_fd fd{::openat(dfd, base.c_str(),
                            O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
                              | O_CLOEXEC)};
      if (!fd)
        return io_failure(errno, protocol::escape_name(name));
      struct stat now {};
      if (::fstat(fd.get(), &now) != 0 || !S_ISREG(now.st_mode)
          || !unchanged(st, now))
        return make_failure(wire_code::io_error,
                            protocol::escape_name(name)
                              + " changed while being read");
      auto flags = ::fcntl(fd.get(), F_GETFL);
      if (flags >= 0)
        ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
      file = std::move(fd);
      file_name = name;
      file_st = now;
      return header(name, st, nullptr);
    }
    // FIFOs, sockets and devices are neither opened nor sent.
    return true;
  }
};

tree_packer::tree_packer(std::unique_ptr<impl> x) : impl_(std::move(x)) {
  // nop
}

tree_packer::~tree_packer() = default;

outcome<std::unique_ptr<tree_packer>> tree_packer::open(unique_fd dir,
                                                        std::string shown) {
  auto x = std::make_unique<impl>();
  x->shown = std::move(shown);
  struct stat st {};
  if (::fstat(dir.get(), &st) != 0)
    return io_failure(errno, x->shown);
  if (!S_ISDIR(st.st_mode))
    return make_failure(wire_code::not_a_directory,
                        x->shown + " is not a directory");
  x->a = archive_write_new();
  if (x->a == nullptr)
    return make_failure(wire_code::internal, "archive_write_new failed");
  if (archive_write_add_filter_gzip(x->a) != ARCHIVE_OK
      || archive_write_set_format_pax_restricted(x->a) != ARCHIVE_OK
      || archive_write_set_options(x->a, "hdrcharset=BINARY") < ARCHIVE_WARN
      || archive_write_set_bytes_in_last_block(x->a, 1) != ARCHIVE_OK
      || archive_write_open(x->a, x.get(), nullptr, &impl::on_write, nullptr)
           != ARCHIVE_OK)
    return archive_failure(x->a, "pack " + x->shown);
  auto d = ::fdopendir(dir.get());
  if (d == nullptr)
    return io_failure(errno, x->shown);
  dir.release();
  x->stack.push_back(impl::level{d, ""});
  // The top directory itself, for its permissions and mtime.
  if (auto h = x->header(".", st, nullptr); !h)
    return h.error();
  return std::unique_ptr<tree_packer>(new tree_packer(std::move(x)));
}

outcome<bool> tree_packer::next(std::string& out, size_t max,
                                const std::atomic<bool>* stop) {
  auto& x = *impl_;
  out.clear();
  while (x.pending.size() < max && !x.closed) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed))
      return make_failure(wire_code::cancelled, "transfer cancelled");
    if (auto r = x.step(); !r)
      return r.error();
  }
  auto n = std::min(max, x.pending.size());
  out.assign(x.pending, 0, n);
  x.pending.erase(0, n);
  return x.closed && x.pending.empty();
}

// -- unpacker -----------------------------------------------------------------

struct tree_unpacker::impl {
  unique_fd dir;    ///< the parent directory
  unique_fd temp;   ///< the temporary directory
  std::string name;
  std::string shown;
  std::string temp_name;
  mode_t umask = 077;
  bool placed = false;
  uint64_t fed = 0;
  uint64_t entries = 0;

  // The feeding side and the extraction thread share these.
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<std::string> queue;
  std::string current; ///< what the reader callback handed to libarchive
  bool eof = false;
  bool abort = false;
  bool done = false;
  std::optional<failure> error;
  std::thread worker;

  static constexpr size_t max_queued = 8;

  static la_ssize_t on_read(archive*, void* self, const void** buf) {
    auto& x = *static_cast<impl*>(self);
    std::unique_lock<std::mutex> guard{x.mtx};
    x.cv.wait(guard, [&x] { return !x.queue.empty() || x.eof || x.abort; });
    if (x.abort)
      return -1;
    if (x.queue.empty()) {
      *buf = nullptr;
      return 0;
    }
    x.current = std::move(x.queue.front());
    x.queue.pop_front();
    x.cv.notify_all();
    *buf = x.current.data();
    return static_cast<la_ssize_t>(x.current.size());
  }

  /// Discards what follows the archive's end (a tar's zero padding, when
  /// it was not compressed along) until the end of the stream.
  void drain() {
    std::unique_lock<std::mutex> guard{mtx};
    for (;;) {
      cv.wait(guard, [this] { return !queue.empty() || eof || abort; });
      if (queue.empty())
        return;
      queue.clear();
      cv.notify_all();
    }
  }

  std::optional<failure> extract() {
    auto open = [this](archive* in) {
      return archive_read_open(in, this, nullptr, &impl::on_read, nullptr);
    };
    auto n = extract_with(open, temp.get(), umask, shown);
    if (!n)
      return n.error();
    entries = *n;
    drain();
    return std::nullopt;
  }

  void run() {
    auto result = extract();
    std::unique_lock<std::mutex> guard{mtx};
    error = std::move(result);
    done = true;
    cv.notify_all();
  }

  void stop() {
    {
      std::unique_lock<std::mutex> guard{mtx};
      abort = true;
      cv.notify_all();
    }
    if (worker.joinable())
      worker.join();
  }

  ~impl() {
    stop();
    if (!placed && !temp_name.empty())
      remove_beneath(dir.get(), "/" + temp_name, true);
  }
};

tree_unpacker::tree_unpacker(std::unique_ptr<impl> x) : impl_(std::move(x)) {
  // nop
}

tree_unpacker::~tree_unpacker() = default;

outcome<std::unique_ptr<tree_unpacker>>
tree_unpacker::create(unique_fd dir, std::string name, std::string shown,
                      uint64_t id, mode_t umask) {
  struct stat st {};
  if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    return make_failure(wire_code::already_exists,
                        "refusing to overwrite: " + shown + " exists");
  if (errno != ENOENT)
    return io_failure(errno, shown);
  auto x = std::make_unique<impl>();
  auto temp = ".dirscope-upload-" + std::to_string(id) + "-"
              + random_suffix();
  if (::mkdirat(dir.get(), temp.c_str(), 0700) != 0)
    return io_failure(errno, "create a temporary directory for " + shown);
  x->dir = std::move(dir);
  x->temp_name = temp;
  x->umask = umask;
  x->name = std::move(name);
  x->shown = std::move(shown);
  x->temp = unique_fd{::openat(x->dir.get(), temp.c_str(),
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                 | O_CLOEXEC)};
  if (!x->temp)
    return io_failure(errno, "open the temporary directory for " + x->shown);
  auto raw = x.get();
  x->worker = std::thread{[raw] { raw->run(); }};
  return std::unique_ptr<tree_unpacker>(new tree_unpacker(std::move(x)));
}

outcome<uint64_t> tree_unpacker::feed(std::string_view data) {
  auto& x = *impl_;
  std::unique_lock<std::mutex> guard{x.mtx};
  x.cv.wait(guard,
            [&x] { return x.queue.size() < impl::max_queued || x.done; });
  if (x.done) {
    if (x.error)
      return *x.error;
    if (!data.empty())
      return make_failure(wire_code::bad_request,
                          "data after the end of the archive for " + x.shown);
  }
  if (!data.empty()) {
    x.queue.emplace_back(data);
    x.cv.notify_all();
  }
  x.fed += data.size();
  return x.fed;
}

outcome<uint64_t> tree_unpacker::finish() {
  auto& x = *impl_;
  {
    std::unique_lock<std::mutex> guard{x.mtx};
    x.eof = true;
    x.cv.notify_all();
  }
  if (x.worker.joinable())
    x.worker.join();
  if (x.error)
    return *x.error;
  return x.entries;
}

outcome<uint64_t> tree_unpacker::place(bool durable) {
  auto& x = *impl_;
  // One syncfs for the whole tree: an fsync per file would cost a disk
  // flush per file of a tree of many small files.
  if (durable && ::syncfs(x.temp.get()) != 0)
    return io_failure(errno, "sync " + x.shown + " to disk");
  if (::renameat2(x.dir.get(), x.temp_name.c_str(), x.dir.get(),
                  x.name.c_str(), RENAME_NOREPLACE)
      != 0) {
    auto err = errno;
    if (err == EEXIST)
      return make_failure(wire_code::already_exists,
                          "refusing to overwrite: " + x.shown + " exists");
    return io_failure(err, "rename into " + x.shown);
  }
  x.placed = true;
  if (durable)
    ::fsync(x.dir.get());
  return x.entries;
}

const std::string& tree_unpacker::temp_name() const noexcept {
  return impl_->temp_name;
}

// -- in memory ----------------------------------------------------------------

outcome<uint64_t> extract_tree(int dir, std::string_view tar_gz,
                               mode_t umask) {
  auto open = [tar_gz](archive* in) {
    return archive_read_open_memory(in, tar_gz.data(), tar_gz.size());
  };
  return extract_with(open, dir, umask, "the tree");
}

} // namespace dirscope::node

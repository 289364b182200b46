#include "node/confine.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "node/confine_testing.hpp"
#include "protocol/paths.hpp"

namespace dirscope::node {

namespace {

enum support : int { unknown, available, missing };

std::atomic<int> openat2_support{unknown};

std::atomic<bool> forced_fallback{false};

// openat2 answers EAGAIN when a concurrent rename makes it unsure that ".."
// stayed beneath; our paths hold no "..", so a few retries are plenty.
constexpr int max_eagain_retries = 8;

// strerror_r comes in an XSI and a GNU flavor; these overloads take either.
[[maybe_unused]] const char* strerror_text(int rc, const char* buf) {
  return rc == 0 ? buf : "unknown error";
}

[[maybe_unused]] const char* strerror_text(const char* msg, const char*) {
  return msg;
}

std::string describe_errno(int err) {
  char buf[128] = {};
  return strerror_text(strerror_r(err, buf, sizeof(buf)), buf);
}

long sys_openat2(int dir_fd, const char* path, open_how* how) {
  return ::syscall(SYS_openat2, dir_fd, path, how, sizeof(open_how));
}

// Seccomp filters of some container runtimes answer EPERM instead of ENOSYS
// for syscalls they do not know, so we probe once with a harmless open.
bool probe_openat2() {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  for (;;) {
    auto fd = sys_openat2(AT_FDCWD, "/", &how);
    if (fd >= 0) {
      ::close(static_cast<int>(fd));
      return true;
    }
    if (errno != EINTR && errno != EAGAIN)
      return false;
  }
}

bool openat2_usable() {
  if (forced_fallback.load(std::memory_order_relaxed))
    return false;
  auto state = openat2_support.load(std::memory_order_relaxed);
  if (state == unknown) {
    state = probe_openat2() ? available : missing;
    openat2_support.store(state, std::memory_order_relaxed);
  }
  return state == available;
}

int retry_openat(int dir_fd, const char* name, int flags) {
  int fd;
  do {
    fd = ::openat(dir_fd, name, flags);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// Returns the new fd or -errno.
long open_with_openat2(int root_fd, std::string_view path, int flags) {
  std::string rel{path.substr(1)};
  open_how how{};
  how.flags = static_cast<unsigned>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int eagain = 0;;) {
    auto fd = sys_openat2(root_fd, rel.c_str(), &how);
    if (fd >= 0)
      return fd;
    auto err = errno;
    if (err == EINTR || (err == EAGAIN && ++eagain <= max_eagain_retries))
      continue;
    return -err;
  }
}

// Without openat2 we cannot tell a symlink that stays inside from one that
// leaves, so every symlink on the way is refused.
failure walk_failure(int err, int dir_fd, const std::string& name,
                     std::string_view path) {
  if (err == ELOOP || err == ENOTDIR) {
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0
        && S_ISLNK(st.st_mode))
      return make_failure(wire_code::outside_root,
                          std::string{path}
                            + ": path passes through a symlink (not followed "
                              "on kernels without openat2)");
  }
  return errno_failure(err, path);
}

outcome<unique_fd> open_with_walk(int root_fd,
                                  const std::vector<std::string>& components,
                                  std::string_view path, int flags) {
  // O_PATH needs only search permission on the intermediate directories,
  // as a kernel path walk (and openat2) would.
  constexpr int step_flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  unique_fd current;
  auto dir_fd = root_fd;
  for (size_t i = 0; i + 1 < components.size(); ++i) {
    auto fd = retry_openat(dir_fd, components[i].c_str(), step_flags);
    if (fd < 0)
      return walk_failure(errno, dir_fd, components[i], path);
    current = unique_fd{fd};
    dir_fd = current.get();
  }
  auto& last = components.back();
  auto fd = retry_openat(dir_fd, last.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return walk_failure(errno, dir_fd, last, path);
  return unique_fd{fd};
}

} // namespace

failure errno_failure(int err, std::string_view what) {
  auto code = wire_code::io_error;
  auto text = describe_errno(err);
  switch (err) {
    case ENOENT:
      code = wire_code::not_found;
      break;
    case EACCES:
    case EPERM:
      code = wire_code::permission_denied;
      break;
    case ENOTDIR:
      code = wire_code::not_a_directory;
      break;
    case EXDEV:
      code = wire_code::outside_root;
      text = "path leaves the node's root";
      break;
    case ELOOP:
      code = wire_code::symlink_loop;
      break;
    case ENAMETOOLONG:
      code = wire_code::bad_request;
      break;
    default:
      break;
  }
  std::string msg{what};
  if (!msg.empty())
    msg += ": ";
  msg += text;
  return make_failure(code, std::move(msg));
}

outcome<unique_fd> open_root(const std::string& dir) {
  if (dir.empty())
    return make_failure(wire_code::not_found, "root directory not set");
  int fd;
  do {
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return errno_failure(errno, "root directory " + dir);
  return unique_fd{fd};
}

outcome<unique_fd> open_beneath(int root_fd, std::string_view path,
                                int flags) {
  auto components = protocol::split_node_path(path);
  if (!components)
    return components.error();
  if (components->empty()) {
    auto fd = retry_openat(root_fd, ".", flags | O_CLOEXEC);
    if (fd < 0)
      return errno_failure(errno, path);
    return unique_fd{fd};
  }
  if (openat2_usable()) {
    auto fd = open_with_openat2(root_fd, path, flags);
    if (fd >= 0)
      return unique_fd{static_cast<int>(fd)};
    if (fd != -ENOSYS)
      return errno_failure(static_cast<int>(-fd), path);
    openat2_support.store(missing, std::memory_order_relaxed);
  }
  return open_with_walk(root_fd, *components, path, flags);
}

bool has_openat2() noexcept {
  return openat2_usable();
}

void force_openat_fallback_for_testing(bool enabled) noexcept {
  forced_fallback.store(enabled, std::memory_order_relaxed);
}

} // namespace dirscope::node

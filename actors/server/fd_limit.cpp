#include "actors/server/fd_limit.hpp"

#include <cerrno>
#include <cstring>

#include <dirent.h>
#include <sys/resource.h>

namespace dirscope {

fd_limit raise_fd_limit() {
  fd_limit result;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    result.error = std::strerror(errno);
    return result;
  }
  result.soft_before = result.soft = lim.rlim_cur;
  result.hard = lim.rlim_max;
  if (lim.rlim_cur == lim.rlim_max)
    return result;
  lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    result.error = std::strerror(errno);
    return result;
  }
  result.soft = lim.rlim_cur;
  return result;
}

size_t open_descriptors() {
  auto* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return 0;
  size_t count = 0;
  while (auto* entry = ::readdir(dir))
    if (entry->d_name[0] != '.')
      ++count;
  ::closedir(dir);
  // Not the descriptor of the directory being read.
  return count > 0 ? count - 1 : 0;
}

std::string fd_limit_warning(size_t max_clients, size_t open_now,
                             uint64_t soft, uint64_t hard) {
  auto needed = static_cast<uint64_t>(max_clients) + open_now + fd_headroom;
  if (needed <= soft)
    return {};
  auto fit = soft > open_now + fd_headroom ? soft - open_now - fd_headroom
                                           : 0;
  auto text = "max-clients=" + std::to_string(max_clients)
              + " needs about " + std::to_string(needed)
              + " file descriptors, but the limit is " + std::to_string(soft);
  if (hard > soft)
    text += " (hard limit " + std::to_string(hard) + ")";
  text += ": about " + std::to_string(fit)
          + " nodes fit; beyond that the server stops accepting until "
            "descriptors free up. Raise the limit (ulimit -n, systemd "
            "LimitNOFILE=) or lower max-clients";
  return text;
}

} // namespace dirscope

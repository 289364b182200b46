#include "node/file_mode.hpp"

#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace dirscope::node {

namespace {

constexpr mode_t strictest = 077;

mode_t read_umask() noexcept {
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return strictest;
  char buf[8192];
  size_t have = 0;
  for (;;) {
    auto n = ::read(fd, buf + have, sizeof(buf) - 1 - have);
    if (n <= 0)
      break;
    have += static_cast<size_t>(n);
    if (have == sizeof(buf) - 1)
      break;
  }
  ::close(fd);
  buf[have] = '\0';
  return parse_status_umask(buf);
}

} // namespace

mode_t parse_status_umask(const char* status) noexcept {
  for (auto line = status; line != nullptr && *line != '\0';) {
    if (std::strncmp(line, "Umask:", 6) == 0) {
      char* end = nullptr;
      auto value = std::strtoul(line + 6, &end, 8);
      if (end == line + 6 || value > 0777)
        return strictest;
      return static_cast<mode_t>(value);
    }
    line = std::strchr(line, '\n');
    if (line != nullptr)
      ++line;
  }
  return strictest;
}

mode_t process_umask() noexcept {
  static const mode_t value = read_umask();
  return value;
}

} // namespace dirscope::node

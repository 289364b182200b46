#include "node/unique_fd.hpp"

#include <unistd.h>

namespace dirscope::node {

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

unique_fd::~unique_fd() {
  // Never retry close() on EINTR: on Linux the fd is gone either way.
  if (fd_ >= 0)
    ::close(fd_);
}

} // namespace dirscope::node

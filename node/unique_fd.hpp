#pragma once

namespace dirscope::node {

/// Owns one POSIX file descriptor; closes it on destruction.
class unique_fd {
public:
  unique_fd() noexcept = default;

  explicit unique_fd(int fd) noexcept : fd_(fd) {
    // nop
  }

  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {
    // nop
  }

  unique_fd& operator=(unique_fd&& other) noexcept;

  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  ~unique_fd();

  int get() const noexcept {
    return fd_;
  }

  int release() noexcept {
    auto fd = fd_;
    fd_ = -1;
    return fd;
  }

  explicit operator bool() const noexcept {
    return fd_ >= 0;
  }

private:
  int fd_ = -1;
};

} // namespace dirscope::node

#include "node/tcp_connect.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace dirscope::node {

namespace {

using steady = std::chrono::steady_clock;

struct addrinfo_deleter {
  void operator()(addrinfo* ptr) const noexcept {
    ::freeaddrinfo(ptr);
  }
};

/// Waits until the connect in progress on `fd` ends. Returns 0 once
/// connected, else an errno value (ETIMEDOUT at the deadline, ECANCELED when
/// abandoned).
int finish_connect(int fd, steady::time_point deadline,
                   const std::atomic<bool>& abandon) {
  using std::chrono::milliseconds;
  for (;;) {
    if (abandon)
      return ECANCELED;
    // Rounded up: zero means the deadline has passed.
    auto left = std::chrono::ceil<milliseconds>(deadline - steady::now());
    if (left.count() <= 0)
      return ETIMEDOUT;
    auto slice = std::min(left, connect_poll_slice);
    pollfd pfd{fd, POLLOUT, 0};
    auto n = ::poll(&pfd, 1, static_cast<int>(slice.count()));
    if (n < 0 && errno != EINTR)
      return errno;
    if (n <= 0)
      continue;
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      return errno;
    return err;
  }
}

/// "connection refused", as it reads after "cannot connect to HOST:PORT: ".
std::string describe(int err) {
  auto text = std::error_code{err, std::system_category()}.message();
  if (!text.empty())
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

} // namespace

outcome<unique_fd> tcp_connect(const std::string& host, uint16_t port,
                               std::chrono::milliseconds timeout,
                               const std::atomic<bool>& abandon) {
  auto deadline = steady::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      rc != 0)
    return make_failure(wire_code::io_error,
                        "cannot resolve " + host + ": "
                          + (rc == EAI_SYSTEM ? describe(errno)
                                              : ::gai_strerror(rc)));
  std::unique_ptr<addrinfo, addrinfo_deleter> guard{found};
  int last = EADDRNOTAVAIL;
  for (auto ai = found; ai != nullptr; ai = ai->ai_next) {
    unique_fd fd{::socket(ai->ai_family,
                          ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol)};
    if (!fd) {
      last = errno;
      continue;
    }
    int err = 0;
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      // An interrupted non-blocking connect goes on in the background.
      if (err == EINPROGRESS || err == EINTR)
        err = finish_connect(fd.get(), deadline, abandon);
    }
    if (err == 0) {
      int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return fd;
    }
    if (err == ECANCELED)
      return make_failure(wire_code::cancelled, "connecting was abandoned");
    last = err;
    if (steady::now() >= deadline)
      break;
  }
  if (last == ETIMEDOUT && steady::now() >= deadline) {
    auto secs = std::chrono::duration<double>(timeout).count();
    char text[64];
    std::snprintf(text, sizeof(text), "no answer within %g s", secs);
    return make_failure(wire_code::io_error, text);
  }
  return make_failure(wire_code::io_error, describe(last));
}

} // namespace dirscope::node

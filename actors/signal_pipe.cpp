#include "actors/signal_pipe.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>

namespace dirscope {

namespace {

int pipe_fds[2] = {-1, -1};

extern "C" void on_signal(int sig) {
  auto saved = errno;
  auto byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] auto n = ::write(pipe_fds[1], &byte, 1);
  errno = saved;
}

} // namespace

signal_pipe::signal_pipe() {
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed stdout must not kill the server mid-goodbye.
  signal(SIGPIPE, SIG_IGN);
}

signal_pipe::~signal_pipe() {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  for (auto& fd : pipe_fds) {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
}

int signal_pipe::fd() const noexcept {
  return pipe_fds[0];
}

int signal_pipe::drain() noexcept {
  unsigned char buf[16];
  int result = 0;
  for (;;) {
    auto n = ::read(pipe_fds[0], buf, sizeof(buf));
    if (n <= 0)
      return result;
    for (ssize_t i = 0; i < n; ++i)
      result = stronger_signal(result, buf[i]);
  }
}

int stronger_signal(int a, int b) noexcept {
  // A stop request must never be downgraded to a cancel by a SIGINT that
  // happened to arrive after it in the same poll round.
  if (a == SIGTERM || b == SIGTERM)
    return SIGTERM;
  return b != 0 ? b : a;
}

} // namespace dirscope

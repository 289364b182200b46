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
}

int signal_pipe::fd() const noexcept {
  return pipe_fds[0];
}

int signal_pipe::drain() noexcept {
  unsigned char buf[16];
  int last = 0;
  for (;;) {
    auto n = ::read(pipe_fds[0], buf, sizeof(buf));
    if (n <= 0)
      return last;
    last = buf[n - 1];
  }
}

} // namespace dirscope

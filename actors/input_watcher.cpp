#include "actors/input_watcher.hpp"

#include <cerrno>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace dirscope {

input_watcher::input_watcher(signal_pipe& signals, callbacks cbs)
  : signals_(signals), cbs_(std::move(cbs)) {
  if (::pipe2(stop_fds_, O_CLOEXEC) != 0)
    stop_fds_[0] = stop_fds_[1] = -1;
  thread_ = std::thread{[this] { run(); }};
}

input_watcher::~input_watcher() {
  stop();
  for (auto fd : stop_fds_)
    if (fd >= 0)
      ::close(fd);
}

void input_watcher::stop() {
  if (!thread_.joinable())
    return;
  char byte = 0;
  [[maybe_unused]] auto n = ::write(stop_fds_[1], &byte, 1);
  thread_.join();
}

void input_watcher::run() {
  std::string partial;
  bool input_open = static_cast<bool>(cbs_.on_line);
  char buf[4096];
  for (;;) {
    pollfd fds[3] = {{stop_fds_[0], POLLIN, 0},
                     {signals_.fd(), POLLIN, 0},
                     {input_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (fds[0].revents != 0)
      return;
    if (fds[1].revents != 0)
      if (auto sig = signals_.drain(); sig != 0 && cbs_.on_signal)
        cbs_.on_signal(sig);
    if (fds[2].revents == 0)
      continue;
    auto n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n <= 0) {
      if (!partial.empty())
        cbs_.on_line(std::move(partial));
      partial.clear();
      if (cbs_.on_eof)
        cbs_.on_eof();
      input_open = false;
      continue;
    }
    partial.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (auto pos = partial.find('\n'); pos != std::string::npos;
         pos = partial.find('\n', start)) {
      auto line = partial.substr(start, pos - start);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      cbs_.on_line(std::move(line));
      start = pos + 1;
    }
    partial.erase(0, start);
  }
}

} // namespace dirscope

#pragma once

namespace dirscope {

/// Turns SIGINT and SIGTERM into a readable file descriptor (self-pipe), so
/// an input thread can poll() for signals next to stdin.
class signal_pipe {
public:
  /// Installs the handlers. One instance per process.
  signal_pipe();
  ~signal_pipe();

  signal_pipe(const signal_pipe&) = delete;
  signal_pipe& operator=(const signal_pipe&) = delete;

  /// Readable once a signal arrived.
  int fd() const noexcept;

  /// Consumes pending notifications; returns the last signal number or 0.
  int drain() noexcept;
};

} // namespace dirscope

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

  /// Consumes pending notifications; returns the signal that matters most
  /// (SIGTERM over SIGINT, see stronger_signal) or 0.
  int drain() noexcept;
};

/// Of two signals that arrived in one poll round, the one to act on: SIGTERM
/// (stop) wins over anything else, otherwise the later one; 0 means none.
int stronger_signal(int a, int b) noexcept;

} // namespace dirscope

#pragma once

#include <functional>
#include <string>
#include <thread>

#include "actors/signal_pipe.hpp"

namespace dirscope {

/// A plain thread that poll()s standard input (optionally), the signal pipe
/// and a stop pipe, and reports what it sees through callbacks, which
/// typically anon_send to an actor. A blocking actor in getline() would
/// hang shutdown (STACK-NOTES.md); this thread stops at once.
class input_watcher {
public:
  struct callbacks {
    /// A complete line (without the newline); empty function: ignore stdin.
    std::function<void(std::string)> on_line;
    /// Standard input reached its end.
    std::function<void()> on_eof;
    /// SIGINT or SIGTERM arrived.
    std::function<void(int)> on_signal;
  };

  input_watcher(signal_pipe& signals, callbacks cbs);
  ~input_watcher();

  input_watcher(const input_watcher&) = delete;
  input_watcher& operator=(const input_watcher&) = delete;

  /// Stops and joins the thread.
  void stop();

private:
  void run();

  signal_pipe& signals_;
  callbacks cbs_;
  int stop_fds_[2] = {-1, -1};
  std::thread thread_;
};

} // namespace dirscope

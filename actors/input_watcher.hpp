#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/signal_pipe.hpp"

namespace dirscope {

/// A plain thread that poll()s standard input, the signal pipe and a wake-up
/// pipe, and reports what it sees through callbacks, which typically
/// anon_send to an actor. A blocking actor in getline() would hang shutdown
/// (STACK-NOTES.md); this thread stops at once.
///
/// In editing mode (stdin is a terminal) lines are read with libedit: line
/// editing, history (~/.dirscope_history) and command completion. The
/// prompt appears only when the console asks for the next command, so
/// command output never lands behind a prompt.
class input_watcher {
public:
  struct callbacks {
    /// A complete line (without the newline); empty function: ignore stdin.
    std::function<void(std::string)> on_line;
    /// Standard input reached its end.
    std::function<void()> on_eof;
    /// SIGINT or SIGTERM arrived.
    std::function<void(int)> on_signal;
    /// Tab (editing mode): the words that may complete the last word of
    /// the text before the cursor. Called on the watcher's thread, so it
    /// may wait (briefly) for an answer; empty: command names only.
    std::function<std::vector<std::string>(const std::string&)> complete;
  };

  input_watcher(signal_pipe& signals, bool editing);
  ~input_watcher();

  input_watcher(const input_watcher&) = delete;
  input_watcher& operator=(const input_watcher&) = delete;

  /// Starts the thread.
  void start(callbacks cbs);

  /// Editing mode: show `prompt` and accept the next line. Thread-safe.
  void show_prompt(std::string prompt);

  /// Prints `text` (whole lines) that arrives while the user may be typing,
  /// e.g. a node's echo: above the prompt and the half-typed line, which
  /// are then drawn again. Without a prompt up it is written as is.
  /// Thread-safe.
  void print_above_prompt(std::string text);

  /// Stops and joins the thread (restores the terminal).
  void stop();

private:
  void run();
  void read_plain(std::string& partial, bool& input_open);
  void print_queued();
  void wake();

  signal_pipe& signals_;
  bool editing_;
  callbacks cbs_;
  int stop_fds_[2] = {-1, -1};
  int wake_fds_[2] = {-1, -1};
  std::mutex mtx_;
  std::optional<std::string> next_prompt_;
  /// Text for print_above_prompt, printed by the thread.
  std::string queued_text_;
  /// The prompt libedit shows while a line is being typed.
  std::string current_prompt_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace dirscope

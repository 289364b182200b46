#include "actors/input_watcher.hpp"

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <editline/readline.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "shell/command.hpp"
#include "shell/edit_completion.hpp"

namespace dirscope {

namespace {

// libedit's callback interface takes plain function pointers: the one
// watcher in editing mode is reachable through these.
input_watcher::callbacks* editing_callbacks = nullptr;
bool line_pending = false;
bool edit_eof = false;

std::string history_file() {
  auto home = std::getenv("HOME");
  return home != nullptr ? std::string{home} + "/.dirscope_history"
                         : std::string{};
}

extern "C" void on_edited_line(char* line) {
  rl_callback_handler_remove();
  line_pending = false;
  if (line == nullptr) {
    edit_eof = true;
    if (editing_callbacks->on_eof)
      editing_callbacks->on_eof();
    return;
  }
  std::string text{line};
  std::free(line);
  if (!text.empty())
    add_history(text.c_str());
  editing_callbacks->on_line(std::move(text));
}

/// libedit reads multibyte characters only under a multibyte LC_CTYPE;
/// under the C locale it drops every non-ASCII key ("café" -> "caf"). Only
/// the character type changes: numbers keep the C locale's format.
void use_terminal_charset() {
  auto name = std::setlocale(LC_CTYPE, "");
  if (name == nullptr || std::strcmp(name, "C") == 0
      || std::strcmp(name, "POSIX") == 0) {
    // No (usable) locale in the environment: UTF-8 is what terminals send.
    if (std::setlocale(LC_CTYPE, "C.UTF-8") == nullptr)
      std::setlocale(LC_CTYPE, "C");
  }
}

} // namespace

input_watcher::input_watcher(signal_pipe& signals, bool editing)
  : signals_(signals), editing_(editing) {
  if (::pipe2(stop_fds_, O_CLOEXEC) != 0)
    stop_fds_[0] = stop_fds_[1] = -1;
  if (::pipe2(wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0)
    wake_fds_[0] = wake_fds_[1] = -1;
}

input_watcher::~input_watcher() {
  stop();
  for (auto fd : {stop_fds_[0], stop_fds_[1], wake_fds_[0], wake_fds_[1]})
    if (fd >= 0)
      ::close(fd);
}

void input_watcher::start(callbacks cbs) {
  cbs_ = std::move(cbs);
  if (editing_ && cbs_.on_line) {
    use_terminal_charset();
    editing_callbacks = &cbs_;
    shell::install_edit_completion(cbs_.complete);
    if (auto file = history_file(); !file.empty())
      read_history(file.c_str());
  } else {
    editing_ = false;
  }
  thread_ = std::thread{[this] { run(); }};
}

void input_watcher::show_prompt(std::string prompt) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    next_prompt_ = std::move(prompt);
  }
  wake();
}

void input_watcher::print_above_prompt(std::string text) {
  if (!editing_) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    queued_text_ += text;
  }
  wake();
}

void input_watcher::print_queued() {
  std::string text;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    text.swap(queued_text_);
  }
  if (text.empty())
    return;
  if (!line_pending) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  // libedit owns the line being typed: take it down, print, put it back
  // (STACK-NOTES.md, Console).
  std::string saved{rl_line_buffer != nullptr ? rl_line_buffer : "",
                    static_cast<size_t>(rl_end)};
  rl_callback_handler_remove();
  text = "\r\x1b[K" + text;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  rl_callback_handler_install(current_prompt_.c_str(), on_edited_line);
  rl_insert_text(saved.c_str());
  std::fputs("\r", stdout);
  std::fflush(stdout);
  // Not rl_redisplay(): libedit implements it by pushing a redisplay key
  // into its input, and the keys read with it are then stuck in libedit's
  // buffer until the next key arrives.
  rl_forced_update_display();
}

void input_watcher::wake() {
  char byte = 0;
  [[maybe_unused]] auto n = ::write(wake_fds_[1], &byte, 1);
}

void input_watcher::stop() {
  if (!thread_.joinable())
    return;
  char byte = 0;
  [[maybe_unused]] auto n = ::write(stop_fds_[1], &byte, 1);
  thread_.join();
  if (editing_) {
    if (auto file = history_file(); !file.empty())
      write_history(file.c_str());
    editing_callbacks = nullptr;
  }
}

void input_watcher::read_plain(std::string& partial, bool& input_open) {
  char buf[4096];
  auto n = ::read(STDIN_FILENO, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    if (!partial.empty())
      cbs_.on_line(std::move(partial));
    partial.clear();
    if (cbs_.on_eof)
      cbs_.on_eof();
    input_open = false;
    return;
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

void input_watcher::run() {
  std::string partial;
  bool input_open = static_cast<bool>(cbs_.on_line);
  for (;;) {
    // In editing mode stdin is read only while a prompt is up: keys typed
    // while a command runs wait in the terminal's buffer.
    bool want_input = input_open && (!editing_ || line_pending);
    pollfd fds[4] = {{stop_fds_[0], POLLIN, 0},
                     {signals_.fd(), POLLIN, 0},
                     {wake_fds_[0], POLLIN, 0},
                     {want_input ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (fds[0].revents != 0)
      break;
    if (fds[1].revents != 0) {
      if (auto sig = signals_.drain(); sig != 0 && cbs_.on_signal) {
        // Ctrl-C at the prompt: drop the half-typed line and give the
        // terminal back; the console shows a fresh prompt if it stays.
        if (editing_ && line_pending) {
          rl_callback_handler_remove();
          line_pending = false;
        }
        cbs_.on_signal(sig);
      }
    }
    if (fds[2].revents != 0) {
      char buf[64];
      while (::read(wake_fds_[0], buf, sizeof(buf)) > 0) {
        // drain
      }
      std::optional<std::string> prompt;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        prompt.swap(next_prompt_);
      }
      if (prompt && editing_ && input_open && !line_pending) {
        current_prompt_ = std::move(*prompt);
        rl_callback_handler_install(current_prompt_.c_str(), on_edited_line);
        line_pending = true;
      }
      if (editing_)
        print_queued();
    }
    if (fds[3].revents == 0)
      continue;
    if (editing_) {
      rl_callback_read_char();
      if (edit_eof)
        input_open = false;
    } else {
      read_plain(partial, input_open);
    }
  }
  if (editing_ && line_pending) {
    rl_callback_handler_remove(); // restores the terminal
    line_pending = false;
  }
}

} // namespace dirscope

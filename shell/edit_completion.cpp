#include "shell/edit_completion.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <editline/readline.h>

#include "shell/completion.hpp"

namespace dirscope::shell {

namespace {

completion_source source;

/// The matches of the key press being completed, as libedit wants them:
/// the part from its word's start on.
std::vector<std::string> matches;

char* next_match(const char*, int state) {
  static size_t index = 0;
  if (state == 0)
    index = 0;
  return index < matches.size() ? strdup(matches[index++].c_str()) : nullptr;
}

/// Only blanks end a word: a name's escapes (\xNN, "\ ") stay in it.
char word_breaks[] = " \t";

extern "C" char** complete(const char* text, int, int) {
  rl_attempted_completion_over = 1; // never complete local file names
  std::string before{rl_line_buffer, static_cast<size_t>(rl_point)};
  auto word = word_at_end(before);
  std::vector<std::string> words;
  if (source)
    words = source(before);
  else if (word.index == 0)
    words = complete_commands(word.typed);
  // libedit replaces `text`, the end of our word: drop what precedes it.
  auto& typed = word.typed;
  auto text_len = std::strlen(text);
  matches.clear();
  if (text_len <= typed.size())
    for (auto& w : words)
      if (w.compare(0, typed.size(), typed) == 0)
        matches.push_back(w.substr(typed.size() - text_len));
  // A directory or node name goes on with its path: no space after it.
  bool goes_on = !matches.empty()
                 && std::all_of(matches.begin(), matches.end(),
                                [](const std::string& m) {
                                  return !m.empty()
                                         && (m.back() == '/' || m.back() == ':');
                                });
  rl_completion_append_character = goes_on ? '\0' : ' ';
  return matches.empty() ? nullptr : rl_completion_matches(text, next_match);
}

} // namespace

void install_edit_completion(completion_source words) {
  source = std::move(words);
  rl_attempted_completion_function = complete;
  rl_completer_word_break_characters = word_breaks;
}

} // namespace dirscope::shell

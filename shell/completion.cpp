#include "shell/completion.hpp"

#include <algorithm>

#include "protocol/names.hpp"
#include "shell/command.hpp"

namespace dirscope::shell {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool starts_with(std::string_view x, std::string_view prefix) {
  return x.substr(0, prefix.size()) == prefix;
}

} // namespace

completion_word word_at_end(std::string_view line) {
  completion_word result;
  size_t start = 0;
  bool in_word = false;
  char quote = 0;
  bool had_quote = false;
  for (size_t i = 0; i < line.size(); ++i) {
    auto c = line[i];
    if (quote != 0) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"')
        ++i;
      continue;
    }
    if (is_blank(c)) {
      if (in_word)
        ++result.index;
      in_word = false;
      had_quote = false;
      continue;
    }
    if (!in_word) {
      in_word = true;
      start = i;
    }
    if (c == '\\')
      ++i; // the escaped character belongs to the word
    else if (c == '"' || c == '\'')
      quote = c, had_quote = true;
  }
  if (in_word)
    result.typed = std::string{line.substr(start)};
  result.quoted = had_quote;
  return result;
}

std::optional<remote_prefix> split_remote(std::string_view typed) {
  auto words = tokenize(typed);
  if (!words || words->size() > 1)
    return std::nullopt;
  auto word = words->empty() ? std::string{} : words->front();
  remote_prefix result;
  // The console's rule: NODE: before any slash names the node.
  auto colon = word.find(':');
  auto slash = word.find('/');
  std::string path = word;
  if (colon != std::string::npos && colon > 0
      && (slash == std::string::npos || colon < slash)) {
    result.node = word.substr(0, colon);
    path = word.substr(colon + 1);
  }
  // '/' and ':' are never escaped, so they sit at the same places in what
  // was typed as in the word the tokenizer made of it.
  auto last_slash = path.rfind('/');
  auto dir = last_slash == std::string::npos ? std::string{}
                                             : path.substr(0, last_slash + 1);
  auto name = last_slash == std::string::npos ? path
                                              : path.substr(last_slash + 1);
  auto raw_dir = protocol::unescape_name(dir);
  auto raw_name = protocol::unescape_name(name);
  if (!raw_dir || !raw_name)
    return std::nullopt;
  result.dir = std::move(*raw_dir);
  result.name = std::move(*raw_name);
  auto typed_slash = typed.rfind('/');
  if (typed_slash != std::string_view::npos)
    result.typed_dir = std::string{typed.substr(0, typed_slash + 1)};
  else if (!result.node.empty())
    result.typed_dir = std::string{typed.substr(0, typed.find(':') + 1)};
  return result;
}

std::string escape_word(std::string_view raw) {
  std::string result;
  for (auto c : protocol::escape_name(raw)) {
    if (c == ' ' || c == '"' || c == '\'')
      result += '\\';
    result += c;
  }
  return result;
}

std::vector<std::string> complete_commands(std::string_view prefix) {
  std::vector<std::string> result;
  for (auto& spec : command_table()) {
    if (starts_with(spec.name, prefix))
      result.emplace_back(spec.name);
    for (auto alias : spec.aliases)
      if (starts_with(alias, prefix))
        result.emplace_back(alias);
  }
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

} // namespace dirscope::shell

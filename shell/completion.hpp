#pragma once

// Tab completion in the shell, the pure part: which word is being
// completed, what of it names a node and a directory, and how a name must
// be typed. The console asks the nodes (actors/server/console_complete.cpp).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dirscope::shell {

/// The word the cursor is in, at the end of `line` (the text before it).
struct completion_word {
  /// 0 for the command name, 1 for its first argument, ...
  size_t index = 0;
  /// The word as typed so far (escapes kept).
  std::string typed;
  /// Inside an open quote: not completed (escapes are the one spelling).
  bool quoted = false;
};

completion_word word_at_end(std::string_view line);

/// What a word naming a remote path asks for.
struct remote_prefix {
  /// The node before ':'; empty: the current node.
  std::string node;
  /// The typed text up to and including the last '/' (with "node:").
  std::string typed_dir;
  /// That directory as raw bytes (may be relative; empty: the working
  /// directory).
  std::string dir;
  /// The start of the name, raw bytes.
  std::string name;
};

/// Splits `typed` like the console's NODE:PATH rule; nullopt when the word
/// holds an unfinished or bad escape.
std::optional<remote_prefix> split_remote(std::string_view typed);

/// `raw` as it must be typed unquoted: escape_name's \xNN and \\, and a
/// backslash before spaces and quotes.
std::string escape_word(std::string_view raw);

/// Command names (and aliases) that start with `prefix`, sorted.
std::vector<std::string> complete_commands(std::string_view prefix);

} // namespace dirscope::shell

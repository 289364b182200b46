#pragma once

// The server shell's command language: tokenizing a line, the table of
// commands (also the source of `help`), and checking a line against it.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/outcome.hpp"

namespace dirscope::shell {

/// One command the shell knows.
struct command_spec {
  std::string_view name;
  std::vector<std::string_view> aliases;
  size_t min_args = 0;
  size_t max_args = 0;
  /// Boolean switches, e.g. "json" for --json.
  std::vector<std::string_view> flags;
  /// Options taking a value, e.g. "depth" for --depth N / --depth=N.
  std::vector<std::string_view> options;
  std::string_view usage;   ///< e.g. "ls [PATH] [--json]"
  std::string_view summary; ///< one line for the `help` overview
  std::string_view details; ///< several lines for `help CMD`
  /// One-letter switches and the flag each stands for, e.g. {'h',
  /// "human"}: `-h`, and letters together as in `-hr` (not after `--`).
  std::vector<std::pair<char, std::string_view>> short_flags = {};
};

/// Every command, in the order `help` lists them.
const std::vector<command_spec>& command_table();

/// Finds a command by name or alias.
const command_spec* find_command(std::string_view name);

/// A parsed command line.
struct command {
  const command_spec* spec = nullptr;
  std::vector<std::string> args;
  std::vector<std::string> flags;             ///< switches given
  std::map<std::string, std::string> options; ///< options given

  bool has_flag(std::string_view name) const;

  /// The option's value, if given.
  std::optional<std::string> option(std::string_view name) const;
};

/// Splits a line into words. Whitespace separates; "double" and 'single'
/// quotes group; outside quotes a backslash before a space or quote makes it
/// literal, any other backslash is kept (so name escapes like \xff reach
/// unescape_name intact). Fails on an unterminated quote.
outcome<std::vector<std::string>> tokenize(std::string_view line);

/// Tokenizes `line` and checks it against the command table: unknown
/// command, unknown option, missing option value and wrong argument count
/// each fail with bad_request and a message that names the usage. An empty
/// line yields a command with spec == nullptr.
outcome<command> parse_command(std::string_view line);

/// Text of `help` (no argument) or `help CMD`.
outcome<std::string> help_text(std::optional<std::string_view> name);

/// Parses a non-negative integer option value ("--depth 3"). Fails with a
/// message naming the option.
outcome<uint64_t> parse_count(std::string_view option, std::string_view text);

/// Parses a duration in seconds, e.g. "30", "2.5", "30s", "5m", "1h". Fails
/// for anything that is not a finite, non-negative number of seconds that
/// fits a nanosecond clock (about 292 years).
outcome<double> parse_seconds(std::string_view option, std::string_view text);

/// A duration as people write it: "24h", "90s", "250ms".
std::string format_duration(std::chrono::nanoseconds d);

/// Longest duration any shell option accepts.
constexpr std::chrono::hours max_option_duration{24};

/// Parses a duration as parse_seconds does and checks that it is at most
/// `max`; the result is exact to the nanosecond and never overflows.
outcome<std::chrono::nanoseconds>
parse_duration(std::string_view option, std::string_view text,
               std::chrono::nanoseconds max = max_option_duration);

} // namespace dirscope::shell

// libFuzzer harness: the server shell's command parser (shell/command.*).
// A line either parses into a command that fits its table row (argument
// count, known switches and options) or fails with bad_request; numbers
// and durations in option values parse to sane values or fail; no error
// message carries a raw control byte to the operator's terminal.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/check.hpp"
#include "shell/command.hpp"

using namespace dirscope;
using namespace dirscope::shell;

namespace {

bool contains(const std::vector<std::string_view>& xs, std::string_view x) {
  for (auto& y : xs)
    if (y == x)
      return true;
  return false;
}

// An error is for a terminal: no control byte but the newline.
void check_error(const failure& err) {
  FUZZ_CHECK(err.code == wire_code::bad_request);
  FUZZ_CHECK(!err.message.empty());
  for (char c : err.message) {
    auto b = static_cast<uint8_t>(c);
    FUZZ_CHECK(b == '\n' || (b >= 0x20 && b != 0x7f));
  }
}

void check_value(std::string_view value) {
  if (auto n = parse_count("depth", value); !n)
    check_error(n.error());
  if (auto s = parse_seconds("timeout", value); s)
    FUZZ_CHECK(std::isfinite(*s) && *s >= 0);
  else
    check_error(s.error());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line{reinterpret_cast<const char*>(data), size};
  auto words = tokenize(line);
  auto cmd = parse_command(line);
  FUZZ_CHECK(words.ok() == cmd.ok() || (words.ok() && !cmd.ok()));
  if (!cmd) {
    check_error(cmd.error());
  } else if (cmd->spec != nullptr) {
    auto& spec = *cmd->spec;
    FUZZ_CHECK(find_command(spec.name) == &spec);
    FUZZ_CHECK(cmd->args.size() >= spec.min_args);
    FUZZ_CHECK(cmd->args.size() <= spec.max_args);
    for (auto& flag : cmd->flags)
      FUZZ_CHECK(contains(spec.flags, flag));
    for (auto& [key, value] : cmd->options) {
      FUZZ_CHECK(contains(spec.options, key));
      FUZZ_CHECK(cmd->option(key).has_value());
      check_value(value);
    }
    auto help = help_text(spec.name);
    FUZZ_CHECK(help.ok());
  } else {
    FUZZ_CHECK(words->empty());
  }
  if (words && !words->empty()) {
    if (auto help = help_text(words->front()); !help)
      check_error(help.error());
  }
  check_value(line);
  return 0;
}

// One-letter switches (ls -h, -r, -hr): issue 7 item 6.

#include "shell/command.hpp"

#include <catch2/catch.hpp>

using namespace dirscope::shell;

namespace {

command parsed(std::string_view line) {
  auto cmd = parse_command(line);
  REQUIRE(cmd);
  return *cmd;
}

} // namespace

TEST_CASE("ls takes -h and -r alone or together") {
  auto cmd = parsed("ls -h /docs");
  CHECK(cmd.args == std::vector<std::string>{"/docs"});
  CHECK(cmd.has_flag("human"));
  CHECK_FALSE(cmd.has_flag("reverse"));
  cmd = parsed("ls -rh");
  CHECK(cmd.args.empty());
  CHECK(cmd.has_flag("human"));
  CHECK(cmd.has_flag("reverse"));
  cmd = parsed("ls /docs --sort size -r --no-hash --human");
  CHECK(cmd.has_flag("reverse"));
  CHECK(cmd.has_flag("no-hash"));
  CHECK(cmd.option("sort") == std::optional<std::string>{"size"});
}

TEST_CASE("short flags are arguments after -- or with unknown letters") {
  auto cmd = parsed("ls -- -h");
  CHECK(cmd.args == std::vector<std::string>{"-h"});
  CHECK_FALSE(cmd.has_flag("human"));
  cmd = parsed("ls -hx");
  CHECK(cmd.args == std::vector<std::string>{"-hx"});
  CHECK_FALSE(parse_command("ls -h a b"));
  // Commands without short flags keep taking -h as a name.
  CHECK(parsed("stat -h").args == std::vector<std::string>{"-h"});
}
